"""Follow one request through a layout's templates: which stages run, with what, against which tables.

Seed 000 Property 4 (functional equivalence): the same request must run through the same stage
definitions and tables in the legacy and the consolidated layout. A *trace* is the list of task
invocations an execution makes on its success path, each with the invoked target's identity
(handler, runtime, code, memory, timeout, environment with tables and buckets resolved to their
physical names) and the payload it receives. Traces are placement-free, so two layouts behave
the same for a request exactly when their traces are equal.

The walk interprets the subset of Amazon States Language the platform emits (Task, Pass, Choice on
``IsPresent``, Map, Fail, Succeed; JSONPath ``$``/``$.a.b``/``$$.Execution.*``/``$$.Map.Item.*``)
and the EventBridge routing of its rules (``source``/``detail-type``/``detail`` equality patterns,
input transformers). It does not execute handlers: it shows what each one is given.

A Map state appears in a trace as what it reads (its ``ItemReader``, as an invocation of the
reader's resource) followed by the invocations of its ``ItemProcessor`` for each item. Items read
from S3 are unknown to the walk, so it runs the processor once, for :data:`SYMBOLIC_MAP_ITEM`.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from ceap_templates.validation.canonical import Resolver, first_difference, referenced_ids, unresolved_imports
from ceap_templates.validation.model import Environment, Stack

_PLACEHOLDER = re.compile(r"^\$\{([A-Za-z0-9_]+)\}$")
#: Properties that define what a function does (its name is placement; the rest is identity).
FUNCTION_IDENTITY = ("Handler", "Runtime", "Code", "MemorySize", "Timeout", "Layers", "Architectures", "Environment")
MAX_DEPTH = 4
#: States one execution (or one Map item's processor run) may pass before the walk calls it a loop.
MAX_STEPS = 100
#: The ItemReader the walk interprets: a JSON list read with S3 GetObject.
S3_GET_OBJECT = "arn:aws:states:::s3:getObject"
#: The value of ``$$.Map.Item.Value`` while a Map with an ``ItemReader`` is traced.
#:
#: It is symbolic: the walk reads no S3, so it cannot know the items of the list a Map reads (a
#: stage's ``parts.json`` holds ``{"key", "count", "index"}`` items, lambdas/README.md "Sharded
#: hand-off", written at run time). It stands for any one item, is the same in every layout, and is
#: shaped like a part so that a child's payload shows where each field of the item goes; a trace
#: therefore says which items a Map reads (its reader invocation) and what one child is given.
SYMBOLIC_MAP_ITEM: Mapping[str, Any] = MappingProxyType({"key": "<item key>", "count": 1, "index": 0})
#: ``$$.Map.Item.Index`` of :data:`SYMBOLIC_MAP_ITEM`: the first item.
SYMBOLIC_MAP_INDEX = 0
_NO_RESULT = object()


@dataclass(frozen=True)
class Invocation:
    """One task of a trace."""

    machine: str  # logical ID: a machine's name is placement (stack-qualified in one layout)
    state: str
    integration: str
    target: Any
    payload: Any


class TraceError(Exception):
    """The templates do not let the request through (a missing target, an unknown state...)."""


@dataclass(frozen=True)
class _Run:
    """What the states of one execution share (a Distributed Map's child is an execution of its own)."""

    machine_id: str
    name: str
    substitutions: Mapping[str, Any]
    execution: str
    depth: int


class LayoutRuntime:
    """Walk requests through one layout of one environment."""

    def __init__(self, env: Environment, layout: str) -> None:
        self.env = env
        self.layout = env.layouts[layout]
        self.resolver = Resolver(env.plan_stacks(env.plan_name(layout)))
        self._where: dict[str, Stack] = {}
        for stack in self.resolver.stacks.values():
            for logical_id in stack.resources:
                self._where.setdefault(logical_id, stack)

    # ---- identities -------------------------------------------------------------------------
    def resource(self, logical_id: str) -> tuple[Stack, Mapping[str, Any]]:
        stack = self._where.get(logical_id)
        if stack is None:
            raise TraceError(f"no resource {logical_id} in the {self.layout.name} layout")
        return stack, stack.resources[logical_id]

    def physical(self, canonical: Any) -> Any:
        """Replace references to tables, buckets, functions and machines by what identifies them."""
        if isinstance(canonical, tuple) and canonical and canonical[0] in ("Ref", "GetAtt"):
            stack, resource = self.resource(canonical[1])
            props = resource.get("Properties", {})
            for key in ("TableName", "BucketName", "StateMachineName", "QueueName"):
                if key in props:
                    return {"type": resource["Type"], "name": self.resolver.canonical(stack, props[key])}
            return {"type": resource["Type"], "id": canonical[1]}
        if isinstance(canonical, tuple) and canonical and canonical[0] == "Sub":
            return ("Sub", canonical[1], {k: self.physical(v) for k, v in canonical[2].items()})
        if isinstance(canonical, dict):
            return {k: self.physical(v) for k, v in canonical.items()}
        if isinstance(canonical, list):
            return [self.physical(v) for v in canonical]
        return canonical

    def function_identity(self, logical_id: str) -> dict[str, Any]:
        stack, resource = self.resource(logical_id)
        if resource.get("Type") != "AWS::Lambda::Function":
            raise TraceError(f"{logical_id} is a {resource.get('Type')}, not a function")
        props = resource.get("Properties", {})
        identity = {k: self.physical(self.resolver.canonical(stack, props[k])) for k in FUNCTION_IDENTITY if k in props}
        return {"function": logical_id, **identity}

    def machine_named(self, name: str) -> str:
        for stack in self.resolver.stacks.values():
            for logical_id, resource in stack.of_type("AWS::StepFunctions::StateMachine"):
                if resource.get("Properties", {}).get("StateMachineName") == name:
                    return logical_id
        raise TraceError(f"no state machine named {name!r} in the {self.layout.name} layout")

    # ---- executions -------------------------------------------------------------------------
    def start_execution(
        self, machine_id: str, request: Any, execution: str = "exec-1", depth: int = 0
    ) -> list[Invocation]:
        """The invocations an execution of ``machine_id`` makes on its success path."""
        if depth > MAX_DEPTH:
            raise TraceError("executions nest too deep")
        stack, resource = self.resource(machine_id)
        props = resource.get("Properties", {})
        definition = props.get("Definition")
        if not isinstance(definition, dict):
            raise TraceError(f"{machine_id} has no Definition object")
        name = str(props.get("StateMachineName", machine_id))
        substitutions = {
            k: self.resolver.canonical(stack, v) for k, v in (props.get("DefinitionSubstitutions") or {}).items()
        }
        # Identify the machine by its logical ID: its StateMachineName may carry the stack name.
        context = {"Execution": {"Name": execution, "Id": f"{machine_id}:{execution}", "Input": request}}
        run = _Run(machine_id, name, substitutions, execution, depth)
        trace, _ = self._run_states(run, definition, request, context)
        return trace

    def _run_states(
        self, run: _Run, machine: Mapping[str, Any], data: Any, context: Mapping[str, Any]
    ) -> tuple[list[Invocation], Any]:
        """The invocations of ``machine``'s states (``StartAt``/``States``) from ``data``, and its output."""
        states = machine.get("States")
        if not isinstance(states, dict):
            raise TraceError(f"{run.name}: no States object")
        current: str | None = machine.get("StartAt")
        trace: list[Invocation] = []
        steps = 0
        while current is not None:
            steps += 1
            state = states.get(current)
            if not isinstance(state, dict) or steps > MAX_STEPS:
                raise TraceError(
                    f"{run.name}: no state {current!r}" if not isinstance(state, dict) else f"{run.name}: loops"
                )
            kind = state.get("Type")
            label = f"{run.name}.{current}"
            if kind in ("Succeed", "Fail"):
                break
            effective = _path(data, context, str(state.get("InputPath", "$")))
            if kind == "Pass":
                if "Parameters" in state:
                    result = _evaluate(state["Parameters"], effective, context)
                else:
                    result = state.get("Result", effective)
                data = _state_output(label, state, data, context, result)
            elif kind == "Choice":
                current = _choose(state, data, context)
                continue
            elif kind == "Task":
                parameters = _substitute(state.get("Parameters", {}), run.substitutions)
                payload = _evaluate(parameters, effective, context)
                trace += self._task(
                    run.machine_id, current, str(state.get("Resource")), payload, run.execution, run.depth
                )
                data = _state_output(label, state, data, context)
            elif kind == "Map":
                trace += self._map(run, current, state, effective, context)
                data = _state_output(label, state, data, context)
            else:
                raise TraceError(f"{label}: state type {kind!r} is not interpreted")
            current = None if state.get("End") else state.get("Next")
        return trace, data

    def _map(
        self, run: _Run, name: str, state: Mapping[str, Any], effective: Any, context: Mapping[str, Any]
    ) -> list[Invocation]:
        """A Map state: what it reads, then its ItemProcessor's invocations for each item.

        With an ``ItemReader`` the items are in S3: one run for :data:`SYMBOLIC_MAP_ITEM`. Without
        one, the items are the list at ``ItemsPath`` and each is run, in order. ``$$.Map.Item`` is
        visible to the ``ItemSelector`` only (as in Step Functions, not to the processor's states);
        a Distributed Map's child is an execution of its own, with its own ``$$.Execution``.
        """
        label = f"{run.name}.{name}"
        for unknown in ("ItemBatcher", "ResultWriter"):
            if unknown in state:
                raise TraceError(f"{label}: Map field {unknown} is not interpreted")
        if "ItemSelector" in state and "Parameters" in state:
            raise TraceError(f"{label}: Map has both ItemSelector and Parameters (its older name)")
        processor = state.get("ItemProcessor", state.get("Iterator"))
        if not isinstance(processor, dict):
            raise TraceError(f"{label}: Map has no ItemProcessor object")
        mode = (processor.get("ProcessorConfig") or {}).get("Mode", "INLINE")
        if mode not in ("INLINE", "DISTRIBUTED"):
            raise TraceError(f"{label}: Map mode {mode!r} is not interpreted")
        # Parameters is the older name of ItemSelector.
        selector = state.get("ItemSelector", state.get("Parameters"))
        trace: list[Invocation] = []
        reader = state.get("ItemReader")
        items: list[tuple[int, Any]]
        if reader is not None:
            if "ItemsPath" in state:
                raise TraceError(f"{label}: ItemsPath beside an ItemReader is not interpreted")
            trace.append(self._item_reader(run, name, reader, effective, context))
            items = [(SYMBOLIC_MAP_INDEX, copy.deepcopy(dict(SYMBOLIC_MAP_ITEM)))]
        else:
            listed = _path(effective, context, str(state.get("ItemsPath", "$")))
            if not isinstance(listed, list):
                raise TraceError(f"{label}: ItemsPath {state.get('ItemsPath', '$')} is not a list")
            items = list(enumerate(listed))
        for index, item in items:
            if selector is None:
                child_input = item
            else:
                item_context = {**context, "Map": {"Item": {"Index": index, "Value": item}}}
                child_input = _evaluate(_substitute(selector, run.substitutions), effective, item_context)
            child_run, child_context = run, context
            if mode == "DISTRIBUTED":
                # Step Functions names each child execution itself: a placeholder here.
                child = f"{run.execution}/{name}/{index}"
                child_run = replace(run, execution=child)
                child_context = {
                    "Execution": {"Name": child, "Id": f"{run.machine_id}/{name}:{child}", "Input": child_input}
                }
            trace += self._run_states(child_run, processor, child_input, child_context)[0]
        return trace

    def _item_reader(
        self, run: _Run, name: str, reader: Mapping[str, Any], effective: Any, context: Mapping[str, Any]
    ) -> Invocation:
        """The read of a Map's item list: the bucket as target, the key and reader configuration as payload."""
        label = f"{run.name}.{name}"
        resource = reader.get("Resource")
        config = reader.get("ReaderConfig") or {}
        if resource != S3_GET_OBJECT or config.get("InputType") != "JSON":
            raise TraceError(f"{label}: ItemReader {resource} ({config.get('InputType')}) is not interpreted")
        parameters = _evaluate(_substitute(reader.get("Parameters") or {}, run.substitutions), effective, context)
        if not isinstance(parameters, dict) or "Bucket" not in parameters:
            raise TraceError(f"{label}: ItemReader names no Bucket")
        bucket = parameters.pop("Bucket")
        return Invocation(
            run.machine_id, name, resource, self.physical(bucket), self.physical({**parameters, "ReaderConfig": config})
        )

    def _task(
        self, machine: str, state: str, integration: str, payload: Any, execution: str, depth: int
    ) -> list[Invocation]:
        parameters = dict(payload) if isinstance(payload, dict) else {}
        if integration.endswith(":lambda:invoke"):
            function = parameters.pop("FunctionName", None)
            target = self.function_identity(_logical_id(function))
            return [Invocation(machine, state, integration, target, self.physical(parameters.get("Payload")))]
        if ":states:startExecution" in integration:
            arn = parameters.get("StateMachineArn")
            target_id = self.machine_named(_machine_name_from_arn(arn))
            nested = self.start_execution(target_id, parameters.get("Input"), f"{execution}/{state}", depth + 1)
            return [
                Invocation(machine, state, integration, {"stateMachine": target_id}, parameters.get("Input")),
                *nested,
            ]
        if ":glue:" in integration:
            job = parameters.pop("JobName", None)
            return [
                Invocation(machine, state, integration, self.physical(job), self.physical(parameters.get("Arguments")))
            ]
        raise TraceError(f"{machine}.{state}: integration {integration} is not interpreted")

    # ---- events -----------------------------------------------------------------------------
    def deliver_event(self, event: Mapping[str, Any]) -> list[Invocation]:
        """Every target of every enabled rule whose pattern matches ``event``, in rule order."""
        trace: list[Invocation] = []
        for stack in sorted(self.resolver.stacks.values(), key=lambda s: s.name):
            for logical_id, rule in sorted(stack.of_type("AWS::Events::Rule")):
                props = rule.get("Properties", {})
                pattern = props.get("EventPattern")
                if props.get("State") != "ENABLED" or not isinstance(pattern, dict) or not _matches(pattern, event):
                    continue
                for target in props.get("Targets", []):
                    trace += self._deliver(stack, logical_id, target, event)
        return trace

    def scheduled_runs(self, rule_id: str, time: str) -> list[list[Invocation]]:
        """What one firing of a schedule rule starts: one trace per target."""
        stack, rule = self.resource(rule_id)
        event = {"source": "aws.events", "detail-type": "Scheduled Event", "time": time, "detail": {}}
        return [self._deliver(stack, rule_id, t, event) for t in rule.get("Properties", {}).get("Targets", [])]

    def _deliver(
        self, stack: Stack, rule_id: str, target: Mapping[str, Any], event: Mapping[str, Any]
    ) -> list[Invocation]:
        destination = self.resolver.canonical(stack, target.get("Arn"))
        transformer = target.get("InputTransformer")
        payload = _transform(transformer, event) if isinstance(transformer, dict) else event
        logical_id = _logical_id(destination)
        _, resource = self.resource(logical_id)
        if resource.get("Type") == "AWS::StepFunctions::StateMachine":
            return self.start_execution(logical_id, payload, f"{rule_id}-{target.get('Id')}")
        if resource.get("Type") == "AWS::Lambda::Function":
            return [Invocation("(EventBridge)", rule_id, "lambda:async", self.function_identity(logical_id), payload)]
        return [Invocation("(EventBridge)", rule_id, str(resource.get("Type")), {"id": logical_id}, payload)]


# ---- configuration of counterparts ----------------------------------------------------------
@dataclass(frozen=True)
class Difference:
    """One resource configured differently in two layouts (first differing path)."""

    logical_id: str
    old_stack: Stack
    new_stack: Stack
    path: str
    old: Any
    new: Any


def configuration_differences(env: Environment, old_layout: str, new_layout: str) -> list[Difference]:
    """Resources both layouts define, whose placement-free configurations differ.

    Resources defined more than once, referring to a resource only one layout has, or importing an
    export nobody offers are left out: those are missing counterparts and broken imports, which
    other checks report.
    """
    old_index, new_index = env.layouts[old_layout].resource_index, env.layouts[new_layout].resource_index
    old_resolver = Resolver(env.plan_stacks(env.plan_name(old_layout)))
    new_resolver = Resolver(env.plan_stacks(env.plan_name(new_layout)))
    common = set(old_index) & set(new_index)
    found: list[Difference] = []
    for logical_id in sorted(common):
        if len(old_index[logical_id]) != 1 or len(new_index[logical_id]) != 1:
            continue
        (old_stack,), (new_stack,) = old_index[logical_id], new_index[logical_id]
        old = old_resolver.canonical(old_stack, old_stack.resources[logical_id])
        new = new_resolver.canonical(new_stack, new_stack.resources[logical_id])
        if old == new:
            continue
        if not set(referenced_ids(old)) | set(referenced_ids(new)) <= common:
            continue
        if any(unresolved_imports(old)) or any(unresolved_imports(new)):
            continue
        difference = first_difference(old, new)
        if difference is not None:
            found.append(Difference(logical_id, old_stack, new_stack, *difference))
    return found


# ---- small interpreters ---------------------------------------------------------------------
def _logical_id(canonical: Any) -> str:
    if isinstance(canonical, tuple) and canonical and canonical[0] in ("Ref", "GetAtt"):
        return str(canonical[1])
    raise TraceError(f"target {canonical!r} is not a resource of the layout")


def _machine_name_from_arn(arn: Any) -> str:
    text = arn[1] if isinstance(arn, tuple) and arn and arn[0] == "Sub" else arn
    if isinstance(text, str) and ":stateMachine:" in text:
        return text.rsplit(":stateMachine:", 1)[1]
    raise TraceError(f"state machine ARN {arn!r} names no machine")


def _substitute(node: Any, substitutions: Mapping[str, Any]) -> Any:
    if isinstance(node, dict):
        return {k: _substitute(v, substitutions) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute(v, substitutions) for v in node]
    if isinstance(node, str):
        match = _PLACEHOLDER.match(node)
        if match:
            if match.group(1) not in substitutions:
                raise TraceError(f"placeholder {node} has no substitution")
            return substitutions[match.group(1)]
    return node


def _state_output(
    label: str, state: Mapping[str, Any], raw: Any, context: Mapping[str, Any], result: Any = _NO_RESULT
) -> Any:
    """A state's output from its raw input and ``result`` (ASL ``ResultPath`` then ``OutputPath``).

    A task's or a Map's result is unknown to the walk (it does not run handlers): such a state must
    discard it (``ResultPath: null``, its raw input goes on). ``OutputPath: null`` outputs ``{}``.
    """
    result_path = state.get("ResultPath", "$")
    if result_path is None:
        combined = raw
    elif result is _NO_RESULT:
        raise TraceError(f"{label}: keeps its result in the state (ResultPath not null)")
    elif result_path == "$":
        combined = result
    else:
        raise TraceError(f"{label}: ResultPath {result_path!r} is not interpreted")
    output_path = state.get("OutputPath", "$")
    return {} if output_path is None else _path(combined, context, str(output_path))


def _path(data: Any, context: Mapping[str, Any], path: str) -> Any:
    root, rest = (context, path[2:]) if path.startswith("$$") else (data, path[1:])
    node = root
    for part in filter(None, re.split(r"\.|\[(\d+)\]", rest)):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise TraceError(f"path {path} is not present in the state")
    return node


def _evaluate(node: Any, data: Any, context: Mapping[str, Any]) -> Any:
    """Apply ASL Parameters: ``key.$`` fields take a path or intrinsic value."""
    if isinstance(node, dict):
        result: dict[str, Any] = {}
        for key, value in node.items():
            if key.endswith(".$") and isinstance(value, str):
                result[key[:-2]] = _dynamic(value, data, context)
            else:
                result[key] = _evaluate(value, data, context)
        return result
    if isinstance(node, list):
        return [_evaluate(v, data, context) for v in node]
    return node


def _dynamic(expression: str, data: Any, context: Mapping[str, Any]) -> Any:
    if expression.startswith("$"):
        return _path(data, context, expression)
    match = re.fullmatch(r"States\.StringToJson\((\$[^)]*)\)", expression)
    if match:
        text = _path(data, context, match.group(1))
        if not isinstance(text, str):
            raise TraceError(f"{expression}: {match.group(1)} is not a string")
        return json.loads(text)
    match = re.fullmatch(r"States\.Format\('((?:[^'\\]|\\.)*)'((?:,\s*\$[^,)]*)*)\)", expression)
    if match:
        values = [_path(data, context, a.strip()) for a in match.group(2).split(",") if a.strip()]
        text = match.group(1)
        for value in values:
            text = text.replace("{}", str(value), 1)
        return text
    return ("intrinsic", expression)


def _choose(state: Mapping[str, Any], data: Any, context: Mapping[str, Any]) -> str | None:
    for choice in state.get("Choices", []):
        if "IsPresent" in choice:
            try:
                _path(data, context, str(choice["Variable"]))
                present = True
            except TraceError:
                present = False
            if present == bool(choice["IsPresent"]):
                return str(choice["Next"])
        else:
            raise TraceError(f"choice {choice!r} is not interpreted")
    default = state.get("Default")
    return str(default) if default else None


def _matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    for key, wanted in pattern.items():
        value = event.get(key)
        if isinstance(wanted, dict):
            if not isinstance(value, dict) or not _matches(wanted, value):
                return False
        elif isinstance(wanted, list):
            if value not in wanted:
                return False
        elif value != wanted:
            return False
    return True


def _transform(transformer: Mapping[str, Any], event: Mapping[str, Any]) -> Any:
    values = {k: _path(event, {}, str(p)) for k, p in (transformer.get("InputPathsMap") or {}).items()}
    text = str(transformer.get("InputTemplate", ""))
    for key, value in values.items():
        text = text.replace(f"<{key}>", json.dumps(value))
    return json.loads(text)
