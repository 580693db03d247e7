"""Mutations of a real build: Legacy logical IDs and layout parity (LEG and MIG rules)."""

from __future__ import annotations

from hypothesis import strategies as st

from ceap_templates.validation.legacy_system import BY_ID, CONSOLIDATED, LEGACY
from ceap_templates.validation.model import Environment

from .draft import (
    PLATFORM,
    Draft,
    Mutation,
    _location,
    props_of,
    rename_in_build,
)


# ---- LEG / MIG ------------------------------------------------------------------------------
def _legacy_ids(env: Environment) -> list[str]:
    return sorted(i for i in BY_ID if any(i in layout.resource_index for layout in env.layouts.values()))


def rename_legacy_id(draft: Draft, logical_id: str, data: st.DataObject) -> set[str]:
    new = logical_id.rstrip("0123456789ABCDEF") or logical_id + "Renamed"
    if new == logical_id:
        new = logical_id + "Renamed"
    for key in draft.holders((PLATFORM, logical_id)):
        rename_in_build(draft, key, logical_id, new)
    return {_location(draft, k) for k in draft.holders((PLATFORM, logical_id))}


def _swappable(env: Environment) -> list[tuple[str, str]]:
    ids = _legacy_ids(env)
    return [(a, b) for a in ids for b in ids if a < b and BY_ID[a].type == BY_ID[b].type]


def swap_legacy_ids(draft: Draft, pair: tuple[str, str], data: st.DataObject) -> set[str]:
    first, second = pair
    locations = {_location(draft, k) for i in pair for k in draft.holders((PLATFORM, i))}
    moves = [(k, first, second) for k in draft.holders((PLATFORM, first))]
    moves += [(k, second, first) for k in draft.holders((PLATFORM, second))]
    for key, old, _ in moves:
        rename_in_build(draft, key, old, f"{old}Swapping")
    for key, old, new in moves:
        rename_in_build(draft, key, f"{old}Swapping", new)
    return locations


def _consolidated_only_renames(env: Environment) -> list[str]:
    if CONSOLIDATED not in env.layouts or LEGACY not in env.layouts:
        return []
    both = set(env.layouts[CONSOLIDATED].resource_index) & set(env.layouts[LEGACY].resource_index)
    return sorted(both - set(BY_ID))


def rename_in_consolidated(draft: Draft, logical_id: str, data: st.DataObject) -> set[str]:
    for stack in draft.env.layouts[CONSOLIDATED].resource_index[logical_id]:
        rename_in_build(draft, (CONSOLIDATED, stack.name), logical_id, logical_id + "V2")
    return {s.location for s in draft.env.layouts[LEGACY].resource_index[logical_id]}


def _legacy_described(env: Environment) -> list[str]:
    if LEGACY not in env.layouts or CONSOLIDATED not in env.layouts:
        return []
    return sorted(
        i
        for s in env.layouts[LEGACY].stacks.values()
        for i, r in s.resources.items()
        if isinstance(props_of(r).get("Description"), str) or "MemorySize" in props_of(r)
    )


def legacy_drift(draft: Draft, logical_id: str, data: st.DataObject) -> set[str]:
    (stack,) = draft.env.layouts[LEGACY].resource_index[logical_id]
    props = props_of(draft.template(LEGACY, stack.name)["Resources"][logical_id])
    if "MemorySize" in props and data.draw(st.booleans()):
        props["MemorySize"] += 128
    elif isinstance(props.get("Description"), str):
        props["Description"] += " (edited in the legacy layout only)"
    else:
        props["MemorySize"] += 128
    return {stack.location}


MUTATIONS: tuple[Mutation, ...] = (
    Mutation("rename a deployed logical id", "LEG001", _legacy_ids, rename_legacy_id),
    Mutation("swap two deployed logical ids", "LEG001", _swappable, swap_legacy_ids),
    Mutation(
        "resource without its consolidated counterpart", "MIG001", _consolidated_only_renames, rename_in_consolidated
    ),
    Mutation("legacy layout drifts from consolidated", "MIG002", _legacy_described, legacy_drift),
)
