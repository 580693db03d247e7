"""Fuzzed handler inputs: malformed payloads, objects and events fail cleanly, never with a bare
KeyError / TypeError. A stage either succeeds or raises PermanentStageError naming the problem;
the serving handler always answers."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ceap_handlers.errors import PermanentStageError
from ceap_handlers.handlers import customer_event, etl, filter, reactive, score, store

from . import testkit
from .conftest import FakeLambdaContext, LocalAws
from .testkit import customer_event as customer_event_body
from .testkit import mutated, payload

STAGES = {"Filter": filter.handler, "Score": score.handler, "Store": store.handler, "Reactive": reactive.handler}
VALID_ENVELOPE = testkit.envelope(
    [testkit.candidate("C1", scores={"trust": testkit.score("trust", 0.8)}), testkit.candidate("C2")]
)


def _run_stage(handler: Any, event: Any, context: FakeLambdaContext) -> None:
    try:
        result = handler(event, context)
    except PermanentStageError as exc:
        assert str(exc), "a permanent error must say what is wrong"
        return
    assert result["status"] == "SUCCEEDED"


@given(st.sampled_from(sorted(STAGES)), testkit.json_values | mutated(payload("X", "ETL"), testkit.mutation_values))
def test_stage_handlers__fuzzed_payload__succeed_or_permanent_error(
    local_aws: LocalAws, lambda_context: FakeLambdaContext, stage: str, event: Any
) -> None:
    local_aws.put_json("executions/exec-1/ETL/output.json", VALID_ENVELOPE)
    _run_stage(STAGES[stage], event, lambda_context)


@given(st.sampled_from(sorted(STAGES)), testkit.json_values | mutated(VALID_ENVELOPE, testkit.mutation_values))
def test_stage_handlers__fuzzed_input_object__succeed_or_permanent_error(
    local_aws: LocalAws, lambda_context: FakeLambdaContext, stage: str, document: Any
) -> None:
    local_aws.put_json("executions/exec-1/Prev/output.json", document)
    _run_stage(STAGES[stage], payload(stage, "Prev"), lambda_context)


VALID_REQUEST = testkit.request(records=[testkit.raw_row("C1", "B1"), testkit.raw_row("C2", "B2")])


@given(testkit.json_values | mutated(VALID_REQUEST, testkit.mutation_values))
def test_etl_handler__fuzzed_request__succeed_or_permanent_error(
    local_aws: LocalAws, lambda_context: FakeLambdaContext, request: Any
) -> None:
    _run_stage(etl.handler, payload("ETL", None, initialData=request), lambda_context)


VALID_CONFIG = testkit.program_config(timingWindowDays=7)


@given(mutated(VALID_CONFIG, testkit.dynamo_json_values, keep_root=True))
def test_stage_handlers__fuzzed_program_config__succeed_or_permanent_error(
    local_aws: LocalAws, lambda_context: FakeLambdaContext, config: dict[str, Any]
) -> None:
    local_aws.program_table.put_item(Item={"PK": "PROGRAM#retail", "SK": "CONFIG", **testkit.dynamo_item(config)})
    local_aws.put_json("executions/exec-1/ETL/output.json", VALID_ENVELOPE)
    for handler in (filter.handler, score.handler):
        _run_stage(handler, payload("Next", "ETL"), lambda_context)
    _run_stage(etl.handler, payload("ETL", None, initialData=VALID_REQUEST), lambda_context)


@given(testkit.json_values | mutated(customer_event_body(), testkit.mutation_values))
def test_customer_event_handler__fuzzed_event__always_answers(
    local_aws: LocalAws, lambda_context: FakeLambdaContext, evt: Any
) -> None:
    result = customer_event.handler(evt, lambda_context)
    assert isinstance(result["success"], bool) and isinstance(result["candidateCreated"], bool)
    if not result["success"]:
        assert result["reason"]
