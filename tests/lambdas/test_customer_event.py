"""Serving-side Reactive handler against moto: dedup, candidate creation, outcomes, races."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from moto.dynamodb.models.table import Table as MotoTable

from ceap_handlers import aws as ceap_aws
from ceap_handlers.errors import TransientStageError
from ceap_handlers.handlers import customer_event
from ceap_handlers.settings import Settings
from ceap_handlers.stages import serving

from . import testkit
from .conftest import FakeLambdaContext, Faulty, LocalAws, client_error, put_program, use_clients
from .testkit import customer_event as event


def handle(evt: Any, now: Any = testkit.NOW) -> dict[str, Any]:
    return serving.handle_customer_event(
        evt, customer_event.AwsServingPorts(Settings.from_env()), now=now, sleep=lambda _: None
    )


EXPECTED_PK = "CUSTOMER#C1#PROGRAM#retail#MARKETPLACE#US"
EXPECTED_SK = "SUBJECT#product#B001"


def test_customer_event__new_event__candidate_stored_under_documented_keys(
    local_aws: LocalAws, lambda_context: FakeLambdaContext
) -> None:
    result = customer_event.handler(event(), lambda_context)
    assert result == {"success": True, "candidateCreated": True, "candidateId": f"{EXPECTED_PK}|{EXPECTED_SK}"}
    (item,) = local_aws.candidate_items()
    assert (item["PK"]["S"], item["SK"]["S"], item["GSI1PK"]["S"]) == (
        EXPECTED_PK,
        EXPECTED_SK,
        "PROGRAM#retail#CHANNEL#email",
    )
    assert '"propensity"' in item["data"]["S"]
    (claim,) = local_aws.ddb.scan(TableName=testkit.DEDUP_TABLE)["Items"]
    assert claim["deduplicationKey"]["S"] == "C1:product:B001:retail"
    assert int(claim["ttl"]["N"]) - int(claim["firstSeenAt"]["N"]) == 600


def test_customer_event__repeat_within_300s__rejected_as_duplicate(local_aws: LocalAws) -> None:
    assert handle(event())["candidateCreated"] is True
    repeat = handle(event(metadata={"orderValue": 99}), now=testkit.NOW + timedelta(seconds=299))
    assert repeat == {"success": True, "candidateCreated": False, "candidateId": None, "reason": "DUPLICATE_EVENT"}
    assert len(local_aws.candidate_items()) == 1


def test_customer_event__repeat_after_window__processed_again(local_aws: LocalAws) -> None:
    assert handle(event())["candidateCreated"] is True
    assert handle(event(), now=testkit.NOW + timedelta(seconds=301))["candidateCreated"] is True


#: docs/data.md "Reactive (serving)": the conditional put "rejects a repeat within 300 s". We read
#: "within 300 s" as inclusive, the ordinary English sense ("within 5 minutes" includes the 5th
#: minute): a repeat at most 300 s after the first claim is rejected, only one more than 300 s
#: after it is processed again. The dedup item stores epoch seconds (like its ttl), so elapsed time
#: is counted in whole seconds of the clock: 0.9 s -> 300.1 s is 300 whole seconds (rejected).
DEDUP_WINDOW_CASES = [
    (timedelta(seconds=299), "DUPLICATE_EVENT"),
    (timedelta(seconds=300), "DUPLICATE_EVENT"),
    (timedelta(seconds=301), None),
    (timedelta(seconds=299.2), "DUPLICATE_EVENT"),
]


@pytest.mark.parametrize(("elapsed", "reason"), DEDUP_WINDOW_CASES, ids=["299s", "300s", "301s", "0.9s-to-300.1s"])
def test_customer_event__repeat_at_window_edge__documented_outcome(
    local_aws: LocalAws, elapsed: timedelta, reason: str | None
) -> None:
    """Issue 14 item 12: exactly 300 s after the first event is still within the window."""
    first = testkit.NOW + timedelta(seconds=0.9) if elapsed.microseconds else testkit.NOW
    assert handle(event(), now=first)["candidateCreated"] is True
    repeat = handle(event(), now=first + elapsed)
    assert repeat.get("reason") == reason
    assert repeat["candidateCreated"] is (reason is None)


@pytest.mark.parametrize(
    ("evt", "field"),
    [
        ({"source": "ceap.customer-events"}, "detail"),
        ({"source": "somebody.else", "detail": {}}, "source"),
        ("not an event", "event"),
        (event(customerId=None), "detail.customerId"),
        (event(subjectId=""), "detail.subjectId"),
        (event(eventDate="last tuesday"), "detail.eventDate"),
        (event(metadata=[1, 2]), "detail.metadata"),
    ],
)
def test_customer_event__malformed__failure_naming_field_without_claim(
    local_aws: LocalAws, lambda_context: FakeLambdaContext, evt: Any, field: str
) -> None:
    result = customer_event.handler(evt, lambda_context)
    assert (result["success"], result["candidateCreated"]) == (False, False)
    assert result["reason"].startswith(field)
    assert local_aws.ddb.scan(TableName=testkit.DEDUP_TABLE)["Items"] == []


def test_customer_event__metadata_value_unconvertible__failure_naming_field(local_aws: LocalAws) -> None:
    result = handle(event(metadata={"orderValue": "lots"}))
    assert result["success"] is False and "orderValue" in result["reason"]


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"enabled": False}, "PROGRAM_DISABLED"),
        ({"reactiveEnabled": False}, "REACTIVE_DISABLED"),
        ({"marketplaces": ["UK"]}, "MARKETPLACE_NOT_ENABLED"),
    ],
)
def test_customer_event__program_not_serving__no_candidate_with_reason(
    local_aws: LocalAws, overrides: dict[str, Any], reason: str
) -> None:
    put_program(local_aws.program_table, testkit.program_config(**overrides))
    assert handle(event()) == {"success": True, "candidateCreated": False, "candidateId": None, "reason": reason}
    assert local_aws.candidate_items() == []


def test_customer_event__unknown_program__failure_naming_program_id(local_aws: LocalAws) -> None:
    result = handle(event(programId="books"))
    assert result["success"] is False and result["reason"].startswith("detail.programId")


def test_customer_event__rejected_by_filter__reason_code_and_no_candidate(local_aws: LocalAws) -> None:
    assert handle(event(metadata={"orderValue": 5}))["reason"] == "ORDER_VALUE_LOW"
    assert local_aws.candidate_items() == []


def test_customer_event__store_throttled__raised_claim_released_retry_succeeds(
    local_aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    throttled = Faulty(
        local_aws.ddb, batch_write_item=client_error("ProvisionedThroughputExceededException", 400, "BatchWriteItem")
    )
    with monkeypatch.context() as patch:
        use_clients(patch, dynamodb=throttled)
        ceap_aws.reset_clients()
        with pytest.raises(TransientStageError, match="dynamodb table Candidates-test"):
            handle(event())
    assert throttled.calls == ["batch_write_item"]
    (claim,) = local_aws.ddb.scan(TableName=testkit.DEDUP_TABLE)["Items"]
    assert claim["status"]["S"] == "RELEASED"
    assert handle(event(), now=testkit.NOW + timedelta(seconds=5))["candidateCreated"] is True


def test_customer_event__two_identical_events_concurrently__exactly_one_candidate(
    local_aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DynamoDB evaluates a condition and writes atomically; moto does not lock, so the lock below
    # gives its PutItem that guarantee. The handler's correctness rests on that single conditional
    # write: a read-then-write implementation would let both threads through.
    lock = threading.Lock()
    original = MotoTable.put_item

    def atomic_put_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return original(self, *args, **kwargs)

    monkeypatch.setattr(MotoTable, "put_item", atomic_put_item)
    start = threading.Barrier(2)
    results: list[dict[str, Any]] = []

    def run() -> None:
        start.wait()
        results.append(handle(event()))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(r.get("reason", "CREATED") for r in results) == ["CREATED", "DUPLICATE_EVENT"]
    assert [r["candidateCreated"] for r in results].count(True) == 1
    assert len(local_aws.candidate_items()) == 1
