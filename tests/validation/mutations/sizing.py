"""Mutations of a real build: stage functions too small for what they are given (CAP001).

The figures are worked by hand from the measured costs docs/validation-policy.md quotes
(scripts/bench/bench_parts.py: bytes held and seconds of work per candidate, on one vCPU), the
80 MB base, Lambda's one vCPU at 1,769 MB (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html),
the table's 4,000 writes/s (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode.html)
and x1.5 headroom. The real build gives every part 10,000 candidates (config/environments.yaml).
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from ceap_templates.validation.model import Environment

from ..expected import HANDLERS
from .distributed_map import MapTarget, _at, _map_states, _maps
from .draft import (
    FUNCTION,
    PLATFORM,
    Draft,
    Mutation,
    Site,
    props_of,
    sites,
)

#: The stages whose cost was measured (the Reactive summary works no candidates).
_SIZED_HANDLERS = {HANDLERS[s] for s in ("ETL", "Filter", "Score", "Store")}


def _variables(resource: Any) -> dict[str, Any]:
    value: dict[str, Any] = props_of(resource).get("Environment", {}).get("Variables", {})
    return value


def _functions(*, needs: str, without: str | None = None) -> Any:
    """Sites of the stage functions whose environment has ``needs`` (and not ``without``)."""

    def find(env: Environment) -> list[Site]:
        def fits(stack: Any, logical_id: str, resource: Any) -> bool:
            variables = _variables(resource)
            return (
                props_of(resource).get("Handler") in _SIZED_HANDLERS
                and needs in variables
                and (without is None or without not in variables)
            )

        return sites(env, FUNCTION, where=fits)

    return find


def _functions_of(draft: Draft, site: Site) -> list[dict[str, Any]]:
    return [props_of(resource) for _, resource in draft.resources(site)]


def memory_below_a_part(draft: Draft, site: Site, data: st.DataObject) -> set[str]:
    """128 MB, Lambda's least, for a function holding a part of 10,000 candidates. It needs
    (80 MB + 10,000 x bytes) x 1.5: ETL (4,300 B) 182 MB, Filter (5,090 B) 193 MB, Score (8,210 B)
    237 MB, Store (10,000 B) 263 MB; each more than 128."""
    for values in _functions_of(draft, site):
        values["MemorySize"] = 128
    return _at(draft, site)


def work_tenfold(draft: Draft, site: Site, data: st.DataObject) -> set[str]:
    """A Map child given parts ten times the size: 100,000 candidates need x 1.5
    Filter 848 MB of its 512, Score 1,294 of 1,024, Store 1,551 of 1,024."""
    for values in _functions_of(draft, site):
        variables = values["Environment"]["Variables"]
        variables["PART_SIZE"] = str(int(variables["PART_SIZE"]) * 10)
    return _at(draft, site)


def shards_tenfold(draft: Draft, site: Site, data: st.DataObject) -> set[str]:
    """The batch workflow's first stage streams one source shard of at most its run: shards ten
    times their size (640 MiB hold up to 20,971,520 rows of 32 bytes) give it min(10,000,000,
    20,971,520) = 10,000,000 rows, 10,000,000 / 7,000 = 1,428 s on its one vCPU, past its 600 s and
    Lambda's 900 s whatever the headroom. (The batch ingestion's run of 1,000,000 would still fit:
    143 s x 1.5 < 600. A run ten times its size alone leaves ETL one shard at a time and outgrows
    the Maps' MaxItems instead: ASL011, tests/validation/test_distributed_map.py.)"""
    for values in _functions_of(draft, site):
        variables = values["Environment"]["Variables"]
        variables["SOURCE_SHARD_BYTES"] = str(int(variables["SOURCE_SHARD_BYTES"]) * 10)
    return _at(draft, site)


def _workflow_first_stages(env: Environment) -> list[Site]:
    """First-stage functions reading source shards in a workflow stack (not the batch ingestion's)."""
    return [s for s in _functions(needs="SOURCE_SHARD_BYTES")(env) if s[0] != PLATFORM]


def timeout_below_a_part(draft: Draft, site: Site, data: st.DataObject) -> set[str]:
    """1-3 s for a function working a part of 10,000: seconds x (1,769 / MemorySize) x 1.5 are
    Filter 10,000 / 16,252 x 3.455 x 1.5 = 3.19 s, Score 10,000 / 7,923 x 1.728 x 1.5 = 3.27 s,
    Store (25 children sharing 4,000 writes/s) 10,000 x 25 / 4,000 x 1.5 = 93.8 s, ETL (the run)
    far more: each more than 3. A Timeout below its Task's TimeoutSeconds is allowed (ASL010)."""
    value = data.draw(st.integers(1, 3))
    for values in _functions_of(draft, site):
        values["Timeout"] = value
    return _at(draft, site)


def _store_maps(env: Environment) -> list[Any]:
    """The Maps of the Store stage (issue 16: the state is named after its stage)."""
    return [t for t in _maps(env) if t[1] == "Store"]


def store_concurrency_past_the_table(draft: Draft, target: MapTarget, data: st.DataObject) -> set[str]:
    """100+ Store children at once share the table's 4,000 writes/s: a part of 10,000 then takes
    10,000 x 100 / 4,000 = 250 s, x 1.5 = 375 s of the function's 120 s (fewer waves: ASL010 quiet)."""
    value = data.draw(st.integers(100, 1_000))
    for state, _ in _map_states(draft, target):
        state["MaxConcurrency"] = value
    return _at(draft, target[0])


MUTATIONS: tuple[Mutation, ...] = (
    Mutation("stage function memory below its part", "CAP001", _functions(needs="PART_SIZE"), memory_below_a_part),
    Mutation(
        "Map child given parts ten times its size",
        "CAP001",
        _functions(needs="PART_SIZE", without="MAX_CANDIDATES_PER_RUN"),
        work_tenfold,
    ),
    Mutation(
        "first stage given source shards ten times their size",
        "CAP001",
        _workflow_first_stages,
        shards_tenfold,
    ),
    Mutation("stage function timeout below its part", "CAP001", _functions(needs="PART_SIZE"), timeout_below_a_part),
    Mutation(
        "Store Map concurrency past the table's throughput", "CAP001", _store_maps, store_concurrency_past_the_table
    ),
)
