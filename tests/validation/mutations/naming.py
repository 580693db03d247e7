"""Mutations of a real build: Names (NAME rules)."""

from __future__ import annotations

from hypothesis import strategies as st

from ceap_templates.validation.legacy_system import BY_ID
from ceap_templates.validation.model import Environment

from ..expected import HANDLERS, SERVING_REACTIVE_HANDLER
from .draft import (
    FUNCTION,
    MACHINE,
    Draft,
    Mutation,
    Site,
    _location,
    props_of,
    rename_machine,
    sites,
)

# ---- NAME -----------------------------------------------------------------------------------


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
    for key, resource in holders:
        if prop == "StateMachineName":
            rename_machine(draft, key, resource, props_of(resource)[prop] + suffix)
        else:
            props_of(resource)[prop] += suffix
    return {_location(draft, k) for k, _ in holders}


def _core_functions(env: Environment) -> list[Site]:
    return sites(env, FUNCTION, where=lambda s, i, r: not s.name.startswith("CeapWorkflow-"))


#: Handler -> purpose, to give a function the explicit name ``{StackName}-{Purpose}Lambda``.
PURPOSE = {handler: stage for stage, handler in HANDLERS.items()} | {SERVING_REACTIVE_HANDLER: "Reactive"}


def dual_naming_broken(draft: Draft, site: Site, data: st.DataObject) -> set[str]:
    for (_, stack), resource in draft.resources(site):
        props = props_of(resource)
        if "FunctionName" in props:
            del props["FunctionName"]
        else:
            props["FunctionName"] = f"{stack}-{PURPOSE[props['Handler']]}Lambda"
    return {_location(draft, k) for k in draft.holders(site)}


def _unkept_machines(env: Environment) -> list[Site]:
    """Machines whose name docs/legacy-system.md does not keep (the Reactive one)."""
    return _named(env, MACHINE, "StateMachineName")


def machine_takes_legacy_name(draft: Draft, site: Site, data: st.DataObject) -> set[str]:
    """The batch-ingestion machine's deployed name (docs/legacy-system.md) on another machine, in every layout
    (so MIG002 stays quiet): a new stack beside legacy now claims a legacy name for another resource."""
    for key, resource in draft.resources(site):
        rename_machine(draft, key, resource, f"CeapBatchIngestion-{draft.env.name}")
    return {_location(draft, k) for k in draft.holders(site) if k[0] != "legacy"}


MUTATIONS: tuple[Mutation, ...] = (
    Mutation(
        "environment twice in a function name", "NAME001", lambda e: _named(e, FUNCTION, "FunctionName"), env_twice
    ),
    Mutation(
        "queue name off the pattern", "NAME001", lambda e: _named(e, "AWS::SQS::Queue", "QueueName"), queue_off_pattern
    ),
    Mutation("name over the AWS limit", "NAME002", _long_names, name_too_long),
    Mutation("names against physicalNames", "NAME003", _core_functions, dual_naming_broken),
    Mutation("a new machine claims a legacy name", "COL001", _unkept_machines, machine_takes_legacy_name),
)
