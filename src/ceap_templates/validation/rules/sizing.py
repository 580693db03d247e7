"""CAP001: at its configured sizing every stage function fits its memory and timeout, with headroom.

A function's load follows from its environment (lambdas/README.md "Sharded hand-off"):

- ``EXPRESS_MAX_CANDIDATES``: an express stage holds and works the whole request, up to that many;
- ``PART_SIZE`` and ``MAX_CANDIDATES_PER_RUN``: the first stage of a sharded run streams the whole
  run through one invocation (time for the run) holding one part at a time (memory for the part);
  with ``SOURCE_SHARD_BYTES`` it streams one source shard, at most that many bytes of rows of at
  least ``MIN_SOURCE_ROW_BYTES`` (time for the shard);
- ``PART_SIZE`` alone: a Map child holds and works one part.

Memory = base RSS + candidates held x bytes per candidate; time = candidates worked x seconds per
candidate, slowed in proportion below one vCPU. The table writer's children also share the
Candidates table's write throughput, MaxConcurrency of its Map at once. The measured figures are
literals in :mod:`ceap_templates.validation.policy` with their source; the generator never sees them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

from ceap_templates.validation.model import Build, Stack
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
from ceap_templates.validation.rules._util import props, target
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


def _map_concurrency(stack: Stack) -> dict[str, int]:
    """Function logical id -> MaxConcurrency of the Map whose children invoke it (same stack)."""
    found: dict[str, int] = {}
    for _, _, machine, definition in definitions_of(stack):
        substitutions = machine.get("DefinitionSubstitutions")
        substitutions = substitutions if isinstance(substitutions, dict) else {}
        for _, state in distributed_maps(definition):
            processor = state.get("ItemProcessor")
            for _, child, _ in tasks(processor if isinstance(processor, dict) else {}):
                if child.get("Resource") != LAMBDA_INVOKE:
                    continue
                name = str((child.get("Parameters") or {}).get("FunctionName", ""))
                node = substitutions.get(name.removeprefix("${").removesuffix("}"), name)
                logical_id = target(node)
                concurrency = state.get("MaxConcurrency")
                if logical_id and isinstance(concurrency, int):
                    found[logical_id] = max(found.get(logical_id, 0), concurrency)
    return found


def definitions_of(stack: Stack) -> Iterator[tuple[Stack, str, Mapping[str, Any], Mapping[str, Any]]]:
    for logical_id, resource in stack.of_type("AWS::StepFunctions::StateMachine"):
        machine = props(resource)
        if isinstance(machine.get("Definition"), dict):
            yield stack, logical_id, machine, machine["Definition"]


def function_problems(values: Mapping[str, Any], concurrency: int) -> Iterator[str]:
    """What one function cannot do at its sizing (empty: it fits)."""
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
    for stack in build.stacks():
        concurrency = _map_concurrency(stack)
        for logical_id, resource in stack.of_type(FUNCTION):
            for problem in function_problems(props(resource), concurrency.get(logical_id, 1)):
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
        per_template=True,
    ),
)
