"""Issue 16, 10M per run: the first stage fans out over its source (plan step, one child per shard, manifest).

Contract: lambdas/README.md "Sharded hand-off" (source shards). The literals below are worked by
hand from that contract: a range owns the lines that start inside it, shard 0 maps the inline
records, the manifest numbers the shards' parts in shard order.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ceap_handlers import aws as ceap_aws
from ceap_handlers.contract.sources import SourceObject, parse_shard, plan_shards
from ceap_handlers.errors import PermanentStageError
from ceap_handlers.handlers import etl

from . import testkit
from .conftest import FakeLambdaContext, LocalAws, put_program
from .testkit import BUCKET, payload, raw_row

PREFIX = "sources/retail/"


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(etl, "utcnow", lambda: testkit.NOW)


@pytest.fixture
def s3_source(local_aws: LocalAws) -> LocalAws:
    """The retail program reading JSON Lines under sources/retail/ besides its inline records."""
    connectors = [
        testkit.program_config()["dataConnectors"][0],
        {
            "connectorId": "lake",
            "connectorType": "s3_jsonl",
            "sourceConfig": {"prefix": PREFIX, "fieldMappings": testkit.INLINE_MAPPINGS},
        },
    ]
    put_program(local_aws.program_table, testkit.program_config(dataConnectors=connectors))
    return local_aws


def put_objects(local: LocalAws, bodies: list[bytes]) -> None:
    for n, body in enumerate(bodies):
        local.s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}{n:04d}.jsonl", Body=body)


def lines_of(rows: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in rows)


def fan_out(local: LocalAws, ctx: FakeLambdaContext, execution: str, request: dict[str, Any]) -> dict[str, Any]:
    """What the batch machine does: ETLPlan, one ETL child per sources.json item, ETLManifest."""
    first = payload("ETL", None, execution, initialData=request)
    etl.handler({**first, "output": "plan"}, ctx)
    for item in local.get_json(f"executions/{execution}/ETL/sources.json"):
        etl.handler({**first, "source": item}, ctx)
    return etl.handler({**first, "collectSources": True}, ctx)


# ---- the plan: byte ranges ------------------------------------------------------------------


def test_plan_cuts_objects_into_byte_ranges_in_listing_order() -> None:
    objects = [
        SourceObject(BUCKET, PREFIX, "a", 100),
        SourceObject(BUCKET, PREFIX, "b", 250),
        SourceObject(BUCKET, PREFIX, "empty", 0),
        SourceObject(BUCKET, PREFIX, "c", 30),
    ]
    shards = plan_shards(objects, 128)
    # 380 bytes in shards of 128: [a 0-100, b 0-28], [b 28-156], [b 156-250, c 0-30].
    spans = [[(r["key"], r["start"], r["end"]) for r in s["ranges"]] for s in shards]
    assert spans == [[("a", 0, 100), ("b", 0, 28)], [("b", 28, 156)], [("b", 156, 250), ("c", 0, 30)]]
    assert [(s["index"], s["bytes"], s["inline"]) for s in shards] == [(0, 128, True), (1, 128, False), (2, 124, False)]


def test_plan_of_no_object_is_one_empty_shard() -> None:
    assert plan_shards([], 64) == [{"index": 0, "bytes": 0, "inline": True, "ranges": []}]


@pytest.mark.parametrize(
    ("item", "field"),
    [
        (None, "source"),
        ({"index": -1, "ranges": []}, "source.index"),
        ({"index": 0}, "source.ranges"),
        ({"index": 0, "ranges": [{"bucket": "b", "prefix": "p", "key": "k", "start": 5, "end": 5, "size": 9}]}, "[0]"),
        ({"index": 0, "ranges": [{"bucket": "b", "prefix": "p", "start": 0, "end": 1, "size": 1}]}, "[0].key"),
    ],
)
def test_malformed_shard_item_is_a_permanent_error_naming_the_field(item: Any, field: str) -> None:
    with pytest.raises(PermanentStageError, match="invalid source event") as raised:
        parse_shard(item)
    assert field in str(raised.value)


# ---- ranged reads: every line exactly once, whatever the cut --------------------------------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lines=st.lists(st.text(alphabet='ab{}": ', min_size=0, max_size=12), min_size=0, max_size=12),
    trailing_newline=st.booleans(),
    shard_bytes=st.integers(1, 40),
)
def test_ranges_of_any_cut_read_each_line_once(
    local_aws: LocalAws, lines: list[str], trailing_newline: bool, shard_bytes: int
) -> None:
    body = "\n".join(lines).encode() + (b"\n" if trailing_newline and lines else b"")
    local_aws.s3.put_object(Bucket=BUCKET, Key="cut/object", Body=body)
    shards = plan_shards([SourceObject(BUCKET, "cut/", "cut/object", len(body))], shard_bytes)
    store = ceap_aws.S3ObjectStore()
    read = [
        line
        for shard in shards
        for r in shard["ranges"]
        for _, line in store.read_range_lines(BUCKET, r["key"], r["start"], r["end"])
    ]
    # What a reader of the whole object sees: its lines (a final newline ends the last one).
    expected = body.split(b"\n")
    if body.endswith(b"\n"):
        expected.pop()
    assert read == ([] if not body else expected)


def test_ranged_read_names_lines_by_number_from_the_start_else_by_byte(local_aws: LocalAws) -> None:
    local_aws.s3.put_object(Bucket=BUCKET, Key="k", Body=b"one\ntwo\nthree\n")
    store = ceap_aws.S3ObjectStore()
    assert list(store.read_range_lines(BUCKET, "k", 0, 5)) == [
        (f"s3://{BUCKET}/k:1", b"one"),
        (f"s3://{BUCKET}/k:2", b"two"),
    ]
    # Byte 5 is inside "two" (bytes 4-7): that line is the first range's; "three" starts at 8.
    assert list(store.read_range_lines(BUCKET, "k", 5, 14)) == [(f"s3://{BUCKET}/k@byte 8", b"three")]


# ---- the fan-out end to end through the handler ---------------------------------------------


def test_fan_out_extracts_what_one_invocation_extracts(
    s3_source: LocalAws, lambda_context: FakeLambdaContext, frozen_clock: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [raw_row(f"C{i}", f"B{i}") for i in range(12)]
    put_objects(s3_source, [lines_of(rows[:7]), b"", lines_of(rows[7:]) + b'{"customer_id": "X"}\n'])
    request = testkit.request(records=[raw_row("I1", "B90"), raw_row("I2", "B91")])
    monkeypatch.setenv("PART_SIZE", "2")
    etl.handler({**payload("ETL", None, "single", initialData=request), "output": "parts"}, lambda_context)
    single = s3_source.get_json("executions/single/ETL/output.json")

    monkeypatch.setenv("SOURCE_SHARD_BYTES", "300")  # a raw row is ~110 bytes: several shards, rows cut
    result = fan_out(s3_source, lambda_context, "fanned", request)

    shards = s3_source.get_json("executions/fanned/ETL/sources.json")
    assert len(shards) >= 3
    manifest = s3_source.get_json("executions/fanned/ETL/output.json")
    # 2 inline + 12 source rows are candidates, the X row is skipped: the metrics of one invocation.
    assert manifest["metrics"] == single["metrics"] == {"processedCount": 15, "transformedCount": 14, "errorCount": 1}
    assert result["recordsProcessed"] == manifest["count"] == 14
    assert (manifest["programId"], manifest["marketplace"]) == ("retail", "US")

    def candidates(execution: str) -> list[dict[str, Any]]:
        found = []
        for part in s3_source.get_json(f"executions/{execution}/ETL/output.json")["parts"]:
            body = s3_source.s3.get_object(Bucket=BUCKET, Key=part["key"])["Body"].read()
            found += [json.loads(line) for line in body.splitlines()]
        for c in found:
            c["metadata"].pop("workflowExecutionId")
        return found

    # The same candidates in the same order (inline first, then the objects in key order).
    assert candidates("fanned") == candidates("single")
    assert [c["customerId"] for c in candidates("fanned")][:3] == ["I1", "I2", "C0"]
    items = s3_source.get_json("executions/fanned/ETL/parts.json")
    assert [i["index"] for i in items] == list(range(len(items)))
    assert items[0]["key"] == "executions/fanned/ETL/parts/shard-00000-00000.jsonl"
    assert sum(i["count"] for i in items) == 14


def test_plan_refuses_more_shards_than_the_map_reads(
    s3_source: LocalAws, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    put_objects(s3_source, [b"x" * 100, b"y" * 100])
    monkeypatch.setenv("SOURCE_SHARD_BYTES", "64")
    monkeypatch.setenv("MAX_SOURCE_SHARDS", "3")
    first = payload("ETL", None, "big", initialData=testkit.request())
    with pytest.raises(PermanentStageError) as raised:
        etl.handler({**first, "output": "plan"}, lambda_context)
    # 200 bytes in shards of 64 are 4 shards.
    assert "200 bytes make 4 shards of at most 64 bytes" in str(raised.value)
    assert "MAX_SOURCE_SHARDS is 3" in str(raised.value)
    assert not s3_source.object_keys("executions/big/")


def test_manifest_refuses_a_run_above_max_candidates(
    s3_source: LocalAws, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [raw_row(f"C{i}", f"B{i}") for i in range(6)]
    put_objects(s3_source, [lines_of(rows[:3]), lines_of(rows[3:])])
    monkeypatch.setenv("SOURCE_SHARD_BYTES", "400")
    monkeypatch.setenv("MAX_CANDIDATES_PER_RUN", "5")  # each shard alone stays below it
    with pytest.raises(PermanentStageError, match="more than 5 candidates extracted"):
        fan_out(s3_source, lambda_context, "over", testkit.request())
    assert not s3_source.object_keys("executions/over/ETL/output.json")
    assert not s3_source.object_keys("executions/over/ETL/parts.json")


def test_plan_fails_on_an_unknown_program_before_any_child(
    s3_source: LocalAws, lambda_context: FakeLambdaContext
) -> None:
    first = payload("ETL", None, "unknown", initialData=testkit.request(programId="nope"))
    with pytest.raises(PermanentStageError, match="nope"):
        etl.handler({**first, "output": "plan"}, lambda_context)
    assert not s3_source.object_keys("executions/unknown/")
