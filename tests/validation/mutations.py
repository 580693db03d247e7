"""Mutations of a real build: each breaks one thing that exactly one rule must report.

A mutation picks its target with hypothesis (environment, stack, resource, export...), edits a
copy-on-write :class:`Draft` of one environment and names the rule meant to catch it. Resource
edits are made *per component*: the same logical id is edited in the consolidated and the legacy
layout alike (a defect comes from a component, which every layout places), so the layout-parity
rule MIG002 stays quiet unless the mutation targets the parity itself. After the edit the draft
re-derives the manifest fields a build would write (hashes, imports, exports...), so only the
mutation under test differs from a consistent build.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from hypothesis import strategies as st

from ceap_templates.asl import GLUE_START_JOB_RUN_SYNC, LAMBDA_INVOKE
from ceap_templates.constants import MAX_RESOURCES, PERMANENT_ERROR
from ceap_templates.layouts import CONSOLIDATED, LEGACY, WORKFLOWS
from ceap_templates.naming import Naming
from ceap_templates.render import to_json
from ceap_templates.stages import SERVING_REACTIVE, STAGES
from ceap_templates.validation.legacy_ids import BY_ID
from ceap_templates.validation.model import Build, Environment, Layout, Stack, build_from_environments, stack_from_text
from ceap_templates.validation.rules.manifest import derived_entry
from ceap_templates.validation.rules.references import plan_edges

Key = tuple[str, str]  # (layout, stack name)
#: A component site: ("platform", logical id) for consolidated+legacy, or (workflow stack, logical id).
Site = tuple[str, str]
PLATFORM = "platform"


@dataclass
class Draft:
    """Copy-on-write edits of one environment of a build."""

    env: Environment
    templates: dict[Key, dict[str, Any]] = field(default_factory=dict)
    manifest_copy: dict[str, Any] | None = None
    documents: dict[str, str] | None = None

    def template(self, layout: str, stack: str) -> dict[str, Any]:
        key = (layout, stack)
        if key not in self.templates:
            self.templates[key] = copy.deepcopy(dict(self.env.layouts[layout].stacks[stack].template))
        return self.templates[key]

    def manifest(self) -> dict[str, Any]:
        if self.manifest_copy is None:
            self.manifest_copy = copy.deepcopy(dict(self.env.manifest))
        return self.manifest_copy

    def holders(self, site: Site) -> list[Key]:
        """Every (layout, stack) defining the site's resource."""
        group, logical_id = site
        if group == PLATFORM:
            return [
                (layout, stack.name)
                for layout in (CONSOLIDATED, LEGACY)
                if layout in self.env.layouts
                for stack in self.env.layouts[layout].resource_index.get(logical_id, ())
            ]
        return [(WORKFLOWS, group)]

    def resources(self, site: Site) -> Iterator[tuple[Key, dict[str, Any]]]:
        """The editable resource at each holder of ``site``."""
        for key in self.holders(site):
            yield key, self.template(*key)["Resources"][site[1]]

    def finish(self, reseal: bool = True) -> Build:
        """A one-environment build with the edits; manifest re-derived unless ``reseal`` is false."""
        layouts = {}
        manifest = self.manifest() if (self.templates or self.manifest_copy) else dict(self.env.manifest)
        for name, layout in self.env.layouts.items():
            stacks = dict(layout.stacks)
            for (layout_name, stack_name), template in self.templates.items():
                if layout_name != name:
                    continue
                old = stacks[stack_name]
                new = stack_from_text(old.env, name, stack_name, old.path, to_json(template).encode("utf-8"))
                stacks[stack_name] = new
                if reseal:
                    manifest["layouts"][name]["stacks"][stack_name].update(derived_entry(new))
            entry = manifest["layouts"][name]
            waves = tuple(tuple(w) for w in entry.get("waves", []))
            layouts[name] = Layout(name, stacks, waves, tuple(entry.get("weakReferences", [])))
        documents = dict(self.env.documents) if self.documents is None else self.documents
        env = replace(self.env, manifest=manifest, layouts=layouts, documents=documents, folder=None, load_problems=())
        return build_from_environments([env])


# ---- template helpers -----------------------------------------------------------------------
def walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def rename_resource(template: dict[str, Any], old: str, new: str) -> None:
    """Rename a logical id and every reference to it in the same template."""
    resources = template["Resources"]
    resources[new] = resources.pop(old)
    token = re.compile(r"\$\{" + re.escape(old) + r"([.}])")
    for node in list(walk(template)):
        for key, value in list(node.items()):
            if key == "Ref" and value == old:
                node[key] = new
            elif key == "Fn::GetAtt" and isinstance(value, list) and value and value[0] == old:
                value[0] = new
            elif key == "Fn::GetAtt" and isinstance(value, str) and value.startswith(old + "."):
                node[key] = new + value[len(old) :]
            elif key == "Fn::Sub":
                if isinstance(value, str):
                    node[key] = token.sub("${" + new + r"\1", value)
                elif isinstance(value, list) and isinstance(value[0], str):
                    value[0] = token.sub("${" + new + r"\1", value[0])
            elif key == "DependsOn":
                node[key] = (
                    new
                    if value == old
                    else [new if v == old else v for v in value]
                    if isinstance(value, list)
                    else value
                )


def rename_in_build(draft: Draft, key: Key, old: str, new: str) -> None:
    """Rename in one stack, as a build would: the manifest's weak references follow."""
    rename_resource(draft.template(*key), old, new)
    for weak in draft.manifest()["layouts"][key[0]].get("weakReferences", []):
        if weak["producer"] == key[1] and weak["resource"] == old:
            weak["resource"] = new


def states_of(definition: dict[str, Any]) -> dict[str, Any]:
    return definition.get("States", {})


# ---- candidate finders ----------------------------------------------------------------------
def sites(env: Environment, *types: str, where: Callable[[Stack, str, Any], bool] = lambda s, i, r: True) -> list[Site]:
    """Component sites of resources of ``types`` (platform sites once, workflow sites per stack)."""
    found: set[Site] = set()
    for layout in env.layouts.values():
        for stack in layout.stacks.values():
            for logical_id, resource in stack.of_type(*types):
                if where(stack, logical_id, resource):
                    found.add((stack.name if layout.name == WORKFLOWS else PLATFORM, logical_id))
    return sorted(found)


def props_of(resource: Any) -> dict[str, Any]:
    value: dict[str, Any] = resource.get("Properties", {})
    return value


@dataclass(frozen=True)
class Mutation:
    """One kind of defect.

    ``candidates`` lists the targets an environment offers; ``apply`` edits a draft for one target
    and returns the locations (``dev/CeapX``) at least one finding must name, or ``None``.
    """

    name: str
    rule: str
    candidates: Callable[[Environment], list[Any]]
    apply: Callable[[Draft, Any, st.DataObject], set[str] | None]
    reseal: bool = True


def _location(draft: Draft, key: Key) -> str:
    return draft.env.layouts[key[0]].stacks[key[1]].location


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
    parameter = Naming(draft.env.name).stack_parameter(producer)
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


# ---- MAN ------------------------------------------------------------------------------------
def _all_stacks(env: Environment) -> list[Key]:
    return sorted((layout.name, s) for layout in env.layouts.values() for s in layout.stacks)


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


# ---- ASL ------------------------------------------------------------------------------------
MACHINE = "AWS::StepFunctions::StateMachine"


def _machine_states(env: Environment, predicate: Callable[[str, dict[str, Any], dict[str, Any]], bool]) -> list[Any]:
    found = set()
    for site in sites(env, MACHINE):
        key = Draft(env).holders(site)[0]
        resource = env.layouts[key[0]].stacks[key[1]].resources[site[1]]
        props = props_of(resource)
        for name, state in states_of(props.get("Definition", {})).items():
            if predicate(name, state, props):
                found.add((site, name))
    return sorted(found)


def _definitions(draft: Draft, site: Site) -> Iterator[tuple[Key, dict[str, Any]]]:
    for key, resource in draft.resources(site):
        yield key, props_of(resource)


def break_next(draft: Draft, target: tuple[Site, str], data: st.DataObject) -> set[str]:
    site, state = target
    for _, props in _definitions(draft, site):
        states_of(props["Definition"])[state]["Next"] += "Typo"
    return {_location(draft, k) for k in draft.holders(site)}


def unknown_integration(draft: Draft, target: tuple[Site, str], data: st.DataObject) -> set[str]:
    site, state = target
    resource = data.draw(
        st.sampled_from(["arn:aws:states:::dynamodb:putItem", "arn:aws:lambda:us-east-1:1:function:x"])
    )
    for _, props in _definitions(draft, site):
        states_of(props["Definition"])[state]["Resource"] = resource
    return {_location(draft, k) for k in draft.holders(site)}


def substitution_drift(draft: Draft, site: Site, data: st.DataObject) -> set[str]:
    drop = data.draw(st.booleans())
    for _, props in _definitions(draft, site):
        substitutions = props["DefinitionSubstitutions"]
        if drop:
            del substitutions[sorted(substitutions)[0]]
        else:
            substitutions["UnusedArn"] = "arn:aws:sns:us-east-1:111111111111:unused"
    return {_location(draft, k) for k in draft.holders(site)}


def definition_string(draft: Draft, site: Site, data: st.DataObject) -> set[str]:
    for _, props in _definitions(draft, site):
        props["DefinitionString"] = json.dumps(props.pop("Definition"))
    return {_location(draft, k) for k in draft.holders(site)}


def timeout_problem(draft: Draft, site: Site, data: st.DataObject) -> set[str]:
    for _, props in _definitions(draft, site):
        definition = props["Definition"]
        if props.get("StateMachineType") == "EXPRESS":
            # Still below the queue's visibility (timeout + 60 s), so only ASL005 applies.
            definition["TimeoutSeconds"] = data.draw(st.integers(301, 359))
        else:
            del definition["TimeoutSeconds"]
    return {_location(draft, k) for k in draft.holders(site)}


def retry_drift(draft: Draft, target: tuple[Site, str], data: st.DataObject) -> set[str]:
    site, state = target
    how = data.draw(st.sampled_from(["attempts", "interval", "permanent", "drop"]))
    attempts = data.draw(st.sampled_from([0, 1, 3, 5]))
    for _, props in _definitions(draft, site):
        task = states_of(props["Definition"])[state]
        if how == "drop":
            del task["Retry"]
        elif how == "attempts":
            task["Retry"][0]["MaxAttempts"] = attempts
        elif how == "interval":
            task["Retry"][0]["IntervalSeconds"] += 1
        else:
            task["Retry"][0]["ErrorEquals"].append(PERMANENT_ERROR)
    return {_location(draft, k) for k in draft.holders(site)}


def catch_narrowed(draft: Draft, target: tuple[Site, str], data: st.DataObject) -> set[str]:
    site, state = target
    how = data.draw(st.sampled_from(["narrow", "silent-fail"]))
    for _, props in _definitions(draft, site):
        states = states_of(props["Definition"])
        catch = states[state]["Catch"][0]
        if how == "narrow":
            catch["ErrorEquals"] = ["States.TaskFailed"]
        else:
            states[catch["Next"]].pop("CausePath", None)
            states[catch["Next"]].pop("Cause", None)
    return {_location(draft, k) for k in draft.holders(site)}


def result_kept(draft: Draft, target: tuple[Site, str], data: st.DataObject) -> set[str]:
    site, state = target
    for _, props in _definitions(draft, site):
        states_of(props["Definition"])[state]["ResultPath"] = "$.result"
    return {_location(draft, k) for k in draft.holders(site)}


def context_broken(draft: Draft, target: tuple[Site, str], data: st.DataObject) -> set[str]:
    site, state = target
    for _, props in _definitions(draft, site):
        task = states_of(props["Definition"])[state]
        if task["Resource"] == LAMBDA_INVOKE:
            # The upstream Express factory's bug: state input instead of the context object.
            task["Parameters"]["Payload"]["executionId.$"] = "$.Execution.Name"
        else:
            # A key taken from the state instead of built from the execution name.
            task["Parameters"]["Arguments"]["--input-key.$"] = "$.request.inputKey"
    return {_location(draft, k) for k in draft.holders(site)}


# ---- NAME -----------------------------------------------------------------------------------
FUNCTION = "AWS::Lambda::Function"


def _named(env: Environment, type_: str, prop: str, skip_legacy_ids: bool = True) -> list[Site]:
    return sites(
        env,
        type_,
        where=lambda s, i, r: (
            prop in props_of(r) and isinstance(props_of(r)[prop], str) and not (skip_legacy_ids and i in BY_ID)
        ),
    )


def env_twice(draft: Draft, site: Site, data: st.DataObject) -> set[str]:
    for (_, stack), resource in draft.resources(site):
        name = props_of(resource)["FunctionName"]
        props_of(resource)["FunctionName"] = f"{stack}-{draft.env.name}{name[len(stack) :]}"
    return {_location(draft, k) for k in draft.holders(site)}


def queue_off_pattern(draft: Draft, site: Site, data: st.DataObject) -> set[str]:
    for _, resource in draft.resources(site):
        props_of(resource)["QueueName"] = props_of(resource)["QueueName"].replace("ceap-workflow-", "ceap-")
    return {_location(draft, k) for k in draft.holders(site)}


_LIMITS = {"FunctionName": 64, "QueueName": 80, "Name": 64, "StateMachineName": 80}


def _long_names(env: Environment) -> list[tuple[Site, str]]:
    found = [(s, "FunctionName") for s in _named(env, FUNCTION, "FunctionName")]
    found += [(s, "QueueName") for s in _named(env, "AWS::SQS::Queue", "QueueName")]
    found += [(s, "Name") for s in _named(env, "AWS::Pipes::Pipe", "Name")]
    found += [(s, "StateMachineName") for s in _named(env, MACHINE, "StateMachineName")]
    return sorted(found)


def name_too_long(draft: Draft, target: tuple[Site, str], data: st.DataObject) -> set[str]:
    site, prop = target
    holders = list(draft.resources(site))
    shortest = min(len(props_of(r)[prop]) for _, r in holders)
    # One suffix for every layout, so the layouts stay alike (MIG002) while all exceed the limit.
    suffix = "x" * (_LIMITS[prop] + 1 - shortest + data.draw(st.integers(0, 20)))
    for _, resource in holders:
        props_of(resource)[prop] += suffix
    return {_location(draft, k) for k, _ in holders}


def _core_functions(env: Environment) -> list[Site]:
    return sites(env, FUNCTION, where=lambda s, i, r: not s.name.startswith("CeapWorkflow-"))


#: Handler -> purpose, to give a function the explicit name the naming module would.
PURPOSE = {spec.handler: spec.name for spec in (*STAGES.values(), SERVING_REACTIVE)}


def dual_naming_broken(draft: Draft, site: Site, data: st.DataObject) -> set[str]:
    for (_, stack), resource in draft.resources(site):
        props = props_of(resource)
        if "FunctionName" in props:
            del props["FunctionName"]
        else:
            props["FunctionName"] = Naming(draft.env.name).checked_function(stack, PURPOSE[props["Handler"]])
    return {_location(draft, k) for k in draft.holders(site)}


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


# ---- IAM ------------------------------------------------------------------------------------
ROLE = "AWS::IAM::Role"


def _role_statements(env: Environment, predicate: Callable[[dict[str, Any]], bool]) -> list[tuple[Site, int, int]]:
    found = []
    for site in sites(env, ROLE):
        key = Draft(env).holders(site)[0]
        role = env.layouts[key[0]].stacks[key[1]].resources[site[1]]
        for p, policy in enumerate(props_of(role).get("Policies", [])):
            for s, statement in enumerate(policy["PolicyDocument"]["Statement"]):
                if statement.get("Effect") == "Allow" and predicate(statement):
                    found.append((site, p, s))
    return sorted(found)


def _statements(draft: Draft, target: tuple[Site, int, int]) -> Iterator[dict[str, Any]]:
    site, p, s = target
    for _, role in draft.resources(site):
        yield props_of(role)["Policies"][p]["PolicyDocument"]["Statement"][s]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def wildcard_action(draft: Draft, target: tuple[Site, int, int], data: st.DataObject) -> set[str]:
    action = data.draw(st.sampled_from(["*", "s3:*", "dynamodb:Get*", "logs:*"]))
    for statement in _statements(draft, target):
        statement["Action"] = [*_as_list(statement["Action"]), action]
    return {_location(draft, k) for k in draft.holders(target[0])}


def wildcard_resource(draft: Draft, target: tuple[Site, int, int], data: st.DataObject) -> set[str]:
    for statement in _statements(draft, target):
        statement["Resource"] = [*_as_list(statement["Resource"]), "*"]
    return {_location(draft, k) for k in draft.holders(target[0])}


def extra_principal(draft: Draft, site: Site, data: st.DataObject) -> set[str]:
    principal = data.draw(
        st.sampled_from([{"AWS": "arn:aws:iam::123456789012:root"}, {"Service": "ec2.amazonaws.com"}])
    )
    for _, role in draft.resources(site):
        statement = props_of(role)["AssumeRolePolicyDocument"]["Statement"][0]
        for key, value in principal.items():
            statement["Principal"][key] = [*_as_list(statement["Principal"].get(key, [])), value]
    return {_location(draft, k) for k in draft.holders(site)}


def _candidates_grants(env: Environment) -> list[tuple[Site, int, int]]:
    def candidates_write(statement: dict[str, Any]) -> bool:
        return "Candidates" in json.dumps(statement.get("Resource")) and "dynamodb:Query" not in statement["Action"]

    return _role_statements(env, candidates_write)


def query_without_index(draft: Draft, target: tuple[Site, int, int], data: st.DataObject) -> set[str]:
    for statement in _statements(draft, target):
        statement["Action"] = [*_as_list(statement["Action"]), "dynamodb:Query"]
    return {_location(draft, k) for k in draft.holders(target[0])}


# ---- SEC / OPS / DATA -----------------------------------------------------------------------
ENCRYPTION = {
    "AWS::S3::Bucket": "BucketEncryption",
    "AWS::SQS::Queue": "SqsManagedSseEnabled",
    "AWS::DynamoDB::Table": "SSESpecification",
    "AWS::SNS::Topic": "KmsMasterKeyId",
    "AWS::Glue::Job": "SecurityConfiguration",
    "AWS::KMS::Key": "EnableKeyRotation",
}


def remove_encryption(draft: Draft, site: Site, data: st.DataObject) -> set[str]:
    for _, resource in draft.resources(site):
        del props_of(resource)[ENCRYPTION[resource["Type"]]]
    return {_location(draft, k) for k in draft.holders(site)}


def public_bucket(draft: Draft, site: Site, data: st.DataObject) -> set[str]:
    flag = data.draw(
        st.sampled_from(["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"])
    )
    for _, resource in draft.resources(site):
        props_of(resource)["PublicAccessBlockConfiguration"][flag] = False
    return {_location(draft, k) for k in draft.holders(site)}


def drop_resource(draft: Draft, site: Site, data: st.DataObject) -> set[str]:
    for key in draft.holders(site):
        del draft.template(*key)["Resources"][site[1]]
    return {_location(draft, k) for k in draft.holders(site)}


def remove_retention(draft: Draft, site: Site, data: st.DataObject) -> set[str]:
    for _, resource in draft.resources(site):
        del props_of(resource)["RetentionInDays"]
    return {_location(draft, k) for k in draft.holders(site)}


def unlogged_function(draft: Draft, site: Site, data: st.DataObject) -> set[str]:
    for _, resource in draft.resources(site):
        del props_of(resource)["LoggingConfig"]
    return {_location(draft, k) for k in draft.holders(site)}


def tracing_off(draft: Draft, site: Site, data: st.DataObject) -> set[str]:
    for _, resource in draft.resources(site):
        if resource["Type"] == FUNCTION:
            props_of(resource)["TracingConfig"]["Mode"] = "PassThrough"
        else:
            props_of(resource)["TracingConfiguration"]["Enabled"] = False
    return {_location(draft, k) for k in draft.holders(site)}


def logging_reduced(draft: Draft, site: Site, data: st.DataObject) -> set[str]:
    field_ = data.draw(st.sampled_from(["Level", "IncludeExecutionData"]))
    for _, resource in draft.resources(site):
        logging = props_of(resource)["LoggingConfiguration"]
        logging[field_] = "ERROR" if field_ == "Level" else False
    return {_location(draft, k) for k in draft.holders(site)}


def _dlq_targets(env: Environment) -> list[tuple[str, Site]]:
    found = [
        ("receive-count", s)
        for s in sites(env, "AWS::SQS::Queue", where=lambda s, i, r: "RedrivePolicy" in props_of(r))
    ]
    found += [
        ("no-redrive", s) for s in sites(env, "AWS::SQS::Queue", where=lambda s, i, r: "RedrivePolicy" in props_of(r))
    ]
    found += [
        ("rule-target", s)
        for s in sites(
            env,
            "AWS::Events::Rule",
            where=lambda s, i, r: any("DeadLetterConfig" in t for t in props_of(r).get("Targets", [])),
        )
    ]
    found += [("dlq-retention", s) for s in sites(env, "AWS::SQS::Queue", where=lambda s, i, r: "DeadLetterQueue" in i)]
    found += [
        ("async-function", s) for s in sites(env, FUNCTION, where=lambda s, i, r: "DeadLetterConfig" in props_of(r))
    ]
    return sorted(found)


def dead_letter_broken(draft: Draft, target: tuple[str, Site], data: st.DataObject) -> set[str]:
    how, site = target
    for _, resource in draft.resources(site):
        props = props_of(resource)
        if how == "receive-count":
            props["RedrivePolicy"]["maxReceiveCount"] = data.draw(st.sampled_from([1, 2, 5, 10]))
        elif how == "no-redrive":
            del props["RedrivePolicy"]
        elif how == "rule-target":
            del props["Targets"][0]["DeadLetterConfig"]
        elif how == "dlq-retention":
            props["MessageRetentionPeriod"] = 4 * 24 * 3600
        else:
            del props["DeadLetterConfig"]
    return {_location(draft, k) for k in draft.holders(site)}


def _failure_rules(env: Environment) -> list[Site]:
    return sites(
        env, "AWS::Events::Rule", where=lambda s, i, r: "aws.states" in json.dumps(props_of(r).get("EventPattern"))
    )


def failure_rule_blind(draft: Draft, site: Site, data: st.DataObject) -> set[str]:
    status = data.draw(st.sampled_from([["FAILED"], ["FAILED", "TIMED_OUT"], ["ABORTED"]]))
    for _, resource in draft.resources(site):
        props_of(resource)["EventPattern"]["detail"]["status"] = status
    return {_location(draft, k) for k in draft.holders(site)}


STATEFUL = ("AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::Logs::LogGroup", "AWS::SQS::Queue", "AWS::KMS::Key")


def drop_policy(draft: Draft, site: Site, data: st.DataObject) -> set[str]:
    which = data.draw(st.sampled_from(["UpdateReplacePolicy", "DeletionPolicy"]))
    for _, resource in draft.resources(site):
        del resource[which]
    return {_location(draft, k) for k in draft.holders(site)}


def _data_sites(env: Environment) -> list[Site]:
    ephemeral = {BY_ID[i].identity(Naming(env.name)) for i in ("ScoreCacheTable789CCB88", "DeduplicationTableAD30DFB7")}
    return sites(
        env,
        "AWS::DynamoDB::Table",
        "AWS::S3::Bucket",
        "AWS::Logs::LogGroup",
        where=lambda s, i, r: props_of(r).get("TableName") not in ephemeral,
    )


def retention_flipped(draft: Draft, site: Site, data: st.DataObject) -> set[str]:
    policy = "Delete" if draft.env.retain_data else "Retain"
    for _, resource in draft.resources(site):
        resource["DeletionPolicy"] = resource["UpdateReplacePolicy"] = policy
    return {_location(draft, k) for k in draft.holders(site)}


def expiry_changed(draft: Draft, site: Site, data: st.DataObject) -> set[str]:
    days = data.draw(st.sampled_from([1, 6, 8, 30, 365]))
    for _, resource in draft.resources(site):
        for rule in props_of(resource)["LifecycleConfiguration"]["Rules"]:
            if "ExpirationInDays" in rule:
                rule["ExpirationInDays"] = days
    return {_location(draft, k) for k in draft.holders(site)}


def pipe_broken(draft: Draft, site: Site, data: st.DataObject) -> set[str]:
    how = data.draw(st.sampled_from(["invocation", "batch", "role"]))
    for (layout, stack), resource in draft.resources(site):
        props = props_of(resource)
        parameters = props["TargetParameters"]["StepFunctionStateMachineParameters"]
        if how == "invocation":
            swap = {"REQUEST_RESPONSE": "FIRE_AND_FORGET", "FIRE_AND_FORGET": "REQUEST_RESPONSE"}
            parameters["InvocationType"] = swap[parameters["InvocationType"]]
        elif how == "batch":
            props["SourceParameters"]["SqsQueueParameters"]["BatchSize"] = data.draw(st.integers(2, 10))
        else:
            role = draft.template(layout, stack)["Resources"][props["RoleArn"]["Fn::GetAtt"][0]]
            for statement in props_of(role)["Policies"][0]["PolicyDocument"]["Statement"]:
                if statement.get("Sid") == "StartWorkflow":
                    # The upstream defect: an Express pipe allowed only states:StartExecution.
                    statement["Action"] = ["states:DescribeExecution"]
    return {_location(draft, k) for k in draft.holders(site)}


def too_many_resources(draft: Draft, key: Key, data: st.DataObject) -> set[str]:
    resources = draft.template(*key)["Resources"]
    extra = MAX_RESOURCES + 1 - len(resources) + data.draw(st.integers(0, 5))
    for index in range(extra):
        resources[f"Padding{index:03d}"] = {"Type": "AWS::CloudFormation::WaitConditionHandle"}
    return {_location(draft, key)}


def doc_names_legacy_stack(draft: Draft, path: str, data: st.DataObject) -> set[str]:
    role = data.draw(
        st.sampled_from(["EtlWorkflow", "FilterWorkflow", "ScoreWorkflow", "StoreWorkflow", "Orchestration"])
    )
    documents = dict(draft.env.documents)
    documents[path] += f"\n## Operations\n\nRestart `Ceap{role}-{draft.env.name}` when the ETL stage stalls.\n"
    draft.documents = documents
    return {f"{draft.env.name}/{path}"}


def _not_legacy_stacks(env: Environment) -> list[Key]:
    return [k for k in _all_stacks(env) if k[0] != LEGACY]


def _tasks(kind: str | None = None) -> Callable[[Environment], list[Any]]:
    def find(env: Environment) -> list[Any]:
        return _machine_states(
            env, lambda n, s, p: s.get("Type") == "Task" and (kind is None or s.get("Resource") == kind)
        )

    return find


MUTATIONS: tuple[Mutation, ...] = (
    Mutation("drop an imported export", "REF001", _imported_exports, drop_export),
    Mutation("rename an imported export", "REF001", _imported_exports, rename_export),
    Mutation("import an export nobody exports", "REF001", _importers, import_missing),
    Mutation("import from a stack of the same wave", "REF001", _same_wave_pairs, import_same_wave),
    Mutation("create a reference cycle", "REF002", _edges, create_cycle),
    Mutation("weak reference consumer drifts", "REF003", _weak, weak_consumer_drift),
    Mutation("export name not its output title", "REF004", _unimported_exports, export_name_mismatch),
    Mutation("stack-name parameter misnamed", "REF004", _stack_parameters, misnamed_stack_parameter),
    Mutation("template edited after the build", "MAN001", _all_stacks, tamper_template, reseal=False),
    Mutation("stack dropped from the waves", "MAN001", _waved, drop_from_waves),
    Mutation(
        "break a Next",
        "ASL001",
        lambda e: _machine_states(e, lambda n, s, p: "Next" in s and s["Type"] != "Choice"),
        break_next,
    ),
    Mutation("unknown Task integration", "ASL002", _tasks(), unknown_integration),
    Mutation("substitutions drift from placeholders", "ASL003", lambda e: sites(e, MACHINE), substitution_drift),
    Mutation("DefinitionString instead of Definition", "ASL004", lambda e: sites(e, MACHINE), definition_string),
    Mutation("machine timeout missing or too long", "ASL005", lambda e: sites(e, MACHINE), timeout_problem),
    Mutation("retry policy drifts", "ASL006", _tasks(), retry_drift),
    Mutation("catch narrowed or fail state silent", "ASL007", _tasks(), catch_narrowed),
    Mutation("task keeps its result", "ASL008", _tasks(), result_kept),
    Mutation(
        "execution context from state input",
        "ASL009",
        lambda e: _tasks(LAMBDA_INVOKE)(e) + _tasks(GLUE_START_JOB_RUN_SYNC)(e),
        context_broken,
    ),
    Mutation(
        "environment twice in a function name", "NAME001", lambda e: _named(e, FUNCTION, "FunctionName"), env_twice
    ),
    Mutation(
        "queue name off the pattern", "NAME001", lambda e: _named(e, "AWS::SQS::Queue", "QueueName"), queue_off_pattern
    ),
    Mutation("name over the AWS limit", "NAME002", _long_names, name_too_long),
    Mutation("names against physicalNames", "NAME003", _core_functions, dual_naming_broken),
    Mutation("rename a LEGACY.md logical id", "LEG001", _legacy_ids, rename_legacy_id),
    Mutation("swap two LEGACY.md logical ids", "LEG001", _swappable, swap_legacy_ids),
    Mutation(
        "resource without its consolidated counterpart", "MIG001", _consolidated_only_renames, rename_in_consolidated
    ),
    Mutation("legacy layout drifts from consolidated", "MIG002", _legacy_described, legacy_drift),
    Mutation(
        "add a wildcard action",
        "IAM001",
        lambda e: _role_statements(e, lambda s: "*" not in _as_list(s.get("Resource"))),
        wildcard_action,
    ),
    Mutation(
        "add Resource '*' to a scoped grant",
        "IAM002",
        lambda e: _role_statements(e, lambda s: "*" not in _as_list(s.get("Resource"))),
        wildcard_resource,
    ),
    Mutation("role trusts a second principal", "IAM003", lambda e: sites(e, ROLE), extra_principal),
    Mutation("query a GSI table without /index/*", "IAM004", _candidates_grants, query_without_index),
    Mutation("remove encryption", "SEC001", lambda e: sites(e, *ENCRYPTION), remove_encryption),
    Mutation("unblock public access", "SEC002", lambda e: sites(e, "AWS::S3::Bucket"), public_bucket),
    Mutation("drop the TLS-only bucket policy", "SEC003", lambda e: sites(e, "AWS::S3::BucketPolicy"), drop_resource),
    Mutation("remove log retention", "OPS001", lambda e: sites(e, "AWS::Logs::LogGroup"), remove_retention),
    Mutation(
        "function logs to an implicit group",
        "OPS001",
        lambda e: sites(e, FUNCTION, where=lambda s, i, r: "FunctionName" not in props_of(r)),
        unlogged_function,
    ),
    Mutation("tracing off", "OPS002", lambda e: sites(e, FUNCTION, MACHINE), tracing_off),
    Mutation("machine logging reduced", "OPS003", lambda e: sites(e, MACHINE), logging_reduced),
    Mutation("dead-letter handling broken", "OPS004", _dlq_targets, dead_letter_broken),
    Mutation("failure rule misses statuses", "OPS005", _failure_rules, failure_rule_blind),
    Mutation(
        "drop the DLQ depth alarm",
        "OPS006",
        lambda e: sites(e, "AWS::CloudWatch::Alarm", where=lambda s, i, r: props_of(r).get("Namespace") == "AWS/SQS"),
        drop_resource,
    ),
    Mutation("stateful resource without explicit policy", "DATA001", lambda e: sites(e, *STATEFUL), drop_policy),
    Mutation("retention against retainData", "DATA002", _data_sites, retention_flipped),
    Mutation("hand-off expiry changed", "DATA003", lambda e: sites(e, "AWS::S3::Bucket"), expiry_changed),
    Mutation("pipe misconfigured", "PIPE001", lambda e: sites(e, "AWS::Pipes::Pipe"), pipe_broken),
    Mutation("more than 500 resources", "LIM001", _not_legacy_stacks, too_many_resources),
    Mutation("doc names a legacy stack as current", "DOC001", lambda e: sorted(e.documents), doc_names_legacy_stack),
)
