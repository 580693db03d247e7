"""ceap-templates: the CEAP data platform as deterministic CloudFormation artifacts.

Builders are pure: ``build_environment(config, env, code)`` returns in-memory templates;
only :mod:`ceap_templates.artifacts` writes files.
"""

__version__ = "0.1.0"
