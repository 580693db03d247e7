"""The stack API of an environment: exports, imports, deploy waves and weak references."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ceap_templates.diff.model import Action, ExportChange, Note, WaveChange
from ceap_templates.diff.normalise import canonical, properties
from ceap_templates.validation.model import Environment, Stack

#: The product's plan (consolidated + workflow stacks, manifest ``deploy.waves``).
DEPLOY_PLAN = "deploy"


def _export_values(stacks: Mapping[str, Stack]) -> dict[tuple[str, str], Any]:
    values: dict[tuple[str, str], Any] = {}
    for name, stack in stacks.items():
        outputs = stack.template.get("Outputs", {})
        for export, title in stack.exports.items():
            values[(name, export)] = canonical(outputs.get(title, {}).get("Value"))
    return values


def _importers(stacks: Mapping[str, Stack]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for name, stack in stacks.items():
        for item in stack.imports:
            if item.name is not None:
                found.setdefault(item.name, set()).add(name)
    return found


def _plans(old: Environment, new: Environment) -> list[str]:
    return list(dict.fromkeys((*old.plans(), *new.plans())))


def exports(old: Environment, new: Environment) -> list[ExportChange]:
    """Exports added, removed or changed, each with every stack of its plan importing it.

    CloudFormation refuses to remove or change an export while a deployed stack imports it, and a
    stack importing a removed export cannot deploy: importers before *or* after the change count.
    A stack of both layouts (the database) is reported once.
    """
    merged: dict[tuple[str, str, Action], set[str]] = {}
    for plan in _plans(old, new):
        before, after = old.plan_stacks(plan), new.plan_stacks(plan)
        old_values, new_values = _export_values(before), _export_values(after)
        importers = _importers(before)
        for name, stacks in _importers(after).items():
            importers.setdefault(name, set()).update(stacks)
        for key in old_values.keys() | new_values.keys():
            stack, export = key
            if key not in old_values:
                action: Action = "add"
            elif key not in new_values:
                action = "remove"
            elif old_values[key] != new_values[key]:
                action = "modify"
            else:
                continue
            merged.setdefault((stack, export, action), set()).update(importers.get(export, set()) - {stack})
    return [
        ExportChange(new.name, stack, export, action, tuple(sorted(users)))
        for (stack, export, action), users in sorted(merged.items())
    ]


def imports(old: Environment, new: Environment) -> Iterator[Note]:
    """Imports a stack gains; one that no stack of its plan exports fails the deploy."""
    for plan in new.plans():
        before, after = old.plan_stacks(plan), new.plan_stacks(plan)
        exported = {name: producer for producer, s in after.items() for name in s.exports}
        for name, stack in sorted(after.items()):
            had = {i.name for i in before[name].imports} if name in before else set()
            for item in sorted({i.name for i in stack.imports if i.name is not None} - had):
                producer = exported.get(item)
                if producer is None:
                    text = f"imports {item}, which no stack of the plan exports (deploy will fail)"
                    yield Note(new.name, stack.layout, name, "import unresolved", text)
                else:
                    yield Note(new.name, stack.layout, name, "import added", f"imports {item} from {producer}")


def _waves(waves: tuple[tuple[str, ...], ...]) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(sorted(w)) for w in waves)


def waves(old: Environment, new: Environment) -> Iterator[WaveChange]:
    """Per layout, and for the product's deploy plan, waves that changed."""
    for layout in dict.fromkeys((*old.layouts, *new.layouts)):
        before = _waves(old.layouts[layout].waves) if layout in old.layouts else ()
        after = _waves(new.layouts[layout].waves) if layout in new.layouts else ()
        if before != after:
            yield WaveChange(new.name, layout, before, after)
    before, after = _waves(old.plan_waves(DEPLOY_PLAN)), _waves(new.plan_waves(DEPLOY_PLAN))
    if before != after:
        yield WaveChange(new.name, DEPLOY_PLAN, before, after)


def _target(env: Environment, layout: str, ref: Mapping[str, Any]) -> str | None:
    """Why ``ref`` does not hold in ``env`` (None when it does)."""
    stacks = env.layouts[layout].stacks if layout in env.layouts else {}
    producer = stacks.get(str(ref.get("producer")))
    if producer is None:
        return f"stack {ref.get('producer')} is gone"
    resource = producer.resources.get(str(ref.get("resource")))
    if resource is None:
        return f"{ref.get('producer')} no longer defines {ref.get('resource')}"
    value = producer.resolve_text(properties(resource).get(str(ref.get("property"))))
    if value != ref.get("expected"):
        return f"{ref.get('resource')}.{ref.get('property')} is now {value!r}"
    return None


def weak_references(old: Environment, new: Environment) -> Iterator[Note]:
    """Weak references (by physical name, no deploy order) that the new build breaks."""
    for layout_name, layout in new.layouts.items():
        old_refs = list(old.layouts[layout_name].weak) if layout_name in old.layouts else []
        new_refs = [r for r in layout.weak if r not in old_refs]
        for ref in [*old_refs, *new_refs]:
            reason = _target(new, layout_name, ref)
            if reason is not None:
                text = (
                    f"{ref.get('consumer')} refers to {ref.get('producer')}/{ref.get('resource')} by the name "
                    f"{ref.get('expected')!r}: {reason}"
                )
                yield Note(new.name, layout_name, str(ref.get("consumer")), "weak reference broken", text)
