"""Mutations of a real build: Template quotas (LIM rules)."""

from __future__ import annotations

from hypothesis import strategies as st

from ceap_templates.validation.legacy_system import LEGACY
from ceap_templates.validation.model import Environment

from ..expected import MAX_RESOURCES
from .draft import (
    Draft,
    Key,
    Mutation,
    _all_stacks,
    _location,
)


def too_many_resources(draft: Draft, key: Key, data: st.DataObject) -> set[str]:
    resources = draft.template(*key)["Resources"]
    extra = MAX_RESOURCES + 1 - len(resources) + data.draw(st.integers(0, 5))
    for index in range(extra):
        resources[f"Padding{index:03d}"] = {"Type": "AWS::CloudFormation::WaitConditionHandle"}
    return {_location(draft, key)}


def _not_legacy_stacks(env: Environment) -> list[Key]:
    return [k for k in _all_stacks(env) if k[0] != LEGACY]


MUTATIONS: tuple[Mutation, ...] = (
    Mutation("more than 500 resources", "LIM001", _not_legacy_stacks, too_many_resources),
)
