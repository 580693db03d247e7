"""Every validation rule, one module per group (like cfn-lint's ``rules/``)."""

from __future__ import annotations

from ceap_templates.validation.rule import Rule
from ceap_templates.validation.rules import (
    asl,
    budget,
    collision,
    data,
    distributed_map,
    docs,
    iam,
    legacy,
    limits,
    lint,
    manifest,
    naming,
    operations,
    pipes,
    references,
    security,
    sizing,
)

_MODULES = (
    lint,
    manifest,
    references,
    asl,
    budget,
    distributed_map,
    naming,
    collision,
    legacy,
    iam,
    security,
    operations,
    data,
    pipes,
    limits,
    sizing,
    docs,
)


def all_rules() -> tuple[Rule, ...]:
    """All rules in report order; ids are unique."""
    return tuple(rule for module in _MODULES for rule in module.RULES)


def custom_rules() -> tuple[Rule, ...]:
    """The rules implemented here (no external linter): fast enough for property tests."""
    return tuple(r for r in all_rules() if not r.external)
