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
