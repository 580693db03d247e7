"""Mutations of a real build: The manifest (MAN rules)."""

from __future__ import annotations

from hypothesis import strategies as st

from ceap_templates.validation.model import Environment

from .draft import (
    Draft,
    Key,
    Mutation,
    _all_stacks,
    _location,
)


# ---- MAN ------------------------------------------------------------------------------------
def tamper_template(draft: Draft, target: Key, data: st.DataObject) -> set[str]:
    draft.template(*target)["Description"] = "edited by hand after the build"
    return {_location(draft, target)}


def _waved(env: Environment) -> list[tuple[str, str]]:
    return sorted({(plan, s) for plan in env.plans() for wave in env.plan_waves(plan) for s in wave})


def drop_from_waves(draft: Draft, target: tuple[str, str], data: st.DataObject) -> set[str]:
    plan, stack = target
    manifest = draft.manifest()
    holder = manifest["deploy"] if plan == "deploy" else manifest["layouts"][plan]
    holder["waves"] = [[s for s in wave if s != stack] for wave in holder["waves"]]
    holder["waves"] = [w for w in holder["waves"] if w]
    return {f"{draft.env.name}/manifest.json"}


MUTATIONS: tuple[Mutation, ...] = (
    Mutation("template edited after the build", "MAN001", _all_stacks, tamper_template, reseal=False),
    Mutation("stack dropped from the waves", "MAN001", _waved, drop_from_waves),
)
