"""Static validation of a build directory (docs/design.md 12): named rules over the parsed build.

``ceap-templates validate [BUILD_DIR]`` loads the build once (:func:`model.load_build`), runs every
rule of :mod:`ceap_templates.validation.rules` and prints one line per finding,
``ID stack/resource: message``. The migration gate used before legacy cleanup is
:mod:`ceap_templates.validation.migration_check`.
"""

from __future__ import annotations

from ceap_templates.validation.engine import Report, validate, validate_directory
from ceap_templates.validation.model import Build, load_build
from ceap_templates.validation.rule import Finding, Rule

__all__ = ["Build", "Finding", "Report", "Rule", "load_build", "validate", "validate_directory"]
