"""ETL stage logic (pure): connectors, field mappings, row validation."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ceap_handlers.contract import (
    ContractError,
    format_instant,
    parse_program_config,
    parse_request,
    validate_candidate,
)
from ceap_handlers.stages import etl

from . import testkit


def run(records: list[Any], config: dict[str, Any] | None = None, **request: Any) -> etl.EtlResult:
    return etl.run_etl(
        parse_request(testkit.request(records=records, **request)),
        parse_program_config(config or testkit.program_config()),
        execution_id="exec-1",
        now=testkit.NOW,
        default_bucket=testkit.BUCKET,
    )


def test_etl__mapped_row__candidate_with_converted_fields() -> None:
    row = testkit.raw_row(
        "C1", "B001", total="19.90", channels={"email": "true", "sms": 0}, when="2026-02-27T10:00:00+02:00"
    )
    result = run([row])
    (cand,) = result.envelope["candidates"]
    assert cand["customerId"] == "C1"
    assert cand["subject"] == {"type": "product", "id": "B001"}  # subjectType from the mapping's default
    assert cand["attributes"]["eventDate"] == "2026-02-27T08:00:00Z"
    assert cand["attributes"]["orderValue"] == 19.9
    assert cand["attributes"]["channelEligibility"] == {"email": True, "sms": False}
    assert cand["context"] == [{"type": "marketplace", "id": "US"}, {"type": "program", "id": "retail"}]
    assert cand["metadata"]["createdAt"] == format_instant(testkit.NOW)
    assert cand["metadata"]["expiresAt"] == format_instant(testkit.NOW + timedelta(days=30))
    assert cand["metadata"]["workflowExecutionId"] == "exec-1"
    assert result.envelope["metrics"] == {"processedCount": 1, "transformedCount": 1, "errorCount": 0}


def test_etl__row_without_channels__email_only() -> None:
    (cand,) = run([testkit.raw_row("C1", "B1")]).envelope["candidates"]
    assert cand["attributes"]["channelEligibility"] == {"email": True}


def test_etl__epoch_millis_and_seconds__instants() -> None:
    seconds = run([{**testkit.raw_row("C1", "B1"), "event_time": 1767225600}]).envelope["candidates"][0]
    millis = run([{**testkit.raw_row("C1", "B1"), "event_time": 1767225600000}]).envelope["candidates"][0]
    assert seconds["attributes"]["eventDate"] == millis["attributes"]["eventDate"] == "2026-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ({"asin": "B1", "event_time": "2026-01-01"}, "missing customerId"),
        ({"customer_id": "C1", "event_time": "2026-01-01"}, "missing subjectId"),
        ({"customer_id": "C1", "asin": "B1"}, "missing eventDate"),
        ({"customer_id": "C1", "asin": "B1", "event_time": "yesterday"}, "eventDate"),
        ({"customer_id": "C1", "asin": "B1", "event_time": "2026-01-01", "order": {"total": "lots"}}, "orderValue"),
        ({"customer_id": "C#1", "asin": "B1", "event_time": "2026-01-01"}, "customerId"),
        ({"customer_id": {"id": 1}, "asin": "B1", "event_time": "2026-01-01"}, "customerId"),
        ("not an object", "row is not an object"),
    ],
)
def test_etl__bad_row__skipped_counted_and_explained(row: Any, reason: str) -> None:
    result = run([testkit.raw_row("C1", "B1"), row])
    assert len(result.envelope["candidates"]) == 1
    assert result.envelope["metrics"] == {"processedCount": 2, "transformedCount": 1, "errorCount": 1}
    assert reason in result.error_samples[0]["reason"]
    assert result.error_samples[0]["row"] == "records[1]"


good_rows = st.builds(
    testkit.raw_row,
    testkit.ids,
    testkit.ids,
    total=testkit.order_values,
    channels=st.none() | testkit.channel_flags,
    when=testkit.instants.map(format_instant),
)
bad_rows = st.one_of(
    good_rows.map(lambda r: {k: v for k, v in r.items() if k != "customer_id"}),
    good_rows.map(lambda r: {k: v for k, v in r.items() if k != "asin"}),
    good_rows.map(lambda r: {**r, "event_time": "not a date"}),
    good_rows.map(lambda r: {**r, "order": {"total": "n/a"}}),
    st.integers() | st.text(max_size=5) | st.none(),
)


@given(st.lists(st.tuples(st.booleans(), good_rows, bad_rows), max_size=30))
def test_etl__generated_rows__bad_ones_rejected_and_counts_add_up(rows: list[tuple[bool, Any, Any]]) -> None:
    """Feature: ceap-handlers, Property: ETL maps good rows and rejects bad rows."""
    records = [good if keep else bad for keep, good, bad in rows]
    expected_good = [good for keep, good, _ in rows if keep]
    result = run(records)
    metrics = result.envelope["metrics"]
    assert metrics["processedCount"] == len(records)
    assert metrics["transformedCount"] == len(expected_good) == len(result.envelope["candidates"])
    assert metrics["errorCount"] == len(records) - len(expected_good)
    for row, cand in zip(expected_good, result.envelope["candidates"], strict=True):
        validate_candidate(cand)
        assert cand["customerId"] == row["customer_id"] and cand["subject"]["id"] == row["asin"]
        total = row.get("order", {}).get("total")
        assert cand["attributes"].get("orderValue") == total


def test_etl__disabled_program__zero_candidates_with_reason() -> None:
    result = run([testkit.raw_row("C1", "B1")], testkit.program_config(enabled=False))
    assert result.envelope["candidates"] == []
    assert "disabled" in (result.skipped_reason or "")


def test_etl__marketplace_not_of_program__error_names_marketplace() -> None:
    with pytest.raises(ContractError) as raised:
        run([], marketplace="JP")
    assert raised.value.field == "marketplace"


def test_etl__inline_records_without_inline_connector__error_names_records() -> None:
    config = testkit.program_config(dataConnectors=[])
    with pytest.raises(ContractError) as raised:
        run([testkit.raw_row("C1", "B1")], config)
    assert raised.value.field == "records"


def test_etl__timing_window_days__window_derived_from_event() -> None:
    (cand,) = run(
        [testkit.raw_row("C1", "B1", when="2026-02-01")], testkit.program_config(timingWindowDays=7)
    ).envelope["candidates"]
    assert cand["attributes"]["timingWindow"] == "2026-02-01T00:00:00Z/2026-02-08T00:00:00Z"


def test_etl__s3_jsonl_connector__reads_lines_under_prefix_of_configured_bucket() -> None:
    config = testkit.program_config(
        dataConnectors=[
            {
                "connectorId": "orders",
                "connectorType": "s3_jsonl",
                "sourceConfig": {"prefix": "sources/retail/", "fieldMappings": testkit.INLINE_MAPPINGS},
            }
        ]
    )
    asked: list[tuple[str, str]] = []

    def read_lines(bucket: str, prefix: str) -> list[tuple[str, bytes]]:
        asked.append((bucket, prefix))
        return [
            ("s3://b/sources/retail/a.jsonl:1", json.dumps(testkit.raw_row("C1", "B1")).encode()),
            ("s3://b/sources/retail/a.jsonl:2", b""),
            ("s3://b/sources/retail/a.jsonl:3", b"{not json"),
        ]

    result = etl.run_etl(
        parse_request(testkit.request()),
        parse_program_config(config),
        execution_id="exec-1",
        now=testkit.NOW,
        default_bucket=testkit.BUCKET,
        read_lines=read_lines,
    )
    assert asked == [(testkit.BUCKET, "sources/retail/")]
    assert [c["metadata"]["sourceConnectorId"] for c in result.envelope["candidates"]] == ["orders"]
    assert result.envelope["metrics"] == {"processedCount": 2, "transformedCount": 1, "errorCount": 1}
    assert result.error_samples[0]["row"] == "s3://b/sources/retail/a.jsonl:3"


@pytest.mark.parametrize(
    ("value", "type_name", "expected"),
    [
        ("12", "INTEGER", 12),
        (12.0, "INTEGER", 12),
        ("1.5", "DOUBLE", 1.5),
        ("yes", "BOOLEAN", True),
        (0, "BOOLEAN", False),
        (12, "STRING", "12"),
        ("2026-01-01", "INSTANT", "2026-01-01T00:00:00Z"),
    ],
)
def test_convert__supported_types__converted(value: Any, type_name: str, expected: Any) -> None:
    assert etl.convert(value, type_name) == expected


@pytest.mark.parametrize(
    ("value", "type_name"),
    [("1.5", "INTEGER"), ("inf", "DOUBLE"), ("maybe", "BOOLEAN"), ([1], "STRING"), (True, "DOUBLE")],
)
def test_convert__unconvertible_value__row_error(value: Any, type_name: str) -> None:
    with pytest.raises(etl.RowError):
        etl.convert(value, type_name)
