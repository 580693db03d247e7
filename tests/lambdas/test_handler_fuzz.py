"""Fuzzed handler inputs: malformed payloads, objects and events fail cleanly, never with a bare
KeyError / TypeError. A stage either succeeds or raises PermanentStageError naming the problem;
the serving handler always answers."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ceap_handlers.errors import PermanentStageError
from ceap_handlers.handlers import customer_event, etl, filter, reactive, score, store

from . import testkit
from .conftest import FakeLambdaContext, LocalAws
from .test_customer_event import event as customer_event_body
from .test_handlers import payload


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    paths = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            paths += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            paths += _paths(child, (*prefix, index))
    return paths


@st.composite
def mutated(draw: st.DrawFn, valid: Any) -> Any:
    """``valid`` with one node replaced by an arbitrary JSON value, or deleted."""
    doc = copy.deepcopy(valid)
    path = draw(st.sampled_from(_paths(doc)))
    if not path:
        return draw(testkit.json_values)
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    if draw(st.booleans()) and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(testkit.json_values)
    return doc


STAGES = {"Filter": filter.handler, "Score": score.handler, "Store": store.handler, "Reactive": reactive.handler}
VALID_ENVELOPE = testkit.envelope([testkit.candidate("C1", scores={"trust": testkit.score("trust", 0.8)}), testkit.candidate("C2")])


def _run_stage(handler: Any, event: Any, context: FakeLambdaContext) -> None:
    try:
        result = handler(event, context)
    except PermanentStageError as exc:
        assert str(exc), "a permanent error must say what is wrong"
        return
    assert result["status"] == "SUCCEEDED"


@given(st.sampled_from(sorted(STAGES)), testkit.json_values | mutated(payload("X", "ETL")))
def test_stage_handlers__fuzzed_payload__succeed_or_permanent_error(
    local_aws: LocalAws, lambda_context: FakeLambdaContext, stage: str, event: Any
) -> None:
    local_aws.put_json("executions/exec-1/ETL/output.json", VALID_ENVELOPE)
    _run_stage(STAGES[stage], event, lambda_context)


@given(st.sampled_from(sorted(STAGES)), testkit.json_values | mutated(VALID_ENVELOPE))
def test_stage_handlers__fuzzed_input_object__succeed_or_permanent_error(
    local_aws: LocalAws, lambda_context: FakeLambdaContext, stage: str, document: Any
) -> None:
    local_aws.put_json("executions/exec-1/Prev/output.json", document)
    _run_stage(STAGES[stage], payload(stage, "Prev"), lambda_context)


VALID_REQUEST = testkit.request(records=[testkit.raw_row("C1", "B1"), testkit.raw_row("C2", "B2")])


@given(testkit.json_values | mutated(VALID_REQUEST))
def test_etl_handler__fuzzed_request__succeed_or_permanent_error(local_aws: LocalAws, lambda_context: FakeLambdaContext, request: Any) -> None:
    _run_stage(etl.handler, payload("ETL", None, initialData=request), lambda_context)


VALID_CONFIG = testkit.program_config(timingWindowDays=7)


@given(mutated(VALID_CONFIG))
def test_filter_handler__fuzzed_program_config__succeed_or_permanent_error(
    local_aws: LocalAws, lambda_context: FakeLambdaContext, config: Any
) -> None:
    if not isinstance(config, dict):
        return
    local_aws.program_table.put_item(Item={"PK": "PROGRAM#retail", "SK": "CONFIG", **testkit.dynamo_item(config)})
    local_aws.put_json("executions/exec-1/ETL/output.json", VALID_ENVELOPE)
    for handler in (filter.handler, score.handler):
        _run_stage(handler, payload("Next", "ETL"), lambda_context)
    _run_stage(etl.handler, payload("ETL", None, initialData=VALID_REQUEST), lambda_context)


@given(testkit.json_values | mutated(customer_event_body()))
def test_customer_event_handler__fuzzed_event__always_answers(local_aws: LocalAws, lambda_context: FakeLambdaContext, evt: Any) -> None:
    result = customer_event.handler(evt, lambda_context)
    assert isinstance(result["success"], bool) and isinstance(result["candidateCreated"], bool)
    if not result["success"]:
        assert result["reason"]
