"""ASL010: every state machine's worst case fits its own ``TimeoutSeconds``.

The worst case of a machine is its longest path from ``StartAt`` (Next, Choice, Default and Catch
edges). A Task attempt costs the smaller of the Task's ``TimeoutSeconds`` and its target's own
bound (Lambda ``Timeout``, Glue ``Timeout`` minutes, the nested machine's ``TimeoutSeconds``).
Each retrier adds its waits (``IntervalSeconds x BackoffRate^k``, capped by ``MaxDelaySeconds``)
and, unless every error it names is refused by AWS before any work starts
(:data:`~ceap_templates.validation.policy.REFUSED_AT_START`), one full attempt per retry.

Targets are looked up across the templates an environment deploys together (a ``${Placeholder}``
through ``DefinitionSubstitutions``, a ``Ref``/``GetAtt``, an ``Fn::ImportValue`` of a sibling's
export, or a state machine ARN by name), so the rule compares templates and always runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ceap_templates.validation.model import Build, Stack
from ceap_templates.validation.policy import (
    ASL_RETRY_DEFAULTS,
    GLUE_DEFAULT_TIMEOUT_MINUTES,
    GLUE_START_JOB_RUN_SYNC,
    LAMBDA_DEFAULT_TIMEOUT_SECONDS,
    LAMBDA_INVOKE,
    REFUSED_AT_START,
    STATES_START_EXECUTION_SYNC,
)
from ceap_templates.validation.rule import Hit, Rule, hit
from ceap_templates.validation.rules._util import props, resolve_import, target
from ceap_templates.validation.rules.asl import tasks

MACHINE = "AWS::StepFunctions::StateMachine"
#: Parameter naming each integration's target.
_TARGET_PARAMETER = {LAMBDA_INVOKE: "FunctionName", GLUE_START_JOB_RUN_SYNC: "JobName"}
_WHOLE_PLACEHOLDER = re.compile(r"^\$\{([A-Za-z0-9_]+)\}$")
_MACHINE_NAME = re.compile(r":stateMachine:([A-Za-z0-9_-]+)$")
#: Contributors named in a finding.
_TOP = 3


class Unbounded(Exception):
    """A path whose duration has no static bound (the reason is the message)."""


@dataclass(frozen=True)
class Cost:
    """Worst-case seconds of one state and how they add up (for the message)."""

    state: str
    seconds: float
    detail: str


@dataclass(frozen=True)
class Machine:
    """A state machine with the templates its targets can live in."""

    stack: Stack
    logical_id: str
    props: Mapping[str, Any]
    siblings: Mapping[str, Stack]

    @property
    def definition(self) -> Mapping[str, Any]:
        value = self.props.get("Definition")
        return value if isinstance(value, dict) else {}

    @property
    def name(self) -> str:
        return self.stack.resolve_text(self.props.get("StateMachineName")) or self.logical_id


def _positive_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


# ---- targets --------------------------------------------------------------------------------
def _machine_named(name: str, siblings: Mapping[str, Stack]) -> int | None:
    """``TimeoutSeconds`` of the sibling machine called ``name`` (``None`` when absent or unbounded)."""
    for other in siblings.values():
        for _, resource in other.of_type(MACHINE):
            if other.resolve_text(props(resource).get("StateMachineName")) == name:
                definition = props(resource).get("Definition")
                return _positive_int(definition.get("TimeoutSeconds")) if isinstance(definition, dict) else None
    return None


def target_bound(machine: Machine, state: Mapping[str, Any]) -> tuple[int | None, str]:
    """The target's own limit on one attempt, in seconds, and what it is (``None``: not known)."""
    resource = state.get("Resource")
    parameters = state.get("Parameters")
    parameters = parameters if isinstance(parameters, dict) else {}
    key = "StateMachineArn" if resource == STATES_START_EXECUTION_SYNC else _TARGET_PARAMETER.get(str(resource))
    raw = parameters.get(key) if key else None
    placeholder = _WHOLE_PLACEHOLDER.match(raw) if isinstance(raw, str) else None
    substitutions = machine.props.get("DefinitionSubstitutions")
    substitutions = substitutions if isinstance(substitutions, dict) else {}  # ASL003 reports a malformed one
    node = substitutions.get(placeholder.group(1)) if placeholder else raw
    stack, node = resolve_import(machine.stack, node, machine.siblings)
    if resource == STATES_START_EXECUTION_SYNC:
        text = node.get("Fn::Sub") if isinstance(node, dict) else node
        found = _MACHINE_NAME.search(text) if isinstance(text, str) else None
        bound = _machine_named(found.group(1), machine.siblings) if found else None
        return bound, f"machine {found.group(1) if found else '?'} TimeoutSeconds"
    logical_id = target(node)
    resource_node = stack.resources.get(logical_id) if logical_id else None
    if resource_node is None:
        return None, "target not found"
    values = props(resource_node)
    if resource == LAMBDA_INVOKE and resource_node.get("Type") == "AWS::Lambda::Function":
        timeout = values.get("Timeout", LAMBDA_DEFAULT_TIMEOUT_SECONDS)
        return _positive_int(timeout), f"function {logical_id} Timeout"
    if resource == GLUE_START_JOB_RUN_SYNC and resource_node.get("Type") == "AWS::Glue::Job":
        minutes = _positive_int(values.get("Timeout", GLUE_DEFAULT_TIMEOUT_MINUTES))
        return (minutes * 60 if minutes else None), f"job {logical_id} Timeout"
    return None, "target not found"


# ---- costs ----------------------------------------------------------------------------------
def _number(retrier: Mapping[str, Any], key: str) -> float:
    value = retrier.get(key, ASL_RETRY_DEFAULTS[key])
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else ASL_RETRY_DEFAULTS[key]


def retry_cost(retriers: Any, attempt: float) -> tuple[float, list[str]]:
    """Seconds all retriers can add after a first attempt costing ``attempt`` s, and their summary."""
    total = 0.0
    parts: list[str] = []
    for retrier in retriers if isinstance(retriers, list) else []:
        if not isinstance(retrier, dict):
            continue
        attempts = int(_number(retrier, "MaxAttempts"))
        interval, backoff = _number(retrier, "IntervalSeconds"), _number(retrier, "BackoffRate")
        cap = retrier.get("MaxDelaySeconds")
        delays = [interval * backoff**k for k in range(attempts)]
        waits = sum(min(d, cap) if isinstance(cap, int) else d for d in delays)
        errors = [str(e) for e in retrier.get("ErrorEquals") or []]
        # An error AWS raises before the work starts costs its wait only; any other one a whole attempt.
        full = attempts if any(e not in REFUSED_AT_START for e in errors) else 0
        total += waits + full * attempt
        parts.append(f"{full} retries of {attempt:g} s + {waits:g} s waits" if full else f"{waits:g} s waits")
    return total, parts


def state_cost(machine: Machine, name: str, state: Mapping[str, Any]) -> Cost:
    """Worst-case seconds of one state (the states inside a Parallel included)."""
    kind = state.get("Type")
    if kind == "Wait":
        seconds = _positive_int(state.get("Seconds"))
        if seconds is None and state.get("Seconds") != 0:
            raise Unbounded(f"Wait state {name} has no fixed Seconds")
        return Cost(name, float(seconds or 0), "wait")
    if kind == "Map":
        attempt, what = map_attempt(machine, name, state)
    elif kind == "Parallel":
        branches = [longest(machine, b)[0] for b in state.get("Branches") or [] if isinstance(b, dict)]
        attempt, what = max(branches, default=0.0), "longest branch"
    elif kind == "Task":
        own = None if "TimeoutSecondsPath" in state else _positive_int(state.get("TimeoutSeconds"))
        bound, source = target_bound(machine, state)
        candidates = [v for v in (own, bound) if v is not None]
        if not candidates:
            raise Unbounded(
                f"Task {name} has no TimeoutSeconds and its target has no known bound ({source}); "
                "the States default is 99999999 s"
            )
        attempt = float(min(candidates))
        what = "TimeoutSeconds" if own is not None and own == attempt else source
    else:
        return Cost(name, 0.0, "")
    extra, parts = retry_cost(state.get("Retry"), attempt)
    detail = f"{attempt:g} s ({what})" + "".join(f" + {p}" for p in parts)
    return Cost(name, attempt + extra, detail)


def map_attempt(machine: Machine, name: str, state: Mapping[str, Any]) -> tuple[float, str]:
    """One run of a Map: its ``MaxItems`` children in waves of ``MaxConcurrency``, each at its worst."""
    reader = state.get("ItemReader")
    config = reader.get("ReaderConfig") if isinstance(reader, dict) else None
    items = _positive_int(config.get("MaxItems")) if isinstance(config, dict) else None
    if items is None:
        raise Unbounded(f"Map state {name}: no ItemReader ReaderConfig.MaxItems, so its items have no static bound")
    concurrency = _positive_int(state.get("MaxConcurrency"))
    if concurrency is None:
        raise Unbounded(f"Map state {name}: no MaxConcurrency, so its waves have no static bound")
    processor = state.get("ItemProcessor") or state.get("Iterator")
    child, _ = longest(machine, processor if isinstance(processor, dict) else {})
    waves = -(-items // concurrency)
    return waves * child, f"{waves} waves of {concurrency} children of {child:g} s ({items} items)"


def _successors(state: Mapping[str, Any]) -> list[str]:
    found = [state.get("Next"), state.get("Default")]
    found += [c.get("Next") for c in state.get("Choices") or [] if isinstance(c, dict)]
    found += [c.get("Next") for c in state.get("Catch") or [] if isinstance(c, dict)]
    return [str(n) for n in found if isinstance(n, str)]


def longest(machine: Machine, definition: Mapping[str, Any]) -> tuple[float, list[Cost]]:
    """Seconds and states of the longest path of ``definition`` from its ``StartAt``."""
    states = definition.get("States")
    states = states if isinstance(states, dict) else {}
    memo: dict[str, tuple[float, list[Cost]]] = {}
    visiting: set[str] = set()

    def walk(name: str) -> tuple[float, list[Cost]]:
        if name in memo:
            return memo[name]
        if name in visiting:
            raise Unbounded(f"loop through state {name}: no static bound")
        state = states.get(name)
        if not isinstance(state, dict):
            return 0.0, []  # ASL001 reports a dangling Next
        visiting.add(name)
        cost = state_cost(machine, name, state)
        tails = [walk(n) for n in _successors(state)]
        visiting.discard(name)
        best = max(tails, key=lambda t: t[0], default=(0.0, []))
        memo[name] = (cost.seconds + best[0], [cost, *best[1]])
        return memo[name]

    return walk(str(definition.get("StartAt")))


# ---- the rule -------------------------------------------------------------------------------
def _machines(build: Build) -> Iterator[Machine]:
    for env in build.environments.values():
        for plan in env.plans():
            siblings = env.plan_stacks(plan)
            for stack in siblings.values():
                for logical_id, resource in stack.of_type(MACHINE):
                    yield Machine(stack, logical_id, props(resource), siblings)


def _lambda_task_shorter(machine: Machine) -> Iterator[str]:
    """Lambda Tasks that give up before their function does (it would run on, unobserved)."""
    for name, state, _ in tasks(machine.definition):
        if state.get("Resource") != LAMBDA_INVOKE:
            continue
        own = _positive_int(state.get("TimeoutSeconds"))
        bound, source = target_bound(machine, state)
        if own is not None and bound is not None and own < bound:
            yield f"state {name}: TimeoutSeconds {own} < {source} {bound}: the function runs on after the state gave up"


def check_budget(build: Build) -> Iterator[Hit]:
    for machine in _machines(build):
        limit = _positive_int(machine.definition.get("TimeoutSeconds"))
        if limit is None:
            continue  # ASL005
        for problem in _lambda_task_shorter(machine):
            yield hit(machine.stack, machine.logical_id, f"machine {machine.name}: {problem}")
        try:
            total, path = longest(machine, machine.definition)
        except Unbounded as exc:
            yield hit(machine.stack, machine.logical_id, f"machine {machine.name}: {exc}")
            continue
        if total > limit:
            top = sorted((c for c in path if c.seconds), key=lambda c: -c.seconds)[:_TOP]
            named = "; ".join(f"{c.state} {c.seconds:g} s = {c.detail}" for c in top)
            yield hit(
                machine.stack,
                machine.logical_id,
                f"machine {machine.name}: worst case {total:g} s on {' > '.join(c.state for c in path)} exceeds "
                f"TimeoutSeconds {limit}; biggest: {named}",
            )


RULES = (
    Rule(
        "ASL010",
        "every machine's worst case (longest path, retries, waits; attempts bounded by Task and target timeouts; "
        "a Map ceil(MaxItems / MaxConcurrency) waves of its child) fits its TimeoutSeconds; Lambda Tasks never "
        "time out before their function",
        "docs/validation-policy.md ASL010; https://docs.aws.amazon.com/step-functions/latest/dg/state-task.html; "
        "https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html",
        check_budget,
    ),
)
