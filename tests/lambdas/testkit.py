"""Builders and hypothesis strategies for the handler tests (plain data, no AWS)."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from ceap_handlers.contract import format_instant

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
CHANNELS = ("email", "sms", "push", "voice")

CANDIDATES_TABLE = "Candidates-test"
PROGRAM_CONFIG_TABLE = "ProgramConfig-test"
SCORE_CACHE_TABLE = "ScoreCache-test"
DEDUP_TABLE = "ceap-event-deduplication-test"
BUCKET = "ceap-workflow-test-123456789012"
#: What the templates give the functions, with the test resources for imported / referenced values.
HANDLER_ENV = {
    "CANDIDATES_TABLE": CANDIDATES_TABLE,
    "PROGRAM_CONFIG_TABLE": PROGRAM_CONFIG_TABLE,
    "SCORE_CACHE_TABLE": SCORE_CACHE_TABLE,
    "DEDUPLICATION_TABLE": DEDUP_TABLE,
    "WORKFLOW_BUCKET": BUCKET,
    "EVENT_BUS_NAME": "default",
}
#: The committed artifacts (build/{env}/...).
BUILD = Path(__file__).resolve().parents[2] / "build"


def candidate(
    customer_id: str = "C1",
    subject_id: str = "B001",
    *,
    subject_type: str = "product",
    event_date: datetime = NOW - timedelta(days=3),
    created: datetime = NOW,
    order_value: float | None = 42.5,
    channels: dict[str, bool] | None = None,
    scores: dict[str, dict[str, Any]] | None = None,
    delivery_date: datetime | None = None,
    timing_window: str | None = None,
    ttl_days: int = 30,
) -> dict[str, Any]:
    """A valid candidate (docs/data.md shape)."""
    attributes: dict[str, Any] = {
        "eventDate": format_instant(event_date),
        "channelEligibility": {"email": True} if channels is None else channels,
    }
    if order_value is not None:
        attributes["orderValue"] = order_value
    if delivery_date is not None:
        attributes["deliveryDate"] = format_instant(delivery_date)
    if timing_window is not None:
        attributes["timingWindow"] = timing_window
    result: dict[str, Any] = {
        "customerId": customer_id,
        "context": [{"type": "marketplace", "id": "US"}, {"type": "program", "id": "retail"}],
        "subject": {"type": subject_type, "id": subject_id},
        "attributes": attributes,
        "metadata": {
            "createdAt": format_instant(created),
            "updatedAt": format_instant(created),
            "expiresAt": format_instant(created + timedelta(days=ttl_days)),
            "version": 1,
            "sourceConnectorId": "inline",
            "workflowExecutionId": "exec-1",
        },
    }
    if scores is not None:
        result["scores"] = scores
    return result


def score(model_id: str, value: float, confidence: float | None = 0.9) -> dict[str, Any]:
    body: dict[str, Any] = {"modelId": model_id, "value": value, "timestamp": format_instant(NOW)}
    if confidence is not None:
        body["confidence"] = confidence
    return body


def envelope(candidates: list[dict[str, Any]], program_id: str = "retail", marketplace: str = "US") -> dict[str, Any]:
    return {"candidates": candidates, "programId": program_id, "marketplace": marketplace}


INLINE_MAPPINGS = [
    {"targetField": "customerId", "sourceField": "customer_id", "type": "STRING"},
    {"targetField": "subjectType", "sourceField": "subject_type", "type": "STRING", "default": "product"},
    {"targetField": "subjectId", "sourceField": "asin", "type": "STRING"},
    {"targetField": "eventDate", "sourceField": "event_time", "type": "INSTANT"},
    {"targetField": "orderValue", "sourceField": "order.total", "type": "DOUBLE"},
    {"targetField": "channelEligibility", "sourceField": "channels"},
]


def program_config(**overrides: Any) -> dict[str, Any]:
    """A ProgramConfig item's attributes (without PK/SK)."""
    config: dict[str, Any] = {
        "programId": "retail",
        "programName": "Retail reviews",
        "enabled": True,
        "marketplaces": ["US", "UK"],
        "dataConnectors": [
            {
                "connectorId": "inline",
                "connectorType": "inline",
                "enabled": True,
                "sourceConfig": {"fieldMappings": copy.deepcopy(INLINE_MAPPINGS)},
            }
        ],
        "scoringModels": [
            {
                "modelId": "propensity",
                "modelType": "weighted",
                "enabled": True,
                "modelConfig": {"weights": {"recency": 0.5, "orderValue": 0.3, "channelCount": 0.2}},
            }
        ],
        "filterChain": {
            "filters": [
                {
                    "filterId": "eligible",
                    "filterType": "eligibility",
                    "enabled": True,
                    "parameters": {"requiredChannels": ["email"]},
                    "order": 1,
                },
                {
                    "filterId": "rules",
                    "filterType": "business_rule",
                    "enabled": True,
                    "parameters": {"minOrderValue": 10},
                    "order": 2,
                },
            ]
        },
        "channels": [{"channelId": "email", "channelType": "EMAIL", "enabled": True, "shadowMode": False}],
        "reactiveEnabled": True,
        "candidateTTLDays": 30,
    }
    config.update(overrides)
    return config


def raw_row(
    customer: str, asin: str, *, total: float | None = 25.0, channels: Any = None, when: str = "2026-02-27"
) -> dict[str, Any]:
    row: dict[str, Any] = {"customer_id": customer, "asin": asin, "event_time": when}
    if total is not None:
        row["order"] = {"total": total}
    if channels is not None:
        row["channels"] = channels
    return row


def request(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "programId": "retail",
        "marketplace": "US",
        "dateRange": {"start": "2026-01-01", "end": "2026-01-02"},
    }
    body.update(overrides)
    return body


def payload(current: str, previous: str | None, execution: str = "exec-1", **extra: Any) -> dict[str, Any]:
    """A stage task payload (the execution context, docs/design.md 6)."""
    body: dict[str, Any] = {
        "executionId": execution,
        "currentStage": current,
        "previousStage": previous,
        "workflowBucket": BUCKET,
    }
    body.update(extra)
    return body


def first_payload(records: list[Any] | None = None, execution: str = "exec-1", **fields: Any) -> dict[str, Any]:
    """The first stage's payload: the request (with ``fields``) as ``initialData``."""
    rows = records if records is not None else [raw_row("C1", "B1"), raw_row("C2", "B2", total=5.0)]
    return payload("ETL", None, execution, initialData=request(records=rows, **fields))


def customer_event(**detail: Any) -> dict[str, Any]:
    """A ``ceap.customer-events`` EventBridge event (docs/data.md "Reactive (serving)")."""
    body = {
        "customerId": "C1",
        "eventType": "OrderDelivered",
        "subjectType": "product",
        "subjectId": "B001",
        "programId": "retail",
        "marketplace": "US",
        "eventDate": "2026-02-28T09:00:00Z",
        "metadata": {"orderValue": 30, "channelEligibility": {"email": True, "push": True}},
    }
    body.update(detail)
    return {
        "version": "0",
        "id": "evt-1",
        "detail-type": "OrderDelivered",
        "source": "ceap.customer-events",
        "account": "123456789012",
        "time": "2026-02-28T09:00:05Z",
        "region": "us-east-1",
        "resources": [],
        "detail": body,
    }


def dynamo_item(value: dict[str, Any]) -> dict[str, Any]:
    """JSON value → boto3 resource item (floats as Decimal)."""
    converted: dict[str, Any] = json.loads(json.dumps(value), parse_float=Decimal)
    return converted


# --------------------------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------------------------

ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.", min_size=1, max_size=12)
unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
instants = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)).map(
    lambda d: d.replace(tzinfo=UTC, microsecond=0)
)
channel_flags = st.dictionaries(st.sampled_from(CHANNELS), st.booleans(), max_size=len(CHANNELS))
order_values = st.none() | st.floats(min_value=0, max_value=10_000, allow_nan=False).map(lambda v: round(v, 2))


@st.composite
def scores_st(draw: st.DrawFn) -> dict[str, dict[str, Any]]:
    models = draw(st.lists(st.sampled_from(["propensity", "trust", "fraud", "quality"]), unique=True, max_size=4))
    return {m: score(m, draw(unit), draw(st.none() | unit)) for m in models}


@st.composite
def candidates_st(draw: st.DrawFn, *, with_scores: bool = True) -> dict[str, Any]:
    """A valid candidate with generated features."""
    created = draw(instants)
    age = draw(st.floats(min_value=0, max_value=400, allow_nan=False))
    return candidate(
        draw(ids),
        draw(ids),
        subject_type=draw(st.sampled_from(["product", "video", "track", "service"])),
        event_date=(created - timedelta(days=age)).replace(microsecond=0),
        created=created,
        order_value=draw(order_values),
        channels=draw(channel_flags),
        scores=draw(st.none() | scores_st()) if with_scores else None,
        delivery_date=draw(st.none() | instants),
        timing_window=draw(st.none() | st.just("2026-01-01T00:00:00Z/2026-01-08T00:00:00Z")),
        ttl_days=draw(st.integers(min_value=1, max_value=365)),
    )


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**40), max_value=2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)

# Values at the edges of the contract's rules, mixed into mutations so they hit the boundaries.
EDGE_VALUES: list[Any] = [
    0,
    -1,
    1,
    1.5,
    2.0,
    "",
    " ",
    "a#b",
    "x",
    True,
    False,
    None,
    "2026-13-01",
    "2026-01-01",
    "9999-12-31T23:59:59-01:00",
    [],
    {},
    " 2026-01-01",
    [{}],
]
edge_values = st.sampled_from(EDGE_VALUES)
mutation_values = edge_values | json_values

# What a DynamoDB item can hold: no empty attribute names, numbers within DynamoDB's range.
dynamo_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**40), max_value=2**40)
    | st.floats(-1e9, 1e9, allow_nan=False).map(lambda v: round(v, 6))
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(min_size=1, max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


def paths_of(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    paths = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            paths += paths_of(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            paths += paths_of(child, (*prefix, index))
    return paths


@st.composite
def mutated(
    draw: st.DrawFn, valid: Any, values: st.SearchStrategy[Any] = json_values, *, keep_root: bool = False
) -> Any:
    """``valid`` with one node replaced by an arbitrary JSON value, or deleted."""
    doc = copy.deepcopy(valid)
    path = draw(st.sampled_from(paths_of(doc)[1:] if keep_root else paths_of(doc)))
    if not path:
        return draw(values)
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    if draw(st.booleans()) and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(values)
    return doc


def function_environment(resource: Mapping[str, Any], bucket: str) -> dict[str, str]:
    """A template function's variables, imported table names and the bucket reference made the test's."""
    environment = {}
    for name, value in resource["Properties"]["Environment"]["Variables"].items():
        if isinstance(value, str):
            environment[name] = value
        elif name == "WORKFLOW_BUCKET":
            environment[name] = bucket
        elif name in HANDLER_ENV:
            environment[name] = HANDLER_ENV[name]
        else:
            raise AssertionError(f"no test value for {name}: {value}")
    return environment
