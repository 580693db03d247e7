"""CAP001: at its configured sizing every stage function fits its memory and timeout, with headroom.

A function's load follows from its environment (lambdas/README.md "Sharded hand-off"):

- ``EXPRESS_MAX_CANDIDATES``: an express stage holds and works the whole request, up to that many;
- ``PART_SIZE`` and ``MAX_CANDIDATES_PER_RUN``: the first stage of a sharded run streams the whole
  run through one invocation (time for the run) holding one part at a time (memory for the part);
  with ``SOURCE_SHARD_BYTES`` it streams one source shard, at most that many bytes of rows of at
  least ``MIN_SOURCE_ROW_BYTES`` (time for the shard);
- ``PART_SIZE`` alone: a Map child holds and works one part (its Map may be in another stack of
  the same deploy plan, reached through ``Fn::ImportValue``); a function no Map invokes is a first
  stage, and without ``MAX_CANDIDATES_PER_RUN`` its run has no bound: reported.

Memory = base RSS + candidates held x bytes per candidate; time = candidates worked x seconds per
candidate, slowed in proportion below one vCPU. The table writer's children also share the
Candidates table's write throughput, MaxConcurrency of its Map at once. The measured figures are
literals in :mod:`ceap_templates.validation.policy` with their source; the generator never sees them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

from ceap_templates.validation.model import Build, Environment, Stack
from ceap_templates.validation.policy import (
    EXPRESS_LIMIT_VARIABLE,
    LAMBDA_BASE_MB,
    LAMBDA_INVOKE,
    LAMBDA_ONE_VCPU_MB,
    MIN_SOURCE_ROW_BYTES,
    PART_SIZE_VARIABLE,
    RUN_LIMIT_VARIABLE,
    SHARD_BYTES_VARIABLE,
    SIZING_HEADROOM,
    STAGE_COST,
    TABLE_WRITER_HANDLER,
    TABLE_WRITES_PER_SECOND,
)
from ceap_templates.validation.rule import Hit, Rule, hit
from ceap_templates.validation.rules._util import props, resolve_import, target, task_function
from ceap_templates.validation.rules.asl import distributed_maps, tasks

FUNCTION = "AWS::Lambda::Function"
_MB = 1024 * 1024


def _count(variables: Mapping[str, Any], name: str) -> int | None:
    raw = variables.get(name)
    if raw is None:
        return None
    try:
        value = int(str(raw))
    except ValueError:
        return -1
    return value if value > 0 else -1


def _map_concurrency(env: Environment) -> tuple[dict[tuple[str, str], int], bool]:
    """``(stack location, function logical id)`` -> the largest MaxConcurrency of a Map invoking it,
    and whether every Map child's function was found (``False``: a machine without a parsed
    ``Definition``, or an import no stack exports, which ASL004 and REF001 report).

    A Map's child may name its function through ``Fn::ImportValue`` (the legacy layout's
    orchestration machine calls the workflow stacks' functions): the import is followed to the
    exporting stack among those deployed with the machine's (its deploy plan).
    """
    found: dict[tuple[str, str], int] = {}
    complete = True
    for plan in env.plans():
        siblings = env.plan_stacks(plan)
        for stack in siblings.values():
            for _, resource in stack.of_type("AWS::StepFunctions::StateMachine"):
                complete = complete and isinstance(props(resource).get("Definition"), dict)
            for _, _, machine, definition in definitions_of(stack):
                substitutions = machine.get("DefinitionSubstitutions")
                substitutions = substitutions if isinstance(substitutions, dict) else {}
                for _, state in distributed_maps(definition):
                    processor = state.get("ItemProcessor")
                    # Without a bound ASL011 reports the Map; its function still is a Map child.
                    concurrency = state.get("MaxConcurrency")
                    concurrency = concurrency if isinstance(concurrency, int) and concurrency > 0 else 1
                    for _, child, _ in tasks(processor if isinstance(processor, dict) else {}):
                        if child.get("Resource") != LAMBDA_INVOKE:
                            continue
                        owner, node = resolve_import(stack, task_function(child, substitutions), siblings)
                        logical_id = target(node)
                        if logical_id:
                            key = (owner.location, logical_id)
                            found[key] = max(found.get(key, 0), concurrency)
                        else:
                            complete = False
    return found, complete


def definitions_of(stack: Stack) -> Iterator[tuple[Stack, str, Mapping[str, Any], Mapping[str, Any]]]:
    for logical_id, resource in stack.of_type("AWS::StepFunctions::StateMachine"):
        machine = props(resource)
        if isinstance(machine.get("Definition"), dict):
            yield stack, logical_id, machine, machine["Definition"]


def function_problems(values: Mapping[str, Any], concurrency: int, *, mapped: bool = True) -> Iterator[str]:
    """What one function cannot do at its sizing (empty: it fits).

    ``mapped``: a Distributed Map's children invoke the function (``concurrency`` at once). A
    function sized by ``PART_SIZE`` alone that no Map invokes is a first stage with no run limit.
    """
    handler = values.get("Handler")
    environment = values.get("Environment")
    variables = environment.get("Variables") if isinstance(environment, dict) else None
    if handler not in STAGE_COST or not isinstance(variables, dict):
        return
    express = _count(variables, EXPRESS_LIMIT_VARIABLE)
    part = _count(variables, PART_SIZE_VARIABLE)
    run = _count(variables, RUN_LIMIT_VARIABLE)
    shard = _count(variables, SHARD_BYTES_VARIABLE)
    given = ((EXPRESS_LIMIT_VARIABLE, express), (PART_SIZE_VARIABLE, part), (RUN_LIMIT_VARIABLE, run))
    for name, value in (*given, (SHARD_BYTES_VARIABLE, shard)):
        if value == -1:
            yield f"{name} is {variables[name]!r}; expected an integer > 0"
            return
    if express is not None:
        held, worked, what = express, express, f"{EXPRESS_LIMIT_VARIABLE} {express}"
    elif part is not None:
        if run is None and not mapped:
            # Not a Map child, so one invocation streams the whole run: unbounded without the limit.
            yield (
                f"{PART_SIZE_VARIABLE} {part} without {RUN_LIMIT_VARIABLE}, and no Map deployed with it invokes "
                "it: one invocation streams a run of any size, no memory or timeout fits; allowed: "
                f"{RUN_LIMIT_VARIABLE} set (maxCandidatesPerRun), or the function a Distributed Map's child"
            )
            return
        held, worked = part, run or part
        what = f"{PART_SIZE_VARIABLE} {part}" + (f", {RUN_LIMIT_VARIABLE} {run}" if run else "")
        if run and shard:
            # One invocation per source shard: the rows of its bytes, never more than the run.
            worked = min(run, shard // MIN_SOURCE_ROW_BYTES)
            what += f", {SHARD_BYTES_VARIABLE} {shard} (at most {worked} rows of {MIN_SOURCE_ROW_BYTES} bytes)"
    else:
        return  # not a sized stage function (the serving Reactive, a legacy-only layout)
    memory, timeout = values.get("MemorySize", 128), values.get("Timeout", 3)
    if not isinstance(memory, int) or not isinstance(timeout, int):
        return  # cfn-lint reports a malformed MemorySize / Timeout
    per_byte, per_second = STAGE_COST[str(handler)]
    need_mb = LAMBDA_BASE_MB + held * per_byte / _MB
    need_s = worked * per_second * max(1.0, LAMBDA_ONE_VCPU_MB / memory)
    if handler == TABLE_WRITER_HANDLER:
        # Its Map's children write at once and share the table's throughput.
        need_s = max(need_s, worked * concurrency / TABLE_WRITES_PER_SECOND)
    if need_mb * SIZING_HEADROOM > memory:
        yield (
            f"at {what} it needs about {need_mb:.0f} MB; MemorySize {memory} leaves less than "
            f"x{SIZING_HEADROOM:g} headroom (allowed: at least {math.ceil(need_mb * SIZING_HEADROOM)})"
        )
    if need_s * SIZING_HEADROOM > timeout:
        yield (
            f"at {what} (Map concurrency {concurrency}) it needs about {need_s:.0f} s; Timeout {timeout} leaves "
            f"less than x{SIZING_HEADROOM:g} headroom (allowed: at least {math.ceil(need_s * SIZING_HEADROOM)})"
        )


def check_sizing(build: Build) -> Iterator[Hit]:
    for env in build.environments.values():
        concurrency, complete = _map_concurrency(env)
        for stack in env.stacks():
            for logical_id, resource in stack.of_type(FUNCTION):
                key = (stack.location, logical_id)
                # A Map child whose link is broken is taken for one: the broken link is the finding.
                mapped = key in concurrency or not complete
                problems = function_problems(props(resource), concurrency.get(key, 1), mapped=mapped)
                for problem in problems:
                    yield hit(stack, logical_id, f"function {props(resource).get('Handler')}: {problem}")


RULES = (
    Rule(
        "CAP001",
        "at its sizing (PART_SIZE, SOURCE_SHARD_BYTES, MAX_CANDIDATES_PER_RUN, EXPRESS_MAX_CANDIDATES, Map "
        "concurrency) every stage "
        "function fits MemorySize and Timeout with x1.5 headroom, from measured per-candidate bytes and seconds",
        "docs/validation-policy.md CAP001; scripts/bench/bench_parts.py; "
        "https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html; "
        "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode.html",
        check_sizing,
    ),
)
