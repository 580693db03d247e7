"""Fuzzed handler inputs, each with the one outcome it must get (issue 14 item 11).

Every case is built by a strategy that knows what it built, and that knowledge is the oracle
(never the handler's own classifier):

- a valid input, no fault: ``SUCCEEDED``;
- an input broken on purpose (not an object, a required field removed or of the wrong type, per
  docs/design.md 6 for the task payload and docs/data.md for stage outputs): ``PermanentStageError``;
- a valid input with an AWS fault injected into a call the stage must make: the fault's class,
  taken from two literal pools below (5xx/429 with error codes on no list, botocore network errors
  -> ``TransientStageError``; other 4xx, parameter errors -> ``PermanentStageError``).

A fault on the input read comes before the document matters, so a broken document with a fault
there gets the fault's class. The payload is checked before any AWS call, so a broken payload
is permanent whatever fault is armed.
"""

from __future__ import annotations

import copy
import string
from dataclasses import dataclass
from typing import Any, Final

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    IncompleteReadError,
    ParamValidationError,
    ReadTimeoutError,
    ResponseStreamingError,
)
from hypothesis import given
from hypothesis import strategies as st

from ceap_handlers.errors import PermanentStageError, TransientStageError
from ceap_handlers.handlers import customer_event, etl, filter, reactive, score, store

from . import testkit
from .conftest import FakeLambdaContext, Faulty, LocalAws, use_clients
from .testkit import customer_event as customer_event_body
from .testkit import mutated, payload

SUCCEEDED: Final = "SUCCEEDED"
TRANSIENT: Final = TransientStageError.__name__
PERMANENT: Final = PermanentStageError.__name__

STAGES = {"Filter": filter.handler, "Score": score.handler, "Store": store.handler, "Reactive": reactive.handler}
#: Stages that read the program's configuration (docs/data.md: Filter runs its chain, Score its models).
READS_CONFIG = {"Filter", "Score"}
#: Stages whose input must carry a ``candidates`` list (docs/data.md stage outputs).
READS_CANDIDATES = {"Filter", "Score", "Store"}
VALID_ENVELOPE = testkit.envelope(
    [testkit.candidate("C1", scores={"trust": testkit.score("trust", 0.8)}), testkit.candidate("C2")]
)
VALID_REQUEST = testkit.request(records=[testkit.raw_row("C1", "B1"), testkit.raw_row("C2", "B2")])

# --- Faults ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """An exception a boto3 call raises, with the outcome it must lead to."""

    exception: BaseException
    outcome: str

    def __repr__(self) -> str:
        return f"Fault({type(self.exception).__name__}: {self.exception} -> {self.outcome})"


def _client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")


# Codes no list knows (prefix "Fuzz"): only the HTTP status can classify them.
unknown_codes = st.text(alphabet=string.ascii_letters, min_size=1, max_size=12).map(lambda s: f"Fuzz{s}")
URL: Final = "https://example.invalid"

#: Transient by construction: any 5xx or 429 (botocore's retry policy, the AWS error-retry page),
#: throttling / timeout codes AWS sends with a 400 (DynamoDB, S3 "RequestTimeout"), and botocore's
#: network failures.
transient_faults = st.one_of(
    st.builds(_client_error, unknown_codes, st.integers(500, 599)),
    st.builds(_client_error, unknown_codes, st.just(429)),
    st.builds(
        _client_error,
        st.sampled_from(["ThrottlingException", "ProvisionedThroughputExceededException", "RequestTimeout"]),
        st.just(400),
    ),
    st.sampled_from(
        [
            EndpointConnectionError(endpoint_url=URL),
            ConnectTimeoutError(endpoint_url=URL),
            ReadTimeoutError(endpoint_url=URL),
            ConnectionClosedError(endpoint_url=URL),
            ResponseStreamingError(error="Connection broken: IncompleteRead"),
            IncompleteReadError(actual_bytes=1, expected_bytes=2),
        ]
    ),
).map(lambda exc: Fault(exc, TRANSIENT))
#: Permanent by construction: a 4xx other than 429 with a code no list knows, access denied,
#: missing object, a request botocore refuses to send.
permanent_faults = st.one_of(
    st.builds(_client_error, unknown_codes, st.integers(400, 499).filter(lambda s: s != 429)),
    st.sampled_from(
        [_client_error("AccessDenied", 403), _client_error("NoSuchKey", 404), ParamValidationError(report="x")]
    ),
).map(lambda exc: Fault(exc, PERMANENT))
faults = transient_faults | permanent_faults


def arm(monkeypatch: pytest.MonkeyPatch, local_aws: LocalAws, service: str, operation: str, fault: Fault) -> None:
    inner = local_aws.s3 if service == "s3" else local_aws.ddb
    use_clients(monkeypatch, **{service: Faulty(inner, **{operation: fault.exception})})


# --- Broken inputs (each certainly breaks the contract) -------------------------------------

non_objects = testkit.json_values.filter(lambda v: not isinstance(v, dict))
non_strings = testkit.json_values.filter(lambda v: not isinstance(v, str))
non_lists = testkit.json_values.filter(lambda v: not isinstance(v, list))


@st.composite
def broken(draw: st.DrawFn, valid: dict[str, Any], fields: dict[str, st.SearchStrategy[Any]]) -> Any:
    """``valid`` made invalid: replaced by a non-object, or one field deleted or given a value of a
    type it never admits (``fields``: field -> such values)."""
    if draw(st.integers(0, 4)) == 0:
        return draw(non_objects)
    doc = copy.deepcopy(valid)
    name = draw(st.sampled_from(sorted(fields)))
    if draw(st.booleans()):
        del doc[name]
    else:
        doc[name] = draw(fields[name])
    return doc


#: docs/design.md 6: executionId and currentStage are strings; previousStage a string (null only for the
#: first stage, which then needs initialData).
PAYLOAD_FIELDS = {"executionId": non_strings, "currentStage": non_strings, "previousStage": non_strings}
#: docs/data.md: every stage output names its programId and marketplace (strings).
OUTPUT_FIELDS = {"programId": non_strings, "marketplace": non_strings}
CANDIDATE_OUTPUT_FIELDS = {**OUTPUT_FIELDS, "candidates": non_lists}
#: Keys of no meaning to the stages (stage outputs may carry more keys; "other keys are ignored").
extra_keys = st.dictionaries(
    st.text(alphabet=string.ascii_lowercase, min_size=1).map(lambda k: f"x-{k}"), testkit.json_values, max_size=3
)


def outcome_of(result_or_error: Any) -> str:
    return result_or_error["status"] if isinstance(result_or_error, dict) else type(result_or_error).__name__


def run(handler: Any, event: Any, context: FakeLambdaContext) -> str:
    """The outcome of one invocation: ``SUCCEEDED`` or the stage error's class name."""
    try:
        result = handler(event, context)
    except (TransientStageError, PermanentStageError) as exc:
        assert str(exc), "a stage error must say what is wrong"
        return type(exc).__name__
    assert result["status"] == SUCCEEDED, result
    return SUCCEEDED


# --- Stage handlers: payload, input object, faults ------------------------------------------


@st.composite
def stage_cases(draw: st.DrawFn) -> tuple[str, Any, Any, tuple[str, str, Fault] | None, str]:
    """``(stage, payload, input document, armed fault, expected outcome)``."""
    stage = draw(st.sampled_from(sorted(STAGES)))
    valid_payload = payload(stage, "Prev")
    payload_broken = draw(st.integers(0, 3)) == 0
    event = draw(broken(valid_payload, PAYLOAD_FIELDS)) if payload_broken else valid_payload
    fields = CANDIDATE_OUTPUT_FIELDS if stage in READS_CANDIDATES else OUTPUT_FIELDS
    document_broken = draw(st.integers(0, 2)) == 0
    document = draw(broken(VALID_ENVELOPE, fields)) if document_broken else {**VALID_ENVELOPE, **draw(extra_keys)}
    sites = [("s3", "get_object")]
    if not document_broken:  # a later call happens only once the document was accepted
        sites += [("s3", "put_object")] + ([("dynamodb", "get_item")] if stage in READS_CONFIG else [])
    fault = draw(st.none() | st.tuples(st.sampled_from(sites), faults).map(lambda t: (*t[0], t[1])))
    if payload_broken:
        expected = PERMANENT
    elif fault is not None and (fault[1] == "get_object" or not document_broken):
        expected = fault[2].outcome
    elif document_broken:
        expected = PERMANENT
    else:
        expected = SUCCEEDED
    return stage, event, document, fault, expected


@given(stage_cases())
def test_stage_handlers__fuzzed_payload_input_and_fault__expected_outcome(
    local_aws: LocalAws,
    lambda_context: FakeLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
    case: tuple[str, Any, Any, tuple[str, str, Fault] | None, str],
) -> None:
    stage, event, document, fault, expected = case
    local_aws.put_json("executions/exec-1/Prev/output.json", document)
    with monkeypatch.context() as patch:
        if fault is not None:
            arm(patch, local_aws, *fault)
        assert run(STAGES[stage], event, lambda_context) == expected


# --- The first stage: the request --------------------------------------------------------------

#: docs/data.md, the request: "All of programId, marketplace, dateRange are required" (two strings and
#: an object).
REQUEST_FIELDS = {"programId": non_strings, "marketplace": non_strings, "dateRange": non_objects}


@st.composite
def etl_cases(draw: st.DrawFn) -> tuple[Any, tuple[str, str, Fault] | None, str]:
    """``(initialData, armed fault, expected outcome)``; a broken request gets no fault."""
    if draw(st.booleans()):
        return draw(broken(VALID_REQUEST, REQUEST_FIELDS)), None, PERMANENT
    site = draw(st.sampled_from([("dynamodb", "get_item"), ("s3", "put_object")]))
    fault = draw(st.none() | faults)
    if fault is None:
        return VALID_REQUEST, None, SUCCEEDED
    return VALID_REQUEST, (*site, fault), fault.outcome


@given(etl_cases())
def test_etl_handler__fuzzed_request_and_fault__expected_outcome(
    local_aws: LocalAws,
    lambda_context: FakeLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
    case: tuple[Any, tuple[str, str, Fault] | None, str],
) -> None:
    request, fault, expected = case
    with monkeypatch.context() as patch:
        if fault is not None:
            arm(patch, local_aws, *fault)
        assert run(etl.handler, payload("ETL", None, initialData=request), lambda_context) == expected


# --- Program configurations ------------------------------------------------------------------

VALID_CONFIG = testkit.program_config(timingWindowDays=7)


@given(mutated(VALID_CONFIG, testkit.dynamo_json_values, keep_root=True), faults)
def test_stage_handlers__fuzzed_program_config_with_read_fault__fault_outcome(
    local_aws: LocalAws,
    lambda_context: FakeLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
    config: dict[str, Any],
    fault: Fault,
) -> None:
    """Whatever the stored configuration, a failed read of it decides the outcome."""
    local_aws.program_table.put_item(Item={"PK": "PROGRAM#retail", "SK": "CONFIG", **testkit.dynamo_item(config)})
    local_aws.put_json("executions/exec-1/ETL/output.json", VALID_ENVELOPE)
    with monkeypatch.context() as patch:
        arm(patch, local_aws, "dynamodb", "get_item", fault)
        for handler in (filter.handler, score.handler):
            assert run(handler, payload("Next", "ETL"), lambda_context) == fault.outcome
        assert run(etl.handler, payload("ETL", None, initialData=VALID_REQUEST), lambda_context) == fault.outcome


@given(mutated(VALID_CONFIG, testkit.dynamo_json_values, keep_root=True))
def test_stage_handlers__fuzzed_program_config__never_transient_never_crash(
    local_aws: LocalAws, lambda_context: FakeLambdaContext, config: dict[str, Any]
) -> None:
    """A stored configuration changed in one arbitrary node, every AWS call healthy. Whether such a
    change still obeys the contract is the contract tests' question (test_contract.py), so the
    outcome here is one of two; what the construction does fix: nothing transient happened, so the
    outcome is never ``TransientStageError``, and never a bare KeyError / TypeError."""
    local_aws.program_table.put_item(Item={"PK": "PROGRAM#retail", "SK": "CONFIG", **testkit.dynamo_item(config)})
    local_aws.put_json("executions/exec-1/ETL/output.json", VALID_ENVELOPE)
    for handler in (filter.handler, score.handler):
        assert run(handler, payload("Next", "ETL"), lambda_context) in {SUCCEEDED, PERMANENT}
    assert run(etl.handler, payload("ETL", None, initialData=VALID_REQUEST), lambda_context) in {SUCCEEDED, PERMANENT}


# --- The serving handler ---------------------------------------------------------------------


@given(testkit.json_values | mutated(customer_event_body(), testkit.mutation_values))
def test_customer_event_handler__fuzzed_event__always_answers(
    local_aws: LocalAws, lambda_context: FakeLambdaContext, evt: Any
) -> None:
    """No AWS fault: every event, valid or not, is answered (malformed ones with the reason)."""
    result = customer_event.handler(evt, lambda_context)
    assert isinstance(result["success"], bool) and isinstance(result["candidateCreated"], bool)
    if not result["success"]:
        assert result["reason"]


@given(faults, st.integers(0, 2**31))
def test_customer_event_handler__dedup_claim_fault__raised_with_its_class(
    local_aws: LocalAws,
    lambda_context: FakeLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
    fault: Fault,
    salt: int,
) -> None:
    """A valid event whose dedup claim (the first AWS call) fails: Lambda's asynchronous retry must
    see a transient failure as transient, so it is raised with the fault's class."""
    evt = customer_event_body(customerId=f"C{salt}")
    with monkeypatch.context() as patch:
        arm(patch, local_aws, "dynamodb", "put_item", fault)
        with pytest.raises((TransientStageError, PermanentStageError)) as raised:
            customer_event.handler(evt, lambda_context)
    assert type(raised.value).__name__ == fault.outcome
