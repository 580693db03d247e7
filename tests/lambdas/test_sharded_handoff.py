"""Issue 16 items 1 and 3 on the handlers: the sharded hand-off of standard workflows and the express cap.

Expected keys and messages are literals from issue 16 and the contract in lambdas/README.md
("Sharded hand-off of standard workflows"), never computed by the code under test.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ceap_handlers.contract import parts
from ceap_handlers.errors import PermanentStageError
from ceap_handlers.handlers import etl, filter, reactive, score, store

from . import testkit
from .conftest import FakeLambdaContext, LocalAws
from .testkit import first_payload, payload, raw_row

MAPPED_STAGES = [("Filter", "ETL", filter), ("Score", "Filter", score), ("Store", "Score", store)]


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """One instant for both paths, so createdAt and the scores agree."""
    for module in (etl, filter, score):
        monkeypatch.setattr(module, "utcnow", lambda: testkit.NOW)


def clear_candidates(local: LocalAws) -> None:
    for item in local.candidate_items():
        local.ddb.delete_item(TableName=testkit.CANDIDATES_TABLE, Key={"PK": item["PK"], "SK": item["SK"]})


def run_single(local: LocalAws, ctx: FakeLambdaContext, rows: list[dict[str, Any]], execution: str) -> None:
    etl.handler(first_payload(rows, execution), ctx)
    for current, previous, module in MAPPED_STAGES:
        module.handler(payload(current, previous, execution), ctx)


def run_sharded(local: LocalAws, ctx: FakeLambdaContext, rows: list[dict[str, Any]], execution: str) -> list[int]:
    """ETL writes parts; each mapped stage runs one child per parts.json item, then the manifest step.

    As the batch state machine does: the children's output is discarded and the manifest step
    collects their results from S3 (``collectParts``). Same execution id as the single path: it is
    part of the stored item.
    """
    etl.handler({**first_payload(rows, execution), "output": "parts"}, ctx)
    counts = []
    for current, previous, module in MAPPED_STAGES:
        items = local.get_json(f"executions/{execution}/{previous}/parts.json")
        counts.append(len(items))
        for item in items:
            module.handler({**payload(current, previous, execution), "part": item}, ctx)
        module.handler({**payload(current, previous, execution), "collectParts": True}, ctx)
    return counts


def rows_of(n: int) -> list[dict[str, Any]]:
    return [raw_row(f"C{i}", f"B{i}", total=5.0 + 7 * (i % 4), channels={"email": i % 3 != 0}) for i in range(n)]


def test_sharded_run_writes_parts_manifest_and_item_list(
    local_aws: LocalAws, lambda_context: FakeLambdaContext, frozen_clock: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PART_SIZE", "2")
    etl.handler({**first_payload(rows_of(5), "x"), "output": "parts"}, lambda_context)
    # Literals: lambdas/README.md contract (parts/part-NNNNN.jsonl, output.json manifest, parts.json).
    assert local_aws.object_keys("executions/x/ETL/") == [
        "executions/x/ETL/output.json",
        "executions/x/ETL/parts.json",
        "executions/x/ETL/parts/part-00000.jsonl",
        "executions/x/ETL/parts/part-00001.jsonl",
        "executions/x/ETL/parts/part-00002.jsonl",
    ]
    manifest = local_aws.get_json("executions/x/ETL/output.json")
    assert manifest["parts"] == [
        {"key": "executions/x/ETL/parts/part-00000.jsonl", "count": 2},
        {"key": "executions/x/ETL/parts/part-00001.jsonl", "count": 2},
        {"key": "executions/x/ETL/parts/part-00002.jsonl", "count": 1},
    ]
    assert (manifest["count"], manifest["programId"], manifest["marketplace"]) == (5, "retail", "US")
    assert "candidates" not in manifest
    assert local_aws.get_json("executions/x/ETL/parts.json")[2] == {
        "key": "executions/x/ETL/parts/part-00002.jsonl",
        "count": 1,
        "index": 2,
    }
    body = local_aws.s3.get_object(Bucket=testkit.BUCKET, Key="executions/x/ETL/parts/part-00001.jsonl")["Body"]
    lines = body.read().decode().splitlines()
    assert [json.loads(line)["customerId"] for line in lines] == ["C2", "C3"]

    item = local_aws.get_json("executions/x/ETL/parts.json")[1]
    result = filter.handler({**payload("Filter", "ETL", "x"), "part": item}, lambda_context)
    # rows_of: C2 has no email channel (2 % 3 != 0 is true -> email), C3 has none (3 % 3 == 0).
    assert result["key"] == "executions/x/Filter/parts/part-00001.jsonl"
    assert result["index"] == 1
    assert result["metrics"]["inputCount"] == 2
    assert not local_aws.object_keys("executions/x/Filter/output.json")  # only the manifest step writes it


def test_rejected_rows_go_to_side_parts_not_into_the_manifest_header(
    local_aws: LocalAws, lambda_context: FakeLambdaContext, frozen_clock: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every Score child reads Filter's manifest: rejected rows there made its memory grow with the run."""
    monkeypatch.setenv("PART_SIZE", "3")
    etl.handler({**first_payload(rows_of(6), "r"), "output": "parts"}, lambda_context)
    for item in local_aws.get_json("executions/r/ETL/parts.json"):
        filter.handler({**payload("Filter", "ETL", "r"), "part": item}, lambda_context)
    filter.handler({**payload("Filter", "ETL", "r"), "collectParts": True}, lambda_context)
    manifest = local_aws.get_json("executions/r/Filter/output.json")
    assert "rejectedCandidates" not in manifest
    # rows_of against the retail program of testkit (requiredChannels email, then minOrderValue 10):
    # C0 and C3 have no e-mail channel (i % 3 == 0); C4's total is 5 + 7 * (4 % 4) = 5 < 10.
    assert manifest["metrics"]["rejectionReasons"] == {"CHANNEL_INELIGIBLE": 2, "ORDER_VALUE_LOW": 1}
    assert manifest["parts"][0]["sideOutputs"] == {
        "rejectedCandidates": {"key": "executions/r/Filter/rejectedCandidates/part-00000.jsonl", "count": 1}
    }
    body = local_aws.s3.get_object(Bucket=testkit.BUCKET, Key="executions/r/Filter/rejectedCandidates/part-00001.jsonl")
    rejected = [json.loads(line) for line in body["Body"].read().decode().splitlines()]
    assert [(r["customerId"], r["reasonCode"]) for r in rejected] == [
        ("C3", "CHANNEL_INELIGIBLE"),
        ("C4", "ORDER_VALUE_LOW"),
    ]


def test_sharded_path_stores_what_the_single_path_stores_example(
    local_aws: LocalAws, lambda_context: FakeLambdaContext, frozen_clock: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PART_SIZE", "3")
    rows = rows_of(14)
    run_single(local_aws, lambda_context, rows, "exec-1")
    single = local_aws.candidate_items()
    single_summary = reactive.handler(payload("Reactive", "Store", "exec-1"), lambda_context)
    single_output = local_aws.get_json("executions/exec-1/Reactive/output.json")
    clear_candidates(local_aws)
    counts = run_sharded(local_aws, lambda_context, rows, "exec-1")
    assert counts[0] == 5  # ETL: 14 candidates in parts of 3
    assert min(counts) >= 3
    assert sorted(local_aws.candidate_items(), key=str) == sorted(single, key=str)
    assert single  # the example stores something
    # The Reactive summary reads the manifests' merged metrics: the same totals as the single path.
    assert reactive.handler(payload("Reactive", "Store", "exec-1"), lambda_context) == single_summary
    assert local_aws.get_json("executions/exec-1/Reactive/output.json") == single_output


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    totals=st.lists(st.sampled_from([None, 1.0, 9.99, 10.0, 25.0, 300.0]), min_size=6, max_size=14),
    channels=st.lists(st.sampled_from([None, {"email": True}, {"email": False}, "email,sms", ["sms"]]), min_size=14),
    size=st.integers(1, 2),
)
def test_sharded_path_stores_what_the_single_path_stores(
    local_aws: LocalAws,
    lambda_context: FakeLambdaContext,
    frozen_clock: None,
    monkeypatch: pytest.MonkeyPatch,
    totals: list[float | None],
    channels: list[Any],
    size: int,
) -> None:
    """Property (issue 16): part by part with a tiny PART_SIZE (>= 3 parts) = the single-object path."""
    monkeypatch.setenv("PART_SIZE", str(size))
    # Duplicate keys (C0/B0 twice) cross part boundaries: the later row must win on both paths.
    rows = [raw_row(f"C{i % 5}", f"B{i % 5}", total=t, channels=channels[i]) for i, t in enumerate(totals)]
    clear_candidates(local_aws)
    run_single(local_aws, lambda_context, rows, "exec-1")
    single = local_aws.candidate_items()
    clear_candidates(local_aws)
    counts = run_sharded(local_aws, lambda_context, rows, "exec-1")
    assert counts[0] >= 3
    assert sorted(local_aws.candidate_items(), key=str) == sorted(single, key=str)


def test_express_request_above_the_cap_fails_naming_the_standard_workflow(
    local_aws: LocalAws, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXPRESS_MAX_CANDIDATES", "2")
    etl.handler(first_payload(rows_of(2), "ok"), lambda_context)  # at the cap: accepted
    with pytest.raises(PermanentStageError, match=r"too large for the express \(realtime\) workflow.*standard"):
        etl.handler(first_payload(rows_of(3), "big"), lambda_context)
    assert local_aws.object_keys("executions/big/") == []  # nothing written
    local_aws.put_json("executions/big2/ETL/output.json", testkit.envelope([testkit.candidate()] * 3))
    with pytest.raises(PermanentStageError, match=r"3 candidates, EXPRESS_MAX_CANDIDATES is 2"):
        filter.handler(payload("Filter", "ETL", "big2"), lambda_context)
    assert local_aws.object_keys("executions/big2/Filter/") == []


def test_part_metrics_merge() -> None:
    # Rule (lambdas/README.md, manifest step): numbers add up, flags AND, lists concatenate, maps merge.
    merged = parts.merge_metrics(
        [
            {"inputCount": 2, "success": True, "failedCandidates": [1], "reasons": {"LOW": 1}},
            {"inputCount": 3, "success": False, "failedCandidates": [2], "reasons": {"LOW": 2, "CH": 1}},
        ]
    )
    assert merged == {"inputCount": 5, "success": False, "failedCandidates": [1, 2], "reasons": {"LOW": 3, "CH": 1}}


def test_malformed_part_event_is_a_permanent_error_naming_the_field(
    local_aws: LocalAws, lambda_context: FakeLambdaContext
) -> None:
    with pytest.raises(PermanentStageError, match=r"invalid part event: part: expected \{key"):
        filter.handler({**payload("Filter", "ETL", "x"), "part": {"key": "k", "index": -1}}, lambda_context)
    with pytest.raises(PermanentStageError, match="partResults: expected a list"):
        filter.handler({**payload("Filter", "ETL", "x"), "partResults": "nope"}, lambda_context)
