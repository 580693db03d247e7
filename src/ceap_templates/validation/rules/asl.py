"""State machine definitions (docs/design.md 6): statelint, integrations, substitutions, retries, catches."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from ceap_templates.validation.model import Build, Stack
from ceap_templates.validation.policy import (
    EXECUTION_NAME,
    EXPRESS_MAX_TIMEOUT_SECONDS,
    EXPRESS_RETRY_BY_INTEGRATION,
    FIRST_STAGE_PAYLOAD_KEYS,
    GLUE_ARGUMENTS,
    GLUE_KEY_ARGUMENTS,
    GLUE_START_JOB_RUN_SYNC,
    KNOWN_INTEGRATIONS,
    LAMBDA_INVOKE,
    LAMBDA_PAYLOAD_KEYS,
    MAP_ITEM_VALUE,
    PART_ITEM_KEY,
    RETRY_BY_INTEGRATION,
    SOURCE_ITEM_KEY,
    STATELINT_GAPS,
)
from ceap_templates.validation.rule import Hit, Rule, hit

MACHINE = "AWS::StepFunctions::StateMachine"
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


def machines(build: Build) -> Iterator[tuple[Stack, str, Mapping[str, Any]]]:
    """``(stack, logical id, properties)`` of every state machine."""
    for stack in build.stacks():
        for logical_id, resource in stack.of_type(MACHINE):
            yield stack, logical_id, resource.get("Properties", {})


def definitions(build: Build) -> Iterator[tuple[Stack, str, Mapping[str, Any], Mapping[str, Any]]]:
    """Machines with an object ``Definition`` (ASL004 reports the others)."""
    for stack, logical_id, props in machines(build):
        definition = props.get("Definition")
        if isinstance(definition, dict):
            yield stack, logical_id, props, definition


def states(
    definition: Mapping[str, Any], prefix: str = ""
) -> Iterator[tuple[str, Mapping[str, Any], Mapping[str, Any]]]:
    """``(path, state, sibling states)`` including Parallel branches and Map processors."""
    siblings = definition.get("States", {})
    if not isinstance(siblings, dict):
        return
    for name, state in siblings.items():
        if not isinstance(state, dict):
            continue
        path = f"{prefix}{name}"
        yield path, state, siblings
        for branch in state.get("Branches", []) or []:
            if isinstance(branch, dict):
                yield from states(branch, f"{path}/")
        for key in ("Iterator", "ItemProcessor"):
            if isinstance(state.get(key), dict):
                yield from states(state[key], f"{path}/")


def tasks(definition: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any], Mapping[str, Any]]]:
    for path, state, siblings in states(definition):
        if state.get("Type") == "Task":
            yield path, state, siblings


# ---- ASL001 ---------------------------------------------------------------------------------
@lru_cache(maxsize=512)
def statelint_problems(definition_json: str) -> tuple[str, ...]:
    """statelint on one definition (URI and FLOAT checks off: placeholders, integer backoff).

    Keyed by the definition's JSON text: environments share most definitions, so each distinct
    one is linted once per process.
    """
    from statelint.config import Config
    from statelint.linter import Linter
    from statelint.problem.problem_type import ProblemType

    return tuple(Linter.validate(json.loads(definition_json), Config({ProblemType.URI, ProblemType.FLOAT})))


def check_statelint(build: Build) -> Iterator[Hit]:
    for stack, logical_id, _, definition in definitions(build):
        for problem in statelint_problems(json.dumps(definition, sort_keys=True)):
            # statelint 3.1 predates fields AWS added since; ASL011 checks those values itself.
            if not any(re.search(gap, problem) for gap in STATELINT_GAPS):
                yield hit(stack, logical_id, f"statelint: {problem}")


# ---- ASL002 ---------------------------------------------------------------------------------
def check_integrations(build: Build) -> Iterator[Hit]:
    allowed = ", ".join(sorted(KNOWN_INTEGRATIONS))
    for stack, logical_id, _, definition in definitions(build):
        for path, state, _ in tasks(definition):
            resource = state.get("Resource")
            if resource not in KNOWN_INTEGRATIONS:
                yield hit(
                    stack,
                    logical_id,
                    f"state {path}: Resource {resource!r} is not a known integration; allowed: {allowed}",
                )


# ---- ASL003 ---------------------------------------------------------------------------------
def placeholders(node: Any) -> set[str]:
    """Every ``${Key}`` in a definition (each needs a ``DefinitionSubstitutions`` key)."""
    if isinstance(node, dict):
        return {p for value in node.values() for p in placeholders(value)}
    if isinstance(node, list):
        return {p for value in node for p in placeholders(value)}
    return set(_PLACEHOLDER.findall(node)) if isinstance(node, str) else set()


def check_substitutions(build: Build) -> Iterator[Hit]:
    for stack, logical_id, props, definition in definitions(build):
        used = placeholders(definition)
        given = set(props.get("DefinitionSubstitutions") or {})
        if used - given:
            yield hit(stack, logical_id, f"placeholders without a substitution: {', '.join(sorted(used - given))}")
        if given - used:
            yield hit(stack, logical_id, f"substitutions no placeholder uses: {', '.join(sorted(given - used))}")


# ---- ASL004 ---------------------------------------------------------------------------------
def check_definition_object(build: Build) -> Iterator[Hit]:
    for stack, logical_id, props in machines(build):
        others = sorted(k for k in ("DefinitionString", "DefinitionS3Location") if k in props)
        if others:
            yield hit(
                stack, logical_id, f"uses {', '.join(others)}; emit a Definition object (cfn-lint validates only that)"
            )
        elif not isinstance(props.get("Definition"), dict):
            yield hit(stack, logical_id, "has no Definition object")


# ---- ASL005 ---------------------------------------------------------------------------------
def check_timeouts_and_express(build: Build) -> Iterator[Hit]:
    for stack, logical_id, props, definition in definitions(build):
        timeout = definition.get("TimeoutSeconds")
        if not isinstance(timeout, int) or isinstance(timeout, bool) or timeout <= 0:
            yield hit(stack, logical_id, f"TimeoutSeconds is {timeout!r}; every machine needs a positive timeout")
        if props.get("StateMachineType") != "EXPRESS":
            continue
        if isinstance(timeout, int) and timeout > EXPRESS_MAX_TIMEOUT_SECONDS:
            yield hit(
                stack, logical_id, f"EXPRESS machine with TimeoutSeconds {timeout} > {EXPRESS_MAX_TIMEOUT_SECONDS}"
            )
        for path, state, _ in tasks(definition):
            resource = str(state.get("Resource", ""))
            if ".sync" in resource or ".waitForTaskToken" in resource:
                yield hit(stack, logical_id, f"state {path}: EXPRESS machines cannot run {resource}")


# ---- ASL006 ---------------------------------------------------------------------------------
def check_retries(build: Build) -> Iterator[Hit]:
    for stack, logical_id, props, definition in definitions(build):
        express = props.get("StateMachineType") == "EXPRESS"
        for path, state, _ in tasks(definition):
            resource = str(state.get("Resource"))
            policy = (EXPRESS_RETRY_BY_INTEGRATION.get(resource) if express else None) or RETRY_BY_INTEGRATION.get(
                resource
            )
            if policy is None:
                continue  # ASL002
            expected = [policy.to_asl()]
            if state.get("Retry") != expected:
                yield hit(stack, logical_id, f"state {path}: Retry is {state.get('Retry')!r}; expected {expected!r}")


# ---- ASL007 ---------------------------------------------------------------------------------
def check_catches(build: Build) -> Iterator[Hit]:
    for stack, logical_id, _, definition in definitions(build):
        for path, state, siblings in tasks(definition):
            catchers = [c for c in state.get("Catch", []) or [] if isinstance(c, dict)]
            catch_all = [c for c in catchers if "States.ALL" in (c.get("ErrorEquals") or [])]
            if not catch_all:
                yield hit(
                    stack,
                    logical_id,
                    f"state {path}: no Catch on States.ALL (a failed stage must fail the execution visibly)",
                )
                continue
            target = siblings.get(str(catch_all[0].get("Next")))
            if not isinstance(target, dict) or target.get("Type") != "Fail":
                yield hit(
                    stack,
                    logical_id,
                    f"state {path}: Catch on States.ALL goes to {catch_all[0].get('Next')!r}, not a Fail state",
                )
            elif "Error" not in target or not ({"Cause", "CausePath"} & set(target)):
                yield hit(
                    stack,
                    logical_id,
                    f"state {path}: Fail state {catch_all[0].get('Next')!r} records no Error and Cause",
                )


# ---- ASL008 ---------------------------------------------------------------------------------
def check_result_path(build: Build) -> Iterator[Hit]:
    for stack, logical_id, _, definition in definitions(build):
        for path, state, _ in tasks(definition):
            if "ResultPath" not in state or state["ResultPath"] is not None:
                yield hit(
                    stack,
                    logical_id,
                    f"state {path}: ResultPath is {state.get('ResultPath', '<absent>')!r}; tasks discard results "
                    "(null), stages hand data over in S3",
                )


# ---- ASL009 ---------------------------------------------------------------------------------
def _context_problems(state: Mapping[str, Any]) -> Iterator[str]:
    params = state.get("Parameters") or {}
    if state.get("Resource") == LAMBDA_INVOKE:
        payload = params.get("Payload")
        if not isinstance(payload, dict):
            yield "Lambda task without an execution-context Payload"
            return
        required = FIRST_STAGE_PAYLOAD_KEYS if payload.get("previousStage") is None else LAMBDA_PAYLOAD_KEYS
        missing = required - set(payload)
        if missing:
            yield f"Payload lacks {', '.join(sorted(missing))}"
        if payload.get("executionId.$") != EXECUTION_NAME:
            given = payload.get("executionId.$")
            yield f"Payload executionId.$ is {given!r}; expected {EXECUTION_NAME!r} (context object)"
    elif state.get("Resource") == GLUE_START_JOB_RUN_SYNC:
        arguments = params.get("Arguments")
        if not isinstance(arguments, dict):
            yield "Glue task without Arguments"
            return
        missing = GLUE_ARGUMENTS - set(arguments)
        if missing:
            yield f"Arguments lack {', '.join(sorted(missing))}"
        if arguments.get("--execution-id.$") != EXECUTION_NAME:
            yield f"--execution-id.$ is {arguments.get('--execution-id.$')!r}; expected {EXECUTION_NAME!r}"
        for key in GLUE_KEY_ARGUMENTS:
            value = str(arguments.get(key, ""))
            if not value.startswith("States.Format(") or EXECUTION_NAME not in value:
                yield f"{key} is {value!r}; build it with States.Format from {EXECUTION_NAME}"


def distributed_maps(definition: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """``(path, state)`` of every Map state (the ones inside Parallel branches included)."""
    for path, state, _ in states(definition):
        if state.get("Type") == "Map":
            yield path, state


def _child_context_problems(state: Mapping[str, Any]) -> Iterator[str]:
    """A Map's ItemSelector builds its children's payload: the parent's context plus the part."""
    selector = state.get("ItemSelector")
    if not isinstance(selector, dict):
        yield "Map without an ItemSelector: children would get no execution context"
        return
    # The first stage's Map (previousStage null) runs once per source shard with the request.
    first = "previousStage" in selector and selector["previousStage"] is None
    item_key = SOURCE_ITEM_KEY if first else PART_ITEM_KEY
    missing = ((FIRST_STAGE_PAYLOAD_KEYS if first else LAMBDA_PAYLOAD_KEYS) | {item_key}) - set(selector)
    if missing:
        yield f"ItemSelector lacks {', '.join(sorted(missing))}"
    if selector.get("executionId.$") != EXECUTION_NAME:
        found = selector.get("executionId.$")
        yield f"ItemSelector executionId.$ is {found!r}; expected {EXECUTION_NAME!r} (the parent run)"
    if selector.get(item_key) != MAP_ITEM_VALUE:
        yield f"ItemSelector {item_key} is {selector.get(item_key)!r}; expected {MAP_ITEM_VALUE!r}"


def check_stage_context(build: Build) -> Iterator[Hit]:
    for stack, logical_id, _, definition in definitions(build):
        children: set[str] = set()
        for path, state in distributed_maps(definition):
            for problem in _child_context_problems(state):
                yield hit(stack, logical_id, f"state {path}: {problem}")
            processor = state.get("ItemProcessor")
            for child_path, child, _ in tasks(processor if isinstance(processor, dict) else {}):
                children.add(f"{path}/{child_path}")
                payload = (child.get("Parameters") or {}).get("Payload.$")
                if child.get("Resource") == LAMBDA_INVOKE and payload != "$":
                    yield hit(
                        stack,
                        logical_id,
                        f"state {path}/{child_path}: Payload.$ is {payload!r}; a Map child passes its item as "
                        "built by the ItemSelector ('$'): its own $$.Execution.Name is the child's, not the run's",
                    )
        for path, state, _ in tasks(definition):
            if path in children:
                continue
            for problem in _context_problems(state):
                yield hit(stack, logical_id, f"state {path}: {problem}")


RULES = (
    Rule(
        "ASL001",
        "statelint accepts every state machine definition (structure, Next targets, reachability, field names)",
        "docs/tools.md statelint 3.1; https://github.com/awslabs/statelint",
        check_statelint,
        per_template=True,
    ),
    Rule(
        "ASL002",
        "every Task Resource is a known service integration (policy.KNOWN_INTEGRATIONS)",
        "docs/design.md 12; https://docs.aws.amazon.com/step-functions/latest/dg/integrate-services.html",
        check_integrations,
        per_template=True,
    ),
    Rule(
        "ASL003",
        "DefinitionSubstitutions keys equal the definition's ${Placeholder}s (a ${...} without a key stays a literal)",
        "docs/design.md 6; "
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-stepfunctions-statemachine.html",
        check_substitutions,
        per_template=True,
    ),
    Rule(
        "ASL004",
        "state machines are emitted as a Definition object, never DefinitionString/DefinitionS3Location",
        "docs/design.md 6; docs/tools.md cfn-lint (E3601 skips Fn::Sub strings)",
        check_definition_object,
        per_template=True,
    ),
    Rule(
        "ASL005",
        "every machine has TimeoutSeconds; EXPRESS machines time out within 300 s and use no .sync/.waitForTaskToken",
        "docs/design.md 6; seed 002 Property 12; "
        "https://docs.aws.amazon.com/step-functions/latest/dg/choosing-workflow-type.html",
        check_timeouts_and_express,
        per_template=True,
    ),
    Rule(
        "ASL006",
        "each Task retries exactly per its integration's policy (Lambda 2x20s, in EXPRESS machines 2x1s; "
        "Glue 2x300s; backoff 2.0; permanent errors never)",
        "seed 002 Properties 16 and 24; policy.LAMBDA_RETRY/GLUE_RETRY/STATES_RETRY/EXPRESS_LAMBDA_RETRY",
        check_retries,
        per_template=True,
    ),
    Rule(
        "ASL007",
        "each Task catches States.ALL into a Fail state that records Error and Cause",
        "docs/design.md 6; seed 002 Properties 29 and 30",
        check_catches,
        per_template=True,
    ),
    Rule(
        "ASL008",
        "each Task discards its result (ResultPath null): stages hand data over in S3",
        "docs/design.md 6; seed 002 Property 17",
        check_result_path,
        per_template=True,
    ),
    Rule(
        "ASL009",
        "Lambda tasks pass the execution context ($$.Execution.Name); Glue tasks pass the 7 arguments, keys built "
        "with States.Format from $$.Execution.Name",
        "docs/design.md 6; seed 002 Req. 2.1 and Property 22; docs/legacy-system.md defects",
        check_stage_context,
        per_template=True,
    ),
)
