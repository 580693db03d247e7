"""The sharded hand-off contract (issue 16 items 1 and 3); expected keys are literals from the issue."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ceap_handlers.contract import parts
from ceap_handlers.errors import PermanentStageError


def test_keys_follow_the_issue_convention() -> None:
    # Literals: issue 16 contract, executions/{executionId}/{stage}/parts/part-{NNNNN}.jsonl
    assert parts.part_key("e1", "filter", 3) == "executions/e1/filter/parts/part-00003.jsonl"
    assert parts.parts_list_key("e1", "filter") == "executions/e1/filter/parts.json"
    # Literal: issue 16, a Map child's result executions/{executionId}/{stage}/results/part-{index:05d}.json.
    assert parts.part_result_key("e1", "filter", 12) == "executions/e1/filter/results/part-00012.json"


def test_max_candidates_per_run_unset_valid_and_bad() -> None:
    assert parts.max_candidates_per_run({}) is None  # unset: no limit
    assert parts.max_candidates_per_run({"MAX_CANDIDATES_PER_RUN": "10000000"}) == 10_000_000
    for bad in ("0", "-3", "1e7", "ten"):
        with pytest.raises(PermanentStageError, match="MAX_CANDIDATES_PER_RUN"):
            parts.max_candidates_per_run({"MAX_CANDIDATES_PER_RUN": bad})


@given(st.integers(0, 30), st.none() | st.integers(1, 30))
def test_limited_passes_up_to_the_limit_then_fails(total: int, limit: int | None) -> None:
    candidates = [{"n": i} for i in range(total)]
    if limit is None or total <= limit:
        assert list(parts.limited(iter(candidates), limit)) == candidates
    else:
        taken: list[dict[str, int]] = []
        with pytest.raises(PermanentStageError, match=rf"maxCandidatesPerRun\): more than {limit} candidates"):
            taken.extend(parts.limited(iter(candidates), limit))
        assert len(taken) == limit  # fails at candidate limit + 1, without reading further


def test_part_size_default_and_bad_value() -> None:
    assert parts.part_size({}) == 10000
    assert parts.part_size({"PART_SIZE": "7"}) == 7
    with pytest.raises(PermanentStageError, match="PART_SIZE"):
        parts.part_size({"PART_SIZE": "zero"})


def test_express_cap_names_the_standard_workflow() -> None:
    parts.check_express_size(5, {"EXPRESS_MAX_CANDIDATES": "5"})
    parts.check_express_size(10**9, {})
    with pytest.raises(PermanentStageError, match=r"too large.*standard \(batch\) workflow"):
        parts.check_express_size(6, {"EXPRESS_MAX_CANDIDATES": "5"})


@given(st.lists(st.integers(0, 10**6), max_size=60), st.integers(1, 7))
def test_chunks_round_trip(values: list[int], size: int) -> None:
    candidates = [{"customerId": f"c{v}", "n": v} for v in values]
    chunked = list(parts.chunks(candidates, size))
    assert all(len(c) <= size for c in chunked)
    assert len(chunked) >= 1
    decoded = [c for chunk in chunked for c in parts.decode_part(parts.encode_part(chunk))]
    assert decoded == candidates
    listed = [{"key": parts.part_key("e", "s", i), "count": len(c)} for i, c in enumerate(chunked)]
    man = parts.manifest("s", listed, {"inputCount": len(values)})
    assert man["count"] == len(values)
    assert [i["index"] for i in parts.parts_items(listed)] == list(range(len(chunked)))
