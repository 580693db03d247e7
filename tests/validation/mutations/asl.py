"""Mutations of a real build: State machine definitions (ASL rules)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from hypothesis import strategies as st

from ceap_templates.validation.model import Environment

from ..expected import GLUE_START_JOB_RUN_SYNC, LAMBDA_INVOKE, PERMANENT_ERROR
from .draft import (
    MACHINE,
    Draft,
    Key,
    Mutation,
    Site,
    _location,
    props_of,
    sites,
    states_of,
)

# ---- ASL ------------------------------------------------------------------------------------


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
    # Fewer attempts only: more would also break the time budget, which ASL010 owns.
    attempts = data.draw(st.sampled_from([0, 1]))
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


def budget_broken(draft: Draft, target: tuple[Site, str], data: st.DataObject) -> set[str]:
    """A stage slower than its machine allows, or a machine shorter than its stages (ASL010)."""
    site, state = target
    how = data.draw(st.sampled_from(["machine-shorter", "task-shorter-than-function"]))
    for _, props in _definitions(draft, site):
        definition = props["Definition"]
        if how == "machine-shorter":
            definition["TimeoutSeconds"] = 60  # ASL005 allows it; every machine here needs more
        else:
            definition["States"][state]["TimeoutSeconds"] = 1  # every stage function allows more than 1 s
    return {_location(draft, k) for k in draft.holders(site)}


def _tasks(kind: str | None = None) -> Callable[[Environment], list[Any]]:
    def find(env: Environment) -> list[Any]:
        return _machine_states(
            env, lambda n, s, p: s.get("Type") == "Task" and (kind is None or s.get("Resource") == kind)
        )

    return find


MUTATIONS: tuple[Mutation, ...] = (
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
    Mutation("time budget exceeded", "ASL010", _tasks(LAMBDA_INVOKE), budget_broken),
)
