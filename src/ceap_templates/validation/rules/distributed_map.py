"""ASL011: every Map is a bounded Distributed Map over a stage's part list, and its machine may run it.

A Map of this system runs a stage once per part (docs/design.md "Sizing"), or the first stage once
per source shard. It must read the previous stage's ``parts.json`` (or the first stage's
``sources.json``) of the same run from S3 (an inline item list would live in the
256 KB state), bound its items (``MaxItems``) and its children (``MaxConcurrency``), fail the run
when a part fails (a missing part is missing candidates), keep its children's outputs empty
(a result array of 1,000 items would pass 256 KB), catch into a Fail state, and run as a role that
starts and follows its own children and reads the part list
(https://docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

from ceap_templates.validation.model import Build, Stack
from ceap_templates.validation.policy import (
    EXECUTION_NAME,
    ITEM_READER_GET_OBJECT,
    ITEM_READER_INPUT_TYPES,
    LAMBDA_INVOKE,
    MAP_FOLLOW_ACTIONS,
    MAP_START_ACTION,
    MAX_MAP_CONCURRENCY,
    PART_SIZE_VARIABLE,
    PARTS_LIST_SUFFIX,
    RUN_LIMIT_VARIABLE,
    SOURCE_SHARDS_VARIABLE,
    SOURCES_LIST_SUFFIX,
)
from ceap_templates.validation.rule import Hit, Rule, hit
from ceap_templates.validation.rules._util import as_list, props, target, task_function
from ceap_templates.validation.rules.asl import definitions, distributed_maps, tasks
from ceap_templates.validation.rules.iam import IDENTITY, statements


def _positive_int(value: Any, limit: int | None = None) -> bool:
    ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
    return ok and (limit is None or value <= limit)


def _reader_problems(reader: Any) -> Iterator[str]:
    if not isinstance(reader, dict):
        yield "no ItemReader: the items would be an inline list in the 256 KB state; read the part list from S3"
        return
    if reader.get("Resource") != ITEM_READER_GET_OBJECT:
        yield f"ItemReader Resource is {reader.get('Resource')!r}; expected {ITEM_READER_GET_OBJECT} (the part list)"
    config = reader.get("ReaderConfig")
    config = config if isinstance(config, dict) else {}
    if config.get("InputType") not in ITEM_READER_INPUT_TYPES:
        yield f"ItemReader ReaderConfig.InputType is {config.get('InputType')!r}; allowed: " + ", ".join(
            sorted(ITEM_READER_INPUT_TYPES)
        )
    if not _positive_int(config.get("MaxItems")):
        yield f"ItemReader ReaderConfig.MaxItems is {config.get('MaxItems')!r}; bound the parts of the largest run"
    key = (reader.get("Parameters") or {}).get("Key.$") if isinstance(reader.get("Parameters"), dict) else None
    text = str(key or "")
    lists = (f"{PARTS_LIST_SUFFIX}'", f"{SOURCES_LIST_SUFFIX}'")
    if not text.startswith("States.Format(") or EXECUTION_NAME not in text or not any(s in text for s in lists):
        yield (
            f"ItemReader Key.$ is {key!r}; expected the run's part list, "
            f"States.Format('executions/{{}}/<stage>{PARTS_LIST_SUFFIX}', {EXECUTION_NAME}), "
            f"or its first stage's source shards (<stage>{SOURCES_LIST_SUFFIX})"
        )


def map_problems(state: Mapping[str, Any], siblings: Mapping[str, Any]) -> Iterator[str]:
    """What is wrong with one Map state of a sharded machine (empty: nothing)."""
    processor = state.get("ItemProcessor")
    processor = processor if isinstance(processor, dict) else {}
    mode = (processor.get("ProcessorConfig") or {}).get("Mode")
    if mode != "DISTRIBUTED":
        yield f"ItemProcessor Mode is {mode!r}; expected DISTRIBUTED (children as executions, items from S3)"
    yield from _reader_problems(state.get("ItemReader"))
    if not _positive_int(state.get("MaxConcurrency"), MAX_MAP_CONCURRENCY):
        yield f"MaxConcurrency is {state.get('MaxConcurrency')!r}; allowed: 1..{MAX_MAP_CONCURRENCY}"
    for key in ("ToleratedFailurePercentage", "ToleratedFailureCount"):
        if state.get(key, 0) != 0 or f"{key}Path" in state:
            yield f"{key} is {state.get(key)!r}: a failed part would be missing candidates; allowed: 0"
    for path, child, _ in tasks(processor):
        if "OutputPath" not in child or child["OutputPath"] is not None:
            found = child.get("OutputPath", "<absent>")
            yield f"child {path}: OutputPath is {found!r}; expected null (results stay small)"
    catch_all = [
        c for c in as_list(state.get("Catch")) if isinstance(c, dict) and "States.ALL" in as_list(c.get("ErrorEquals"))
    ]
    failed = siblings.get(str(catch_all[0].get("Next"))) if catch_all else None
    if not isinstance(failed, dict) or failed.get("Type") != "Fail":
        yield "no Catch on States.ALL into a Fail state (a failed part must fail the run visibly)"


def _run_sizing(stack: Stack, machine: Mapping[str, Any], definition: Mapping[str, Any]) -> dict[str, int] | None:
    """The sizing variables of the machine's first stage (the function with ``MAX_CANDIDATES_PER_RUN``).

    ``None`` when no Lambda Task of the machine names such a function of this template (the
    legacy layout's machines call functions of other stacks; CAP001 sizes those).
    """
    substitutions = machine.get("DefinitionSubstitutions")
    substitutions = substitutions if isinstance(substitutions, dict) else {}
    for _, task, _ in tasks(definition):
        if task.get("Resource") != LAMBDA_INVOKE:
            continue
        logical_id = target(task_function(task, substitutions))
        environment = props(stack.resources.get(logical_id or "", {})).get("Environment")
        variables = environment.get("Variables") if isinstance(environment, dict) else None
        if not isinstance(variables, dict) or RUN_LIMIT_VARIABLE not in variables:
            continue
        values = {k: variables.get(k) for k in (RUN_LIMIT_VARIABLE, PART_SIZE_VARIABLE, SOURCE_SHARDS_VARIABLE)}
        if not all(str(v).isdigit() and int(str(v)) > 0 for v in values.values() if v is not None):
            return None  # CAP001 reports a malformed sizing variable
        if values[PART_SIZE_VARIABLE] is None:
            return None
        return {k: int(str(v)) for k, v in values.items() if v is not None}
    return None


def reach_problems(state: Mapping[str, Any], sizing: Mapping[str, int]) -> Iterator[str]:
    """A Map's ``MaxItems`` against the largest run its machine's first stage admits.

    The source Map reads up to ``MAX_SOURCE_SHARDS`` shards; a part Map up to
    ceil(``MAX_CANDIDATES_PER_RUN`` / ``PART_SIZE``) full parts plus one partial part per shard.
    Items past ``MaxItems`` get no child, and the manifest step then fails the run on their
    missing results: every run above that size would fail after hours of work.
    """
    reader = state.get("ItemReader")
    reader = reader if isinstance(reader, dict) else {}
    config = reader.get("ReaderConfig")
    most = config.get("MaxItems") if isinstance(config, dict) else None
    if not isinstance(most, int) or not _positive_int(most):
        return  # _reader_problems reports it
    parameters = reader.get("Parameters")
    key = str(parameters.get("Key.$", "")) if isinstance(parameters, dict) else ""
    run, part, shards = sizing[RUN_LIMIT_VARIABLE], sizing[PART_SIZE_VARIABLE], sizing.get(SOURCE_SHARDS_VARIABLE, 0)
    if f"{SOURCES_LIST_SUFFIX}'" in key:
        need, why = shards, f"{SOURCE_SHARDS_VARIABLE} {shards}"
    else:
        need = math.ceil(run / part) + shards
        why = f"ceil({RUN_LIMIT_VARIABLE} {run} / {PART_SIZE_VARIABLE} {part}) + {SOURCE_SHARDS_VARIABLE} {shards}"
    if need and most < need:
        yield (
            f"ItemReader ReaderConfig.MaxItems is {most}; the largest run has {need} items ({why}): the items "
            f"past it get no child and the manifest step fails the run; allowed: at least {need}"
        )


def _resource_texts(statement: Mapping[str, Any]) -> list[str]:
    texts = []
    for resource in as_list(statement.get("Resource")):
        value = resource.get("Fn::Sub") if isinstance(resource, dict) else resource
        value = value[0] if isinstance(value, list) and value else value
        texts.append(str(value))
    return texts


def role_problems(stack: Stack, role_id: str | None, machine_name: str) -> Iterator[str]:
    """The machine's role starts its own children, follows them and reads S3 objects."""
    granted: list[tuple[set[str], list[str]]] = [
        ({str(a) for a in as_list(s.get("Action"))}, _resource_texts(s))
        for logical_id, kind, s in statements(stack)
        if logical_id == role_id and kind == IDENTITY and s.get("Effect") == "Allow"
    ]

    def allows(actions: set[str], suffix: str) -> bool:
        covered = {a for acts, resources in granted if any(r.endswith(suffix) for r in resources) for a in acts}
        return actions <= covered

    if not allows({MAP_START_ACTION}, f":stateMachine:{machine_name}"):
        yield f"role {role_id} lacks {MAP_START_ACTION} on its own machine {machine_name} (Distributed Map children)"
    if not allows(set(MAP_FOLLOW_ACTIONS), f":execution:{machine_name}/*"):
        yield f"role {role_id} lacks {', '.join(sorted(MAP_FOLLOW_ACTIONS))} on execution:{machine_name}/*"
    if not allows({"s3:GetObject"}, "/executions/*"):
        yield f"role {role_id} lacks s3:GetObject on the bucket's executions/* (the ItemReader's part list)"


def check_distributed_maps(build: Build) -> Iterator[Hit]:
    for stack, logical_id, machine, definition in definitions(build):
        found = list(distributed_maps(definition))
        sizing = _run_sizing(stack, machine, definition) if found else None
        for path, state in found:
            siblings = _siblings_of(definition, path)
            problems = [*map_problems(state, siblings), *(reach_problems(state, sizing) if sizing else ())]
            for problem in problems:
                yield hit(stack, logical_id, f"Map {path}: {problem}")
        if found:
            name = stack.resolve_text(machine.get("StateMachineName")) or logical_id
            for problem in role_problems(stack, target(machine.get("RoleArn")), name):
                yield hit(stack, logical_id, problem)


def _siblings_of(definition: Mapping[str, Any], path: str) -> Mapping[str, Any]:
    """The states beside the state at ``path`` (``A/B``: inside A's processor or branch)."""
    scope: Mapping[str, Any] = definition
    for part in path.split("/")[:-1]:
        state = (scope.get("States") or {}).get(part) or {}
        scope = state.get("ItemProcessor") or state.get("Iterator") or {}
    states = scope.get("States")
    return states if isinstance(states, dict) else {}


RULES = (
    Rule(
        "ASL011",
        "every Map is DISTRIBUTED over parts.json (first stage: sources.json) in S3 with MaxItems and "
        "MaxConcurrency, tolerates no failed part, empties child output, catches into a Fail state; its role "
        "starts, follows and feeds its children",
        "docs/design.md Sizing; https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html; "
        "https://docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html",
        check_distributed_maps,
        per_template=True,
    ),
)
