"""Mutations of a real build: Distributed Maps of the sharded machines (ASL011) and their time budget (ASL010).

Issue 16: the batch workflow and the batch ingestion run Filter, Score and Store once per part
under a Distributed Map. Each mutation below breaks one thing ASL011 (or, for the waves, ASL010)
guards, with values the other rules accept: a dropped ``MaxItems`` or ``MaxConcurrency`` leaves
the Map without a static bound, which ASL010 reports too, so those two live in
``tests/validation/test_distributed_map.py`` (both rules, on purpose).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from hypothesis import strategies as st

from ceap_templates.validation.model import Environment

from ..expected import MAX_MAP_CONCURRENCY
from .asl import _machine_states
from .draft import (
    ROLE,
    Draft,
    Mutation,
    Site,
    _location,
    props_of,
    sites,
    states_of,
)

MapTarget = tuple[Site, str]


def _maps(env: Environment) -> list[Any]:
    """(machine site, Map state) of every top-level Map."""
    return _machine_states(env, lambda n, s, p: s.get("Type") == "Map")


def _map_states(draft: Draft, target: MapTarget) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(Map state, its machine's States) in each holder of the machine."""
    site, name = target
    for _, resource in draft.resources(site):
        states = states_of(props_of(resource)["Definition"])
        yield states[name], states


def _at(draft: Draft, site: Site) -> set[str]:
    return {_location(draft, k) for k in draft.holders(site)}


# ---- ASL011 ---------------------------------------------------------------------------------
def inline_mode(draft: Draft, target: MapTarget, data: st.DataObject) -> set[str]:
    """An inline Map: its children are iterations inside the parent (AWS: the item list in state)."""
    for state, _ in _map_states(draft, target):
        state["ItemProcessor"]["ProcessorConfig"] = {"Mode": "INLINE"}
    return _at(draft, target[0])


def reader_off_the_part_list(draft: Draft, target: MapTarget, data: st.DataObject) -> set[str]:
    """The items come from somewhere else than the previous stage's ``parts.json`` of this run."""
    how = data.draw(st.sampled_from(["resource", "input-type", "key-from-state", "other-object"]))
    input_type = data.draw(st.sampled_from(["XML", "json", "TEXT"]))  # once: every layout alike (MIG002)
    for state, _ in _map_states(draft, target):
        reader = state["ItemReader"]
        if how == "resource":
            reader["Resource"] = "arn:aws:states:::s3:listObjectsV2"
        elif how == "input-type":
            reader["ReaderConfig"]["InputType"] = input_type
        elif how == "key-from-state":
            reader["Parameters"]["Key.$"] = "$.partsKey"  # the state input, not the run's own list
        else:
            key = reader["Parameters"]["Key.$"]
            # Either item list (a stage's parts.json, the first stage's sources.json) becomes its manifest.
            reader["Parameters"]["Key.$"] = key.replace("/parts.json", "/output.json").replace(
                "/sources.json", "/output.json"
            )
    return _at(draft, target[0])


def _maps_beside_their_first_stage(env: Environment) -> list[Any]:
    """Maps whose machine's first-stage function (the one with MAX_CANDIDATES_PER_RUN) is in the
    machine's template, in every layout that holds it: the batch workflow, the consolidated batch
    ingestion. (The legacy orchestration machine calls functions of other stacks: not checked.)"""

    def beside(key: tuple[str, str]) -> bool:
        resources = env.layouts[key[0]].stacks[key[1]].resources.values()
        return any(
            "MAX_CANDIDATES_PER_RUN" in props_of(r).get("Environment", {}).get("Variables", {})
            for r in resources
            if r.get("Type") == "AWS::Lambda::Function"
        )

    return [t for t in _maps(env) if all(beside(k) for k in Draft(env).holders(t[0]))]


def items_below_the_run(draft: Draft, target: MapTarget, data: st.DataObject) -> set[str]:
    """MaxItems short of the largest run: the batch workflow's part Maps read up to
    ceil(10,000,000 / 10,000) + 100 shards = 1,100 items, its source Map 100 shards, the batch
    ingestion's 1,000,000 / 10,000 + 100 = 200 (config/environments.yaml ``sizing``); items past
    MaxItems get no child (fewer items: ASL010 is happier)."""
    short = data.draw(st.integers(1, 99))
    for state, _ in _map_states(draft, target):
        state["ItemReader"]["ReaderConfig"]["MaxItems"] -= short
    return _at(draft, target[0])


def _maps_not_writing_the_table(env: Environment) -> list[Any]:
    """Maps other than Store's: more Store children at once would also pass the table's write
    throughput, which CAP001 reports (mutations/sizing.py)."""
    return [t for t in _maps(env) if t[1] != "Store"]


def concurrency_above_aws(draft: Draft, target: MapTarget, data: st.DataObject) -> set[str]:
    """More children at once than a Distributed Map may run (ASL010 is happier: fewer waves)."""
    value = data.draw(st.integers(MAX_MAP_CONCURRENCY + 1, 4 * MAX_MAP_CONCURRENCY))
    for state, _ in _map_states(draft, target):
        state["MaxConcurrency"] = value
    return _at(draft, target[0])


def tolerates_failed_parts(draft: Draft, target: MapTarget, data: st.DataObject) -> set[str]:
    """A failed part would be lost candidates: the Map must fail at the first one."""
    how = data.draw(st.sampled_from(["percentage", "count", "count-path"]))
    value = data.draw(st.integers(1, 100) if how == "percentage" else st.integers(1, 10))
    for state, _ in _map_states(draft, target):
        if how == "percentage":
            state["ToleratedFailurePercentage"] = value
        elif how == "count":
            state["ToleratedFailureCount"] = value
        else:
            del state["ToleratedFailureCount"]
            state["ToleratedFailureCountPath"] = "$.tolerated"
    return _at(draft, target[0])


def child_output_kept(draft: Draft, target: MapTarget, data: st.DataObject) -> set[str]:
    """A child returning its Lambda result: 1,000 of them pass the 256 KB state limit."""
    drop = data.draw(st.booleans())
    for state, _ in _map_states(draft, target):
        processor = state["ItemProcessor"]
        child = processor["States"][processor["StartAt"]]
        if drop:
            del child["OutputPath"]
        else:
            child["OutputPath"] = "$.Payload"
    return _at(draft, target[0])


def failure_not_caught(draft: Draft, target: MapTarget, data: st.DataObject) -> set[str]:
    """A failed Map without a Catch on States.ALL into a Fail state: the run would not say which stage."""
    how = data.draw(st.sampled_from(["drop", "narrow", "not-a-fail-state"]))
    for state, _ in _map_states(draft, target):
        if how == "drop":
            del state["Catch"]
            # Its Fail state stays reachable (ASL001 quiet): the manifest Task's Catch leads there too.
        elif how == "narrow":
            state["Catch"][0]["ErrorEquals"] = ["States.TaskFailed"]
        else:
            state["Catch"][0]["Next"] = state["Next"]  # the manifest Task, a state that is not a Fail
    return _at(draft, target[0])


def _map_roles(env: Environment) -> list[Any]:
    """(role site, policy, statement) of the Distributed Map grants of the role of a machine with
    Maps: start, follow, read the part list (other roles start other machines, read executions/)."""
    roles = {
        (site[0], props_of(env.layouts[key[0]].stacks[key[1]].resources[site[1]])["RoleArn"]["Fn::GetAtt"][0])
        for site, _ in _maps(env)
        for key in Draft(env).holders(site)[:1]
    }
    found = []
    for site in sites(env, ROLE):
        if site not in roles:
            continue
        key = Draft(env).holders(site)[0]
        role = env.layouts[key[0]].stacks[key[1]].resources[site[1]]
        for p, policy in enumerate(props_of(role).get("Policies", [])):
            for s, statement in enumerate(policy["PolicyDocument"]["Statement"]):
                resources = str(statement.get("Resource"))
                actions = statement.get("Action")
                actions = actions if isinstance(actions, list) else [actions]
                start = "states:StartExecution" in actions and ":stateMachine:" in resources
                follow = "states:DescribeExecution" in actions and ":execution:" in resources
                read = "s3:GetObject" in actions and "/executions/*" in resources
                if start or follow or read:
                    found.append((site, p, s))
    return sorted(found)


def map_grant_dropped(draft: Draft, target: tuple[Site, int, int], data: st.DataObject) -> set[str]:
    """The machine cannot start its children, follow them, or read the part list (AWS IAM example)."""
    site, p, s = target
    for _, role in draft.resources(site):
        del props_of(role)["Policies"][p]["PolicyDocument"]["Statement"][s]
    return _at(draft, site)


# ---- ASL010: a Map's waves ------------------------------------------------------------------
def waves_past_the_machine(draft: Draft, target: MapTarget, data: st.DataObject) -> set[str]:
    """MaxConcurrency 1 (every part in its own wave) or ten thousand times the items: each child
    costs at least 3 x 60 s + 20 s + 40 s = 240 s (Filter, the shortest stage), and every Map
    here reads at least 100 parts (issue 16: 1,000,000 / 10,000): 100 waves x 240 s = 24,000 s,
    past the batch ingestion's 14,400 s; the batch workflow's 1,100 parts x 240 s = 264,000 s, past
    its 72,000 s (config/environments.yaml)."""
    how = data.draw(st.sampled_from(["one-at-a-time", "items"]))
    for state, _ in _map_states(draft, target):
        if how == "one-at-a-time":
            state["MaxConcurrency"] = 1
        else:
            state["ItemReader"]["ReaderConfig"]["MaxItems"] *= 10_000
    return _at(draft, target[0])


MUTATIONS: tuple[Mutation, ...] = (
    Mutation("Map runs INLINE", "ASL011", _maps, inline_mode),
    Mutation("Map reads something else than the run's part list", "ASL011", _maps, reader_off_the_part_list),
    Mutation("Map concurrency above AWS's 10,000", "ASL011", _maps_not_writing_the_table, concurrency_above_aws),
    Mutation("Map tolerates failed parts", "ASL011", _maps, tolerates_failed_parts),
    Mutation(
        "Map reads fewer items than the largest run", "ASL011", _maps_beside_their_first_stage, items_below_the_run
    ),
    Mutation("Map child keeps its output", "ASL011", _maps, child_output_kept),
    Mutation("Map failure not caught into a Fail state", "ASL011", _maps, failure_not_caught),
    Mutation("machine role cannot start, follow or feed its Map children", "ASL011", _map_roles, map_grant_dropped),
    Mutation("Map waves past the machine timeout", "ASL010", _maps, waves_past_the_machine),
)
