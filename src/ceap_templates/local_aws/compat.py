"""The compat layer: every patch over moto, by name, applied once per emulator process.

Each patch module has a docstring saying what moto does and what AWS does, and an ``apply()``
that imports moto and replaces exactly the behaviour it names. ``--no-compat`` (or
``CEAP_LOCAL_AWS_COMPAT=0``) starts stock moto, which the tests use to prove each gap.
"""

from __future__ import annotations

import importlib
from typing import Final

#: Patch modules in application order (later ones may wrap what earlier ones installed).
PATCHES: Final = (
    "cfn_template_url",
    "cfn_exports",
    "cfn_change_sets",
    "sfn_definition",
    "sfn_sync_execution",
    "lambda_runtime",
    "events_targets",
    "pipes",
    "cfn_import",
    "lambda_public_layers",
    "cfn_unmodelled",
    "sfn_status_events",
    "sfn_map_tolerance",
)

_applied: list[str] = []


def apply_patch(name: str) -> None:
    """Apply one patch of :data:`PATCHES` (once), e.g. in a test that runs moto in-process."""
    if name not in PATCHES:
        raise ValueError(f"unknown compat patch {name!r}; known: {', '.join(PATCHES)}")
    if name not in _applied:
        importlib.import_module(f"ceap_templates.local_aws.{name}").apply()
        _applied.append(name)


def apply_all() -> list[str]:
    """Apply every patch of :data:`PATCHES` (once) and return their names."""
    for name in PATCHES:
        apply_patch(name)
    return list(_applied)
