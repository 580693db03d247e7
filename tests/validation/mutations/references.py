"""Mutations of a real build: Cross-stack references (REF rules)."""

from __future__ import annotations

import json

from hypothesis import strategies as st

from ceap_templates.validation.model import Environment
from ceap_templates.validation.rules.references import plan_edges

from ..expected import stack_parameter
from .draft import (
    Draft,
    Mutation,
    walk,
)


# ---- REF ------------------------------------------------------------------------------------
def _imported_exports(env: Environment) -> list[tuple[str, str, str]]:
    """(layout, producer, output title) of exports some stack of the plan imports."""
    found = []
    for plan in env.plans():
        stacks = env.plan_stacks(plan)
        imported = {i.name for s in stacks.values() for i in s.imports}
        for layout in env.layouts.values():
            for stack in layout.stacks.values():
                if stack.name in stacks and env.plan_name(layout.name) == plan:
                    found += [(layout.name, stack.name, t) for n, t in stack.exports.items() if n in imported]
    return sorted(set(found))


def _consumers_of(env: Environment, layout: str, producer: str, title: str) -> set[str]:
    export = env.layouts[layout].stacks[producer].exports
    name = next(n for n, t in export.items() if t == title)
    plan = env.plan_stacks(env.plan_name(layout))
    return {s.location for s in plan.values() if any(i.name == name for i in s.imports)}


def drop_export(draft: Draft, target: tuple[str, str, str], data: st.DataObject) -> set[str]:
    layout, producer, title = target
    del draft.template(layout, producer)["Outputs"][title]
    return _consumers_of(draft.env, layout, producer, title)


def rename_export(draft: Draft, target: tuple[str, str, str], data: st.DataObject) -> set[str]:
    layout, producer, title = target
    outputs = draft.template(layout, producer)["Outputs"]
    output = outputs.pop(title)
    output["Export"]["Name"] = {"Fn::Sub": f"${{AWS::StackName}}-{title}V2"}
    outputs[f"{title}V2"] = output
    return _consumers_of(draft.env, layout, producer, title)


def _importers(env: Environment) -> list[tuple[str, str, str]]:
    return sorted(
        {
            (layout.name, s.name, str(i.name))
            for layout in env.layouts.values()
            for s in layout.stacks.values()
            for i in s.imports
        }
    )


def import_missing(draft: Draft, target: tuple[str, str, str], data: st.DataObject) -> set[str]:
    layout, consumer, export = target
    stack = draft.env.layouts[layout].stacks[consumer]
    for node in walk(draft.template(layout, consumer)):
        if "Fn::ImportValue" in node and stack.resolve_text(node["Fn::ImportValue"]) == export:
            node["Fn::ImportValue"]["Fn::Sub"] += "Missing"
    return {stack.location}


def _same_wave_pairs(env: Environment) -> list[tuple[str, str, str, str]]:
    """(consumer layout, consumer, producer, export) with both stacks in one wave, no path back."""
    found = []
    for plan in env.plans():
        stacks = env.plan_stacks(plan)
        edges = plan_edges(stacks)
        for wave in env.plan_waves(plan):
            for consumer in wave:
                for producer in wave:
                    exports = sorted(stacks[producer].exports)
                    if producer == consumer or not exports or (consumer, producer) in edges:
                        continue
                    layout = stacks[consumer].layout
                    found.append((layout, consumer, producer, exports[0]))
    return sorted(found)


def _add_import(draft: Draft, layout: str, consumer: str, producer: str, export: str, title: str) -> None:
    template = draft.template(layout, consumer)
    parameter = stack_parameter(draft.env.name, producer)
    template.setdefault("Parameters", {}).setdefault(
        parameter, {"Type": "String", "Default": producer, "Description": f"Name of the deployed {producer} stack"}
    )
    suffix = export.removeprefix(f"{producer}-")
    template.setdefault("Outputs", {})[title] = {
        "Value": {"Fn::ImportValue": {"Fn::Sub": f"${{{parameter}}}-{suffix}"}}
    }


def import_same_wave(draft: Draft, target: tuple[str, str, str, str], data: st.DataObject) -> set[str]:
    layout, consumer, producer, export = target
    _add_import(draft, layout, consumer, producer, export, "SameWaveProbe")
    return {draft.env.layouts[layout].stacks[consumer].location}


def _edges(env: Environment) -> list[tuple[str, str, str]]:
    found = []
    for plan in env.plans():
        stacks = env.plan_stacks(plan)
        found += [(plan, p, c) for p, c in plan_edges(stacks)]
    return sorted(found)


def create_cycle(draft: Draft, target: tuple[str, str, str], data: st.DataObject) -> set[str]:
    plan, producer, consumer = target
    stacks = draft.env.plan_stacks(plan)
    consumer_stack, producer_stack = stacks[consumer], stacks[producer]
    exports = sorted(consumer_stack.exports)
    if not exports:
        template = draft.template(consumer_stack.layout, consumer)
        template.setdefault("Outputs", {})["CycleProbe"] = {
            "Value": "probe",
            "Export": {"Name": {"Fn::Sub": "${AWS::StackName}-CycleProbe"}},
        }
        exports = [f"{consumer}-CycleProbe"]
    _add_import(draft, producer_stack.layout, producer, consumer, exports[0], "CycleProbeImport")
    return {s.location for s in (consumer_stack, producer_stack)}


def _weak(env: Environment) -> list[tuple[str, str]]:
    return sorted({(str(w["resource"]), str(w["expected"])) for layout in env.layouts.values() for w in layout.weak})


def weak_consumer_drift(draft: Draft, target: tuple[str, str], data: st.DataObject) -> set[str]:
    _, expected = target
    locations = set()
    for layout in draft.env.layouts.values():
        for weak in layout.weak:
            if (weak["resource"], weak["expected"]) == target:
                text = json.dumps(draft.template(layout.name, weak["consumer"]))
                draft.templates[(layout.name, weak["consumer"])] = json.loads(text.replace(expected, expected + "Old"))
                locations.add(layout.stacks[weak["consumer"]].location)
    return locations


def _unimported_exports(env: Environment) -> list[tuple[str, str, str]]:
    imported = set(_imported_exports(env))
    return sorted(
        {
            (layout.name, s.name, t)
            for layout in env.layouts.values()
            for s in layout.stacks.values()
            for t in s.exports.values()
        }
        - imported
    )


def export_name_mismatch(draft: Draft, target: tuple[str, str, str], data: st.DataObject) -> set[str]:
    layout, stack, title = target
    draft.template(layout, stack)["Outputs"][title]["Export"]["Name"] = {"Fn::Sub": f"${{AWS::StackName}}-{title}Alias"}
    return {draft.env.layouts[layout].stacks[stack].location}


def _stack_parameters(env: Environment) -> list[tuple[str, str, str]]:
    return sorted(
        (layout.name, s.name, p)
        for layout in env.layouts.values()
        for s in layout.stacks.values()
        for p in s.parameter_defaults
        if p.endswith("StackName")
    )


def misnamed_stack_parameter(draft: Draft, target: tuple[str, str, str], data: st.DataObject) -> set[str]:
    layout, stack, parameter = target
    text = json.dumps(draft.template(layout, stack))
    renamed = parameter.replace("StackName", "ProducerStackName")
    draft.templates[(layout, stack)] = json.loads(
        text.replace(f'"{parameter}"', f'"{renamed}"').replace("${" + parameter + "}", "${" + renamed + "}")
    )
    return {draft.env.layouts[layout].stacks[stack].location}


MUTATIONS: tuple[Mutation, ...] = (
    Mutation("drop an imported export", "REF001", _imported_exports, drop_export),
    Mutation("rename an imported export", "REF001", _imported_exports, rename_export),
    Mutation("import an export nobody exports", "REF001", _importers, import_missing),
    Mutation("import from a stack of the same wave", "REF001", _same_wave_pairs, import_same_wave),
    Mutation("create a reference cycle", "REF002", _edges, create_cycle),
    Mutation("weak reference consumer drifts", "REF003", _weak, weak_consumer_drift),
    Mutation("export name not its output title", "REF004", _unimported_exports, export_name_mismatch),
    Mutation("stack-name parameter misnamed", "REF004", _stack_parameters, misnamed_stack_parameter),
)
