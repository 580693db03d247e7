"""A state machine definition compared state by state, nested Map and Parallel states included."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ceap_templates.diff.normalise import canonical

_NESTED = ("ItemProcessor", "Iterator", "Branches")


def _states(definition: Any, prefix: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    states = definition.get("States") if isinstance(definition, dict) else None
    if not isinstance(states, dict):
        return
    for name, state in states.items():
        if not isinstance(state, dict):
            continue
        qualified = f"{prefix}{name}"
        yield qualified, state
        for key in ("ItemProcessor", "Iterator"):
            yield from _states(state.get(key), f"{qualified}/")
        for index, branch in enumerate(state.get("Branches") or []):
            yield from _states(branch, f"{qualified}[{index}]/")


def _own_fields(state: Mapping[str, Any]) -> dict[str, Any]:
    """A state's fields without its nested states (those are compared as states of their own)."""
    fields = {k: canonical(v) for k, v in state.items() if k not in _NESTED}
    for key in ("ItemProcessor", "Iterator"):
        if isinstance(state.get(key), dict):
            fields[key] = {k: canonical(v) for k, v in state[key].items() if k != "States"}
    return fields


def compare(old: Any, new: Any) -> list[tuple[str, str]]:
    """``(state or "(machine)", what changed)``: added, removed, or the fields that changed."""
    before = dict(_states(old))
    after = dict(_states(new))
    found: list[tuple[str, str]] = []
    top_old = {k: canonical(v) for k, v in old.items() if k != "States"} if isinstance(old, dict) else {}
    top_new = {k: canonical(v) for k, v in new.items() if k != "States"} if isinstance(new, dict) else {}
    top = sorted(k for k in top_old.keys() | top_new.keys() if top_old.get(k) != top_new.get(k))
    if top:
        found.append(("(machine)", "changed " + ", ".join(top)))
    for name in sorted(before.keys() | after.keys()):
        if name not in before:
            found.append((name, f"added ({after[name].get('Type', '?')})"))
        elif name not in after:
            found.append((name, f"removed ({before[name].get('Type', '?')})"))
        else:
            old_fields, new_fields = _own_fields(before[name]), _own_fields(after[name])
            fields = sorted(k for k in old_fields.keys() | new_fields.keys() if old_fields.get(k) != new_fields.get(k))
            if fields:
                found.append((name, "changed " + ", ".join(fields)))
    return found
