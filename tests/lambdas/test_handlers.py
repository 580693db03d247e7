"""Stage handlers against moto: the S3 convention, first stage, error classes, no partial output."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError
from hypothesis import given
from hypothesis import strategies as st

from ceap_handlers.aws import S3ObjectStore
from ceap_handlers.contract import ExecutionContext, parse_instant
from ceap_handlers.errors import PermanentStageError, TransientStageError
from ceap_handlers.handlers import etl, filter, reactive, score, store

from . import testkit
from .conftest import (
    FakeLambdaContext,
    Faulty,
    LocalAws,
    capture_events,
    client_error,
    log_records,
    put_program,
    received_events,
    use_clients,
)
from .testkit import first_payload, payload

# --- The S3 hand-off convention -----------------------------------------------------------


def test_etl__first_stage__reads_initial_data_and_writes_own_output(
    local_aws: LocalAws, lambda_context: FakeLambdaContext
) -> None:
    """Feature: infrastructure-enhancement, Property 4: First Stage Input Source."""
    result = etl.handler(first_payload(), lambda_context)
    assert result == {
        "status": "SUCCEEDED",
        "stage": "ETL",
        "recordsProcessed": 2,
        "outputKey": "executions/exec-1/ETL/output.json",
        "errorMessage": None,
    }
    assert local_aws.object_keys() == ["executions/exec-1/ETL/output.json"]
    output = local_aws.get_json("executions/exec-1/ETL/output.json")
    assert [c["customerId"] for c in output["candidates"]] == ["C1", "C2"]
    assert (output["programId"], output["marketplace"]) == ("retail", "US")


stage_names = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=16
)


@given(previous=stage_names, current=stage_names, execution=stage_names)
def test_filter__any_stage_names__reads_previous_and_writes_current_path(
    local_aws: LocalAws, lambda_context: FakeLambdaContext, previous: str, current: str, execution: str
) -> None:
    """Feature: infrastructure-enhancement, Property 2/3/10: S3 output and input path convention,
    stage reordering independence."""
    if previous == current:
        return
    local_aws.put_json(f"executions/{execution}/{previous}/output.json", testkit.envelope([testkit.candidate()]))
    result = filter.handler(payload(current, previous, execution), lambda_context)
    assert result["outputKey"] == f"executions/{execution}/{current}/output.json"
    assert local_aws.get_json(result["outputKey"])["metrics"]["inputCount"] == 1


def test_stages__etl_to_reactive__each_reads_predecessor_and_event_published(
    local_aws: LocalAws, lambda_context: FakeLambdaContext
) -> None:
    queue = capture_events(local_aws)
    etl.handler(first_payload(), lambda_context)
    filter.handler(payload("Filter", "ETL"), lambda_context)
    score.handler(payload("Score", "Filter"), lambda_context)
    store.handler(payload("Store", "Score"), lambda_context)
    summary_result = reactive.handler(payload("Reactive", "Store"), lambda_context)

    filtered = local_aws.get_json("executions/exec-1/Filter/output.json")
    assert filtered["metrics"]["rejectionReasons"] == {"ORDER_VALUE_LOW": 1}  # C2 ordered 5.0 < 10
    scored = local_aws.get_json("executions/exec-1/Score/output.json")
    assert 0 <= scored["candidates"][0]["scores"]["propensity"]["value"] <= 1
    (item,) = local_aws.candidate_items()
    assert item["PK"]["S"] == "CUSTOMER#C1#PROGRAM#retail#MARKETPLACE#US"
    assert item["SK"]["S"] == "SUBJECT#product#B1"
    summary = local_aws.get_json("executions/exec-1/Reactive/output.json")
    assert summary_result["outputKey"] == "executions/exec-1/Reactive/output.json"
    expected = {"totalProcessed": 2, "totalRejected": 1, "totalStored": 1, "totalErrors": 0, "success": True}
    assert {k: summary[k] for k in expected} == expected
    (event,) = received_events(local_aws, queue)
    assert (event["source"], event["detail-type"]) == ("ceap.workflow", "WorkflowCompleted")
    assert event["detail"] == {**expected, "programId": "retail", "marketplace": "US", "executionId": "exec-1"}


def test_store__rerun_same_execution__same_items(local_aws: LocalAws, lambda_context: FakeLambdaContext) -> None:
    local_aws.put_json(
        "executions/exec-1/Score/output.json", testkit.envelope([testkit.candidate(f"C{i}") for i in range(30)])
    )
    store.handler(payload("Store", "Score"), lambda_context)
    first = sorted(local_aws.candidate_items(), key=lambda i: i["PK"]["S"])
    store.handler(payload("Store", "Score"), lambda_context)
    assert sorted(local_aws.candidate_items(), key=lambda i: i["PK"]["S"]) == first
    assert len(first) == 30
    assert {"GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "customerId", "data", "version", "ttl"} <= set(first[0])


def test_score__second_execution__served_from_score_cache(
    local_aws: LocalAws, lambda_context: FakeLambdaContext
) -> None:
    cands = [testkit.candidate(f"C{i}") for i in range(3)]
    for execution in ("exec-1", "exec-2"):
        local_aws.put_json(f"executions/{execution}/Filter/output.json", testkit.envelope(cands))
        score.handler(payload("Score", "Filter", execution), lambda_context)
    first = local_aws.get_json("executions/exec-1/Score/output.json")
    second = local_aws.get_json("executions/exec-2/Score/output.json")
    assert (first["metrics"]["cacheHitCount"], second["metrics"]["cacheHitCount"]) == (0, 3)
    assert [c["scores"] for c in first["candidates"]] == [c["scores"] for c in second["candidates"]]
    cached = local_aws.ddb.scan(TableName=testkit.SCORE_CACHE_TABLE)["Items"]
    assert sorted(i["PK"]["S"] for i in cached) == [
        "CUSTOMER#C0#SUBJECT#B001",
        "CUSTOMER#C1#SUBJECT#B001",
        "CUSTOMER#C2#SUBJECT#B001",
    ]


def test_etl__s3_jsonl_source__rows_read_from_workflow_bucket(
    local_aws: LocalAws, lambda_context: FakeLambdaContext
) -> None:
    connector = {
        "connectorId": "orders",
        "connectorType": "s3_jsonl",
        "sourceConfig": {"prefix": "sources/retail/", "fieldMappings": testkit.INLINE_MAPPINGS},
    }
    put_program(local_aws.program_table, testkit.program_config(dataConnectors=[connector]))
    lines = "\n".join(json.dumps(testkit.raw_row(f"C{i}", f"B{i}")) for i in range(3))
    local_aws.s3.put_object(Bucket=testkit.BUCKET, Key="sources/retail/2026-01-01.jsonl", Body=lines.encode())
    local_aws.s3.put_object(Bucket=testkit.BUCKET, Key="sources/retail/more.jsonl", Body=b'{"customer_id": "X"}\n')
    etl.handler(payload("ETL", None, initialData=testkit.request()), lambda_context)
    output = local_aws.get_json("executions/exec-1/ETL/output.json")
    assert [c["customerId"] for c in output["candidates"]] == ["C0", "C1", "C2"]
    assert output["metrics"] == {"processedCount": 4, "transformedCount": 3, "errorCount": 1}


def test_etl__marketplace_override__replaces_base_attributes(
    local_aws: LocalAws, lambda_context: FakeLambdaContext
) -> None:
    put_program(local_aws.program_table, {"programId": "retail", "candidateTTLDays": 2}, marketplace="UK")
    etl.handler(first_payload(marketplace="UK"), lambda_context)
    etl.handler(first_payload(execution="exec-2"), lambda_context)

    def lifetime(execution: str) -> timedelta:
        meta = local_aws.get_json(f"executions/{execution}/ETL/output.json")["candidates"][0]["metadata"]
        return parse_instant(meta["expiresAt"], "expiresAt") - parse_instant(meta["createdAt"], "createdAt")

    assert lifetime("exec-1") == timedelta(days=2)  # UK override
    assert lifetime("exec-2") == timedelta(days=30)  # US keeps the base item


# --- Error classes ------------------------------------------------------------------------


def test_filter__previous_output_missing__permanent_error_naming_s3_path(
    local_aws: LocalAws, lambda_context: FakeLambdaContext
) -> None:
    with pytest.raises(PermanentStageError) as raised:
        filter.handler(payload("Filter", "ETL"), lambda_context)
    assert type(raised.value).__name__ == "PermanentStageError"
    assert f"s3://{testkit.BUCKET}/executions/exec-1/ETL/output.json" in str(raised.value)
    assert local_aws.object_keys() == []


def test_filter__input_not_json__permanent_error_and_no_output(
    local_aws: LocalAws, lambda_context: FakeLambdaContext
) -> None:
    local_aws.s3.put_object(Bucket=testkit.BUCKET, Key="executions/exec-1/ETL/output.json", Body=b"{truncated")
    with pytest.raises(PermanentStageError, match="not a JSON document"):
        filter.handler(payload("Filter", "ETL"), lambda_context)
    assert local_aws.object_keys() == ["executions/exec-1/ETL/output.json"]


def test_score__candidate_violates_schema__permanent_error_naming_path_and_field(
    local_aws: LocalAws, lambda_context: FakeLambdaContext
) -> None:
    bad = testkit.candidate()
    del bad["attributes"]["eventDate"]
    local_aws.put_json("executions/exec-1/Filter/output.json", testkit.envelope([testkit.candidate(), bad]))
    with pytest.raises(PermanentStageError) as raised:
        score.handler(payload("Score", "Filter"), lambda_context)
    message = str(raised.value)
    assert f"s3://{testkit.BUCKET}/executions/exec-1/Filter/output.json" in message
    assert "candidates[1].attributes.eventDate: required" in message
    assert "executions/exec-1/Score/output.json" not in local_aws.object_keys()


def test_etl__request_missing_date_range__permanent_error_naming_field(
    local_aws: LocalAws, lambda_context: FakeLambdaContext
) -> None:
    event = first_payload()
    del event["initialData"]["dateRange"]
    with pytest.raises(PermanentStageError, match=r"initialData: dateRange: required"):
        etl.handler(event, lambda_context)
    assert local_aws.object_keys() == []


@pytest.mark.parametrize(
    ("mutation", "field"),
    [
        (lambda p: p.pop("executionId"), "executionId"),
        (lambda p: p.pop("previousStage"), "previousStage"),
        (lambda p: p.update(currentStage=3), "currentStage"),
        (lambda p: p.update(workflowBucket="Not_A_Bucket"), "workflowBucket"),
    ],
)
def test_stage__malformed_payload__permanent_error_naming_field(
    local_aws: LocalAws, lambda_context: FakeLambdaContext, mutation: Any, field: str
) -> None:
    event = payload("Filter", "ETL")
    mutation(event)
    with pytest.raises(PermanentStageError, match=f"invalid stage payload: {field}"):
        filter.handler(event, lambda_context)


def test_filter__unknown_program__permanent_error_naming_program_id(
    local_aws: LocalAws, lambda_context: FakeLambdaContext
) -> None:
    local_aws.put_json("executions/exec-1/ETL/output.json", testkit.envelope([testkit.candidate()], program_id="books"))
    with pytest.raises(
        PermanentStageError, match=r"programId: program 'books' not found in dynamodb table ProgramConfig-test"
    ):
        filter.handler(payload("Filter", "ETL"), lambda_context)


def test_filter__stored_config_invalid__permanent_error_naming_attribute(
    local_aws: LocalAws, lambda_context: FakeLambdaContext
) -> None:
    put_program(local_aws.program_table, testkit.program_config(candidateTTLDays=0))
    local_aws.put_json("executions/exec-1/ETL/output.json", testkit.envelope([testkit.candidate()]))
    with pytest.raises(PermanentStageError, match=r"ProgramConfig\[PROGRAM#retail\]\.candidateTTLDays"):
        filter.handler(payload("Filter", "ETL"), lambda_context)


def test_filter__table_variable_unset__permanent_error_naming_variable(
    local_aws: LocalAws, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PROGRAM_CONFIG_TABLE")
    local_aws.put_json("executions/exec-1/ETL/output.json", testkit.envelope([testkit.candidate()]))
    with pytest.raises(PermanentStageError, match="PROGRAM_CONFIG_TABLE"):
        filter.handler(payload("Filter", "ETL"), lambda_context)


@pytest.mark.parametrize(
    ("operation", "failure", "expected"),
    [
        ("get_object", client_error("AccessDenied", 403), PermanentStageError),
        ("get_object", client_error("SlowDown", 503), TransientStageError),
        ("get_object", client_error("InternalError", 500), TransientStageError),
        ("get_object", ReadTimeoutError(endpoint_url="https://s3"), TransientStageError),
        ("put_object", client_error("SlowDown", 503, "PutObject"), TransientStageError),
        ("put_object", client_error("AccessDenied", 403, "PutObject"), PermanentStageError),
    ],
)
def test_filter__s3_failure__classified_and_no_output_left(
    local_aws: LocalAws,
    lambda_context: FakeLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
    operation: str,
    failure: BaseException,
    expected: type[Exception],
) -> None:
    local_aws.put_json("executions/exec-1/ETL/output.json", testkit.envelope([testkit.candidate()]))
    use_clients(monkeypatch, s3=Faulty(local_aws.s3, **{operation: failure}))
    with pytest.raises(expected) as raised:
        filter.handler(payload("Filter", "ETL"), lambda_context)
    assert type(raised.value).__name__ == expected.__name__
    assert f"s3://{testkit.BUCKET}/executions/exec-1/" in str(raised.value)
    assert local_aws.object_keys() == ["executions/exec-1/ETL/output.json"]


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("ProvisionedThroughputExceededException", 400, TransientStageError),
        ("ThrottlingException", 400, TransientStageError),
        ("InternalServerError", 500, TransientStageError),
        ("AccessDeniedException", 400, PermanentStageError),
        ("ResourceNotFoundException", 400, PermanentStageError),
    ],
)
def test_filter__dynamodb_failure__classified_naming_table(
    local_aws: LocalAws,
    lambda_context: FakeLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
    code: str,
    status: int,
    expected: type[Exception],
) -> None:
    local_aws.put_json("executions/exec-1/ETL/output.json", testkit.envelope([testkit.candidate()]))
    use_clients(monkeypatch, dynamodb=Faulty(local_aws.ddb, get_item=client_error(code, status, "GetItem")))
    with pytest.raises(expected, match="dynamodb table ProgramConfig-test"):
        filter.handler(payload("Filter", "ETL"), lambda_context)
    assert "executions/exec-1/Filter/output.json" not in local_aws.object_keys()


def test_reactive__event_bus_throttled__transient_and_no_summary(
    local_aws: LocalAws, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    local_aws.put_json(
        "executions/exec-1/Store/output.json",
        {"metrics": {"storedCount": 1}, "programId": "retail", "marketplace": "US", "success": True},
    )

    class ThrottledBus:
        def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803 - boto3's name
            return {
                "FailedEntryCount": 1,
                "Entries": [{"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"}],
            }

    use_clients(monkeypatch, events=ThrottledBus())
    with pytest.raises(TransientStageError, match="WorkflowCompleted not published"):
        reactive.handler(payload("Reactive", "Store"), lambda_context)
    assert local_aws.object_keys() == ["executions/exec-1/Store/output.json"]


class FlakyBatchWrite:
    """DynamoDB that leaves the first item of its first ``failures`` calls unprocessed."""

    def __init__(self, inner: Any, failures: int) -> None:
        self.inner = inner
        self.failures = failures
        self.sizes: list[int] = []

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803 - boto3's name
        ((table, requests),) = RequestItems.items()
        self.sizes.append(len(requests))
        if len(self.sizes) <= self.failures:
            if requests[1:]:
                self.inner.batch_write_item(RequestItems={table: requests[1:]})
            return {"UnprocessedItems": {table: requests[:1]}}
        return self.inner.batch_write_item(RequestItems=RequestItems)  # type: ignore[no-any-return]


def store_three_candidates(
    local_aws: LocalAws, context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch, *, failures: int
) -> tuple[FlakyBatchWrite, dict[str, Any]]:
    """Run the Store handler on three candidates against a DynamoDB that fails ``failures`` calls."""
    flaky = FlakyBatchWrite(local_aws.ddb, failures=failures)
    use_clients(monkeypatch, dynamodb=flaky)
    cands = [testkit.candidate(f"C{i}") for i in range(3)]
    local_aws.put_json("executions/exec-1/Score/output.json", testkit.envelope(cands))
    return flaky, store.handler(payload("Store", "Score"), context)


def test_store__unprocessed_items__retried_then_written(
    local_aws: LocalAws, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    flaky, result = store_three_candidates(local_aws, lambda_context, monkeypatch, failures=2)
    assert flaky.sizes == [3, 1, 1]
    assert result["recordsProcessed"] == 3
    output = local_aws.get_json("executions/exec-1/Store/output.json")
    assert (output["metrics"]["storedCount"], output["metrics"]["failedCount"], output["success"]) == (3, 0, True)
    assert len(local_aws.candidate_items()) == 3


def test_store__items_unprocessed_after_three_attempts__reported_not_lost_silently(
    local_aws: LocalAws, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    flaky, _ = store_three_candidates(local_aws, lambda_context, monkeypatch, failures=99)
    assert flaky.sizes == [3, 1, 1]
    output = local_aws.get_json("executions/exec-1/Store/output.json")
    assert (output["metrics"]["storedCount"], output["metrics"]["failedCount"], output["success"]) == (2, 1, False)
    assert output["metrics"]["failedCandidates"][0]["customerId"] == "C0"
    local_aws.put_json("executions/exec-1/Store/output.json", output)
    summary = reactive.process(output, ExecutionContext("exec-1", "Reactive", "Store", testkit.BUCKET), S3ObjectStore())
    assert (summary.envelope["success"], summary.envelope["totalErrors"]) == (False, 1)


# --- Observability ------------------------------------------------------------------------


def test_filter__success__structured_logs_name_execution_stage_and_paths(
    local_aws: LocalAws, lambda_context: FakeLambdaContext, capsys: pytest.CaptureFixture[str], log_stream: io.StringIO
) -> None:
    """Feature: infrastructure-enhancement, Property 36/37: execution context and S3 path logging."""
    local_aws.put_json("executions/exec-9/ETL/output.json", testkit.envelope([testkit.candidate()]))
    filter.handler(payload("Filter", "ETL", "exec-9"), lambda_context)
    out = capsys.readouterr().out
    started = next(r for r in log_records(log_stream.getvalue()) if r.get("message") == "stage started")
    assert (started["executionId"], started["stage"]) == ("exec-9", "Filter")
    assert started["inputPath"] == f"s3://{testkit.BUCKET}/executions/exec-9/ETL/output.json"
    assert started["outputPath"] == f"s3://{testkit.BUCKET}/executions/exec-9/Filter/output.json"
    emf = [json.loads(line) for line in out.splitlines() if line.startswith("{") and '"_aws"' in line]
    (record,) = emf
    assert record["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Ceap"
    assert record["stage"] == "Filter"
    assert {m["Name"] for m in record["_aws"]["CloudWatchMetrics"][0]["Metrics"]} >= {
        "StageSucceeded",
        "CandidatesPassed",
    }


def test_filter__failure__error_logged_with_type_and_failed_result(
    local_aws: LocalAws, lambda_context: FakeLambdaContext, log_stream: io.StringIO
) -> None:
    with pytest.raises(PermanentStageError):
        filter.handler(payload("Filter", "ETL"), lambda_context)
    failed = next(r for r in log_records(log_stream.getvalue()) if r.get("message") == "stage failed")
    assert failed["errorType"] == "PermanentStageError" and failed["transient"] is False
    assert failed["stageResult"]["status"] == "FAILED" and failed["stageResult"]["outputKey"] is None
