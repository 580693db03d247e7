"""The data contract: request, stage payload, candidate validation, key layouts."""

from __future__ import annotations

import contextlib
import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ceap_handlers.contract import (
    CANDIDATE,
    ContractError,
    ExecutionContext,
    candidate_item,
    fields,
    instants,
    parse_customer_event,
    parse_instant,
    parse_program_config,
    parse_request,
    paths,
    stage_output_key,
    validate_candidate,
)

from . import testkit

# --- Request ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2026-01-01", "2026-01-02"),
        ("2026-01-01T02:00:00Z", "2026-01-01T02:00:00Z"),
        ("2026-01-01T02:00:00+01:00", "2026-01-01"),
        ("9999-12-31", "9999-12-31"),
    ],
)
def test_request__dates_and_iso_datetimes__accepted(start: str, end: str) -> None:
    parsed = parse_request(testkit.request(dateRange={"start": start, "end": end}))
    assert parsed.start <= parsed.end
    assert parsed.start.tzinfo is not None


@pytest.mark.parametrize(
    ("mutation", "field"),
    [
        (lambda r: r.pop("programId"), "programId"),
        (lambda r: r.pop("marketplace"), "marketplace"),
        (lambda r: r.pop("dateRange"), "dateRange"),
        (lambda r: r["dateRange"].pop("start"), "dateRange.start"),
        (lambda r: r["dateRange"].update(end="tomorrow"), "dateRange.end"),
        (lambda r: r["dateRange"].update(start="2026-02-01"), "dateRange"),
        (lambda r: r.update(programId=7), "programId"),
        (lambda r: r.update(programId="a#b"), "programId"),
        (lambda r: r.update(records={"not": "a list"}), "records"),
    ],
)
def test_request__missing_or_malformed_field__error_names_field(mutation: Any, field: str) -> None:
    body = testkit.request()
    mutation(body)
    with pytest.raises(ContractError) as raised:
        parse_request(body)
    assert raised.value.field == field
    assert str(raised.value).startswith(field)


# --- Stage payload ------------------------------------------------------------------------

stage_names = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij0123456789-_", min_size=1, max_size=20)


@given(execution=stage_names, current=stage_names, previous=stage_names)
def test_context__any_stage_names__keys_follow_convention(execution: str, current: str, previous: str) -> None:
    """Feature: infrastructure-enhancement, Property 2/3/10: S3 path convention for any stage names."""
    if current == previous:
        return
    payload = {
        "executionId": execution,
        "currentStage": current,
        "previousStage": previous,
        "workflowBucket": testkit.BUCKET,
    }
    context = ExecutionContext.from_payload(payload)
    assert context.input_key == f"executions/{execution}/{previous}/output.json"
    assert context.output_key == f"executions/{execution}/{current}/output.json"
    assert context.to_payload() == payload


def test_context__first_stage_without_initial_data__error_names_initial_data() -> None:
    payload = {"executionId": "e", "currentStage": "ETL", "previousStage": None, "workflowBucket": testkit.BUCKET}
    with pytest.raises(ContractError) as raised:
        ExecutionContext.from_payload(payload)
    assert raised.value.field == "initialData"


def test_context__missing_bucket__falls_back_to_default_then_fails_without() -> None:
    payload = {"executionId": "e", "currentStage": "Filter", "previousStage": "ETL"}
    assert ExecutionContext.from_payload(payload, default_bucket="fallback-bucket").workflow_bucket == "fallback-bucket"
    with pytest.raises(ContractError) as raised:
        ExecutionContext.from_payload(payload)
    assert raised.value.field == "workflowBucket"


@pytest.mark.parametrize("bad", ["a/b", "", " ", "x\ny", 5, None])
def test_context__execution_id_not_a_key_segment__rejected(bad: Any) -> None:
    payload = {"executionId": bad, "currentStage": "Filter", "previousStage": "ETL", "workflowBucket": testkit.BUCKET}
    with pytest.raises(ContractError) as raised:
        ExecutionContext.from_payload(payload)
    assert raised.value.field == "executionId"


def test_stage_output_key__documented_layout() -> None:
    assert stage_output_key("abc", "HeavyETL") == "executions/abc/HeavyETL/output.json"


# --- Candidate ----------------------------------------------------------------------------


@given(testkit.candidates_st())
def test_candidate__generated_valid_candidates__accepted_unchanged(cand: dict[str, Any]) -> None:
    before = copy.deepcopy(cand)
    assert validate_candidate(cand) is cand
    assert cand == before


REQUIRED_PATHS = [
    ("customerId",),
    ("context",),
    ("subject",),
    ("subject", "type"),
    ("subject", "id"),
    ("attributes",),
    ("attributes", "eventDate"),
    ("attributes", "channelEligibility"),
    ("metadata",),
    ("metadata", "createdAt"),
    ("metadata", "expiresAt"),
    ("metadata", "version"),
    ("metadata", "workflowExecutionId"),
]


@given(testkit.candidates_st(), st.sampled_from(REQUIRED_PATHS))
def test_candidate__required_field_removed__error_names_that_field(cand: dict[str, Any], path: tuple[str, ...]) -> None:
    target = cand
    for part in path[:-1]:
        target = target[part]
    del target[path[-1]]
    with pytest.raises(ContractError) as raised:
        validate_candidate(cand, "candidates[0]")
    assert raised.value.field == "candidates[0]." + ".".join(path)


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"scores": {"m": {"modelId": "m", "value": 1.5, "timestamp": "2026-01-01"}}}, "c.scores.m.value"),
        ({"context": []}, "c.context"),
        ({"customerId": "a#b"}, "c.customerId"),
    ],
)
def test_candidate__invalid_values__error_names_field(patch: dict[str, Any], field: str) -> None:
    cand = testkit.candidate()
    cand.update(patch)
    with pytest.raises(ContractError) as raised:
        validate_candidate(cand, "c")
    assert raised.value.field == field


@given(testkit.candidates_st())
def test_candidate_fast_path__generated_valid_candidates__taken(cand: dict[str, Any]) -> None:
    assert CANDIDATE.ok(cand)


@given(testkit.candidates_st().flatmap(lambda c: testkit.mutated(c, testkit.mutation_values)))
def test_candidate_fast_path__mutated_candidates__never_laxer_than_reporting_validator(cand: Any) -> None:
    """The unreported fast check may only accept what the reporting validator accepts."""
    if CANDIDATE.ok(cand):
        CANDIDATE.check(cand, "c")


VALUE_RULES = {
    "text": fields.TEXT,
    "key part": fields.KEY,
    "number": fields.NUMBER,
    "unit interval": fields.UNIT,
    "flag": fields.FLAG,
    "positive int": fields.POSITIVE_INT,
    "days": fields.DAYS,
    "object": fields.OBJECT,
    "list": fields.LIST,
    "instant": instants.INSTANT,
    "S3 key segment": paths.KEY_SEGMENT,
}


@pytest.mark.parametrize("name", sorted(VALUE_RULES))
@given(value=testkit.mutation_values)
def test_value_rule__fast_predicate__never_laxer_than_its_check(name: str, value: Any) -> None:
    """Each rule's two faces: what ``ok`` accepts, ``check`` accepts (and returns, converted)."""
    rule = VALUE_RULES[name]
    if rule.ok(value):
        rule.check(value, "x")
    else:
        with contextlib.suppress(ContractError):
            rule.check(value, "x")


@pytest.mark.parametrize(
    ("rule", "value", "problem"),
    [
        (fields.TEXT, None, "required"),
        (fields.TEXT, " ", "must not be empty"),
        (fields.KEY, "a#b", "must not contain '#': 'a#b'"),
        (fields.UNIT, 1.5, "must be between 0 and 1, got 1.5"),
        (fields.FLAG, "yes", "expected true or false, got 'yes'"),
        (fields.DAYS, 36501, "must be at most 36500, got 36501"),
        (fields.OBJECT, None, "expected an object, got NoneType"),
        (instants.INSTANT, "2026-13-01", "expected an ISO-8601 date or datetime, got '2026-13-01'"),
    ],
)
def test_value_rule__invalid_value__check_names_path_and_problem(rule: Any, value: Any, problem: str) -> None:
    with pytest.raises(ContractError) as raised:
        rule.check(value, "a.b")
    assert (raised.value.field, raised.value.problem) == ("a.b", problem)


DELETE = object()


def test_candidate_fast_path__every_field_set_to_every_edge_value__never_laxer() -> None:
    base = testkit.candidate(scores={"m": testkit.score("m", 0.5)}, delivery_date=testkit.NOW, timing_window="w")
    base["rejectionHistory"] = None
    checked = 0
    for path in testkit.paths_of(base)[1:]:
        for value in [*testkit.EDGE_VALUES, DELETE]:
            cand = copy.deepcopy(base)
            parent = cand
            for part in path[:-1]:
                parent = parent[part]
            if value is DELETE:
                if not isinstance(parent, dict):
                    continue
                del parent[path[-1]]
            else:
                parent[path[-1]] = value
            if CANDIDATE.ok(cand):
                CANDIDATE.check(cand, "c")
                checked += 1
    assert checked > 20  # edge values the rules allow (e.g. orderValue 0) took the fast path


def test_candidate__glue_features_and_nulls__accepted() -> None:
    cand = testkit.candidate()
    cand["features"] = {"recencyDays": 3}
    cand["scores"] = None
    cand["attributes"]["deliveryDate"] = None
    cand["attributes"]["channelEligibility"]["push"] = None  # Spark's struct for a channel not set
    assert validate_candidate(cand)["features"] == {"recencyDays": 3}
    assert candidate_item(cand, "retail", "US")["GSI1PK"] == "PROGRAM#retail#CHANNEL#email"


# --- Item layout --------------------------------------------------------------------------


@given(testkit.candidates_st(), testkit.ids, st.sampled_from(["US", "UK", "DE"]))
def test_candidate_item__generated_candidates__documented_key_layout(
    cand: dict[str, Any], program: str, marketplace: str
) -> None:
    """Feature: ceap-handlers, Property: Store key layout (docs/data.md "Store")."""
    item = candidate_item(cand, program, marketplace)
    customer = cand["customerId"]
    assert item["PK"] == f"CUSTOMER#{customer}#PROGRAM#{program}#MARKETPLACE#{marketplace}"
    assert item["SK"] == f"SUBJECT#{cand['subject']['type']}#{cand['subject']['id']}"
    eligible = sorted(c for c, ok in cand["attributes"]["channelEligibility"].items() if ok)
    assert item["GSI1PK"] == f"PROGRAM#{program}#CHANNEL#{eligible[0] if eligible else 'none'}"
    best = max((s["value"] for s in (cand.get("scores") or {}).values()), default=0.0)
    assert item["GSI1SK"] == f"SCORE#{best:.6f}#CUSTOMER#{customer}"
    assert item["GSI2PK"] == f"PROGRAM#{program}#DATE#{cand['metadata']['createdAt'][:10]}"
    created = parse_instant(cand["metadata"]["createdAt"], "createdAt")
    assert item["GSI2SK"] == f"CREATED#{int(created.timestamp())}#CUSTOMER#{customer}"
    assert item["customerId"] == customer and item["version"] == 1
    expires = parse_instant(cand["metadata"]["expiresAt"], "expiresAt")
    assert item["ttl"] == int(expires.timestamp())
    assert candidate_item(copy.deepcopy(cand), program, marketplace) == item


# --- Program config and events ------------------------------------------------------------


def test_program_config__unknown_connector_type__error_names_path() -> None:
    config = testkit.program_config()
    config["dataConnectors"][0]["connectorType"] = "athena"
    with pytest.raises(ContractError) as raised:
        parse_program_config(config, "ProgramConfig[PROGRAM#retail]")
    assert raised.value.field == "ProgramConfig[PROGRAM#retail].dataConnectors[0].connectorType"


def test_program_config__s3_prefix_outside_sources__rejected() -> None:
    config = testkit.program_config(
        dataConnectors=[{"connectorId": "s3", "connectorType": "s3_jsonl", "sourceConfig": {"prefix": "executions/x/"}}]
    )
    with pytest.raises(ContractError) as raised:
        parse_program_config(config)
    assert raised.value.field.endswith("dataConnectors[0].sourceConfig.prefix")


def test_program_config__filters_sorted_by_order_and_disabled_dropped() -> None:
    config = testkit.program_config()
    config["filterChain"]["filters"][0]["order"] = 5
    config["filterChain"]["filters"].append({"filterId": "off", "filterType": "trust", "enabled": False, "order": 0})
    program = parse_program_config(config)
    assert [f.filter_id for f in program.enabled_filters] == ["rules", "eligible"]


@pytest.mark.parametrize("field", ["customerId", "eventType", "subjectType", "subjectId", "programId", "marketplace"])
def test_customer_event__missing_detail_field__error_names_field(field: str) -> None:
    event = testkit.customer_event()
    del event["detail"][field]
    with pytest.raises(ContractError) as raised:
        parse_customer_event(event)
    assert raised.value.field == f"detail.{field}"
