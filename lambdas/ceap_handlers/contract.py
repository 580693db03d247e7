"""The data contract between the stages, the state machines and the tables (DATA.md).

Everything that crosses a process boundary is defined here and nowhere else: the stage task
payload (:class:`ExecutionContext`), the handler result (:class:`StageResult`), the request, the
candidate and its envelope, the program configuration, the S3 key convention, the DynamoDB item
layouts and the customer event. Validation is hand-written (no schema library on the cold-start
path) and every failure is a :class:`ContractError` that names the offending field with a JSON
path such as ``candidates[3].attributes.eventDate``.

Candidates stay plain ``dict`` objects (parsed JSON): they are validated once when a stage reads
them and then handled as data, which keeps 100,000-candidate stages fast.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

# --------------------------------------------------------------------------------------------
# Errors and field helpers
# --------------------------------------------------------------------------------------------


class ContractError(ValueError):
    """A value does not satisfy the contract.

    Parameters
    ----------
    field : str
        JSON path of the offending value, e.g. ``dateRange.start``.
    problem : str
        What is wrong and what is allowed.
    """

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}" if field else problem)


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _object(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ContractError(path, f"expected an object, got {type(value).__name__}")
    return value


def _list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise ContractError(path, f"expected a list, got {type(value).__name__}")
    return value


def _missing(obj: Mapping[str, Any], key: str) -> bool:
    # Optional fields may be absent or null: Spark (the Glue step) writes nulls for absent values.
    return obj.get(key) is None


def _string(obj: Mapping[str, Any], key: str, path: str, *, max_len: int = 1024) -> str:
    value = obj.get(key)
    where = _join(path, key)
    if value is None:
        raise ContractError(where, "required")
    if not isinstance(value, str):
        raise ContractError(where, f"expected a string, got {type(value).__name__}")
    if not value.strip():
        raise ContractError(where, "must not be empty")
    if len(value) > max_len:
        raise ContractError(where, f"longer than {max_len} characters")
    return value


def _optional_string(obj: Mapping[str, Any], key: str, path: str) -> str | None:
    return None if _missing(obj, key) else _string(obj, key, path)


def key_part(obj: Mapping[str, Any], key: str, path: str) -> str:
    """Return ``obj[key]`` if it can be part of a ``#``-separated DynamoDB key.

    ``#`` separates key components (``CUSTOMER#{customerId}#PROGRAM#...``), so a value holding
    one would make two different candidates share a key.
    """
    value = _string(obj, key, path, max_len=256)
    if "#" in value:
        raise ContractError(_join(path, key), f"must not contain '#': {_describe(value)}")
    return value


def is_number(value: Any) -> bool:
    """True for a finite int or float (``bool`` is not a number here)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and math.isfinite(value)


def _number(obj: Mapping[str, Any], key: str, path: str) -> float:
    value = obj.get(key)
    if not is_number(value):
        raise ContractError(_join(path, key), f"expected a finite number, got {_describe(value)}")
    return float(value)


def _unit_interval(obj: Mapping[str, Any], key: str, path: str) -> float:
    value = _number(obj, key, path)
    if not 0.0 <= value <= 1.0:
        raise ContractError(_join(path, key), f"must be between 0 and 1, got {value}")
    return value


def _bool(obj: Mapping[str, Any], key: str, path: str, default: bool | None = None) -> bool:
    value = obj.get(key)
    if value is None and default is not None:
        return default
    if not isinstance(value, bool):
        raise ContractError(_join(path, key), f"expected true or false, got {_describe(value)}")
    return value


def _positive_int(obj: Mapping[str, Any], key: str, path: str, maximum: int | None = None) -> int:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ContractError(_join(path, key), f"expected an integer > 0, got {_describe(value)}")
    if maximum is not None and value > maximum:
        raise ContractError(_join(path, key), f"must be at most {maximum}, got {value}")
    return value


#: Upper bound of day counts in the configuration (100 years): keeps date arithmetic in range.
MAX_DAYS: Final = 36500


# --------------------------------------------------------------------------------------------
# Time
# --------------------------------------------------------------------------------------------


def _instant_or_problem(text: str) -> datetime | str:
    stripped = text.strip()
    # fromisoformat accepts compact forms such as '20260101'; the contract wants the extended form.
    if len(stripped) < 10 or stripped[4:5] != "-" or stripped[7:8] != "-":
        return f"expected an ISO-8601 date or datetime, got {_describe(text)}"
    try:
        parsed = datetime.fromisoformat(stripped)
    except ValueError:
        return f"expected an ISO-8601 date or datetime, got {_describe(text)}"
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        return f"out of range: {_describe(text)}"


def parse_instant(value: Any, path: str) -> datetime:
    """Parse ``2026-01-01`` or an ISO-8601 datetime (``2026-01-01T02:00:00Z``) as UTC.

    A datetime without offset is taken as UTC; a date is its midnight UTC.
    """
    if not isinstance(value, str):
        raise ContractError(path, f"expected an ISO-8601 date or datetime string, got {_describe(value)}")
    result = _instant_or_problem(value)
    if isinstance(result, str):
        raise ContractError(path, result)
    return result


def format_instant(moment: datetime) -> str:
    """Format a datetime as ``YYYY-MM-DDTHH:MM:SSZ`` (UTC, second precision)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    # isoformat, not strftime: strftime drops the leading zeros of years before 1000.
    return moment.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat() + "Z"


def epoch_seconds(moment: datetime) -> int:
    """Whole seconds since the epoch, the unit DynamoDB TTL attributes use."""
    return int(moment.timestamp())


def _instant(obj: Mapping[str, Any], key: str, path: str) -> datetime:
    value = obj.get(key)
    if value is None:
        raise ContractError(_join(path, key), "required")
    return parse_instant(value, _join(path, key))


# --------------------------------------------------------------------------------------------
# S3 key convention and stage payload
# --------------------------------------------------------------------------------------------

EXECUTIONS_PREFIX: Final = "executions/"
SOURCES_PREFIX: Final = "sources/"
OUTPUT_OBJECT: Final = "output.json"

_NAME_FORBIDDEN = re.compile(r"[/\s\x00-\x1f\x7f]")
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def stage_output_key(execution_id: str, stage: str) -> str:
    """S3 key of a stage's output: ``executions/{executionId}/{stage}/output.json``."""
    return f"{EXECUTIONS_PREFIX}{execution_id}/{stage}/{OUTPUT_OBJECT}"


def execution_prefix(execution_id: str) -> str:
    """S3 prefix holding every stage output of one execution."""
    return f"{EXECUTIONS_PREFIX}{execution_id}/"


def s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def _path_segment(obj: Mapping[str, Any], key: str, path: str = "") -> str:
    value = _string(obj, key, path, max_len=256)
    if _NAME_FORBIDDEN.search(value) or value in {".", ".."}:
        raise ContractError(
            _join(path, key),
            f"must be a single S3 key segment (no '/', whitespace or control characters): {_describe(value)}",
        )
    return value


@dataclass(frozen=True)
class ExecutionContext:
    """The payload Step Functions passes to every Lambda stage (SYSTEM.md section 6).

    Attributes
    ----------
    execution_id : str
        ``$$.Execution.Name``; names the S3 folder of the execution.
    current_stage : str
        This stage's name; its output goes to ``executions/{id}/{current_stage}/output.json``.
    previous_stage : str or None
        The stage whose output is this stage's input; ``None`` for the first stage.
    workflow_bucket : str
        Bucket of the hand-off objects.
    initial_data : dict or None
        The request, given to the first stage only.
    """

    execution_id: str
    current_stage: str
    previous_stage: str | None
    workflow_bucket: str
    initial_data: dict[str, Any] | None = None

    @classmethod
    def from_payload(cls, payload: Any, default_bucket: str | None = None) -> ExecutionContext:
        """Validate a stage task payload.

        Parameters
        ----------
        payload : Any
            The Lambda event.
        default_bucket : str, optional
            ``WORKFLOW_BUCKET`` of the function; the payload's ``workflowBucket`` wins.

        Raises
        ------
        ContractError
            Naming the missing or malformed field.
        """
        obj = _object(payload, "payload")
        execution_id = _path_segment(obj, "executionId")
        current = _path_segment(obj, "currentStage")
        if "previousStage" not in obj:
            raise ContractError("previousStage", "required (null for the first stage)")
        previous = None if obj["previousStage"] is None else _path_segment(obj, "previousStage")
        bucket = obj.get("workflowBucket") or default_bucket
        if bucket is None:
            raise ContractError("workflowBucket", "required (or set WORKFLOW_BUCKET on the function)")
        if not isinstance(bucket, str) or not _BUCKET_NAME.match(bucket):
            raise ContractError("workflowBucket", f"not a valid S3 bucket name: {_describe(bucket)}")
        initial: dict[str, Any] | None = None
        if previous is None:
            if obj.get("initialData") is None:
                raise ContractError("initialData", "required for the first stage (previousStage is null)")
            initial = _object(obj["initialData"], "initialData")
        if previous == current:
            raise ContractError("previousStage", f"must differ from currentStage {current!r}")
        return cls(execution_id, current, previous, bucket, initial)

    @property
    def input_key(self) -> str | None:
        """Key of the input object, ``None`` for the first stage."""
        if self.previous_stage is None:
            return None
        return stage_output_key(self.execution_id, self.previous_stage)

    @property
    def output_key(self) -> str:
        return stage_output_key(self.execution_id, self.current_stage)

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "executionId": self.execution_id,
            "currentStage": self.current_stage,
            "previousStage": self.previous_stage,
            "workflowBucket": self.workflow_bucket,
        }
        if self.initial_data is not None:
            payload["initialData"] = self.initial_data
        return payload


STATUS_SUCCEEDED: Final = "SUCCEEDED"
STATUS_FAILED: Final = "FAILED"


@dataclass(frozen=True)
class StageResult:
    """What a stage handler returns (Step Functions discards it; logs and tests read it)."""

    status: str
    stage: str
    records_processed: int
    output_key: str | None
    error_message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "stage": self.stage,
            "recordsProcessed": self.records_processed,
            "outputKey": self.output_key,
            "errorMessage": self.error_message,
        }


# --------------------------------------------------------------------------------------------
# Request
# --------------------------------------------------------------------------------------------


def _is_date_only(value: str) -> bool:
    return len(value.strip()) == 10


@dataclass(frozen=True)
class Request:
    """A workflow / batch ingestion request.

    The date range is kept as given (validated, ``start <= end``); scheduled runs send the event
    time for both ends.
    """

    program_id: str
    marketplace: str
    start: datetime
    end: datetime
    batch_id: str | None = None
    correlation_id: str | None = None
    records: list[Any] | None = None


def parse_request(value: Any, path: str = "") -> Request:
    """Validate a request (DATA.md "Request").

    Raises
    ------
    ContractError
        Naming the field, e.g. ``dateRange.start``.
    """
    obj = _object(value, path or "request")
    program_id = key_part(obj, "programId", path)
    marketplace = key_part(obj, "marketplace", path)
    range_path = _join(path, "dateRange")
    if obj.get("dateRange") is None:
        raise ContractError(range_path, "required: {start, end}")
    date_range = _object(obj["dateRange"], range_path)
    start = _instant(date_range, "start", range_path)
    end = _instant(date_range, "end", range_path)
    if _is_date_only(date_range["end"]) and end.year < 9999:
        # A date as the end means the whole day: {start: 2026-01-01T02:00:00Z, end: 2026-01-01} is valid.
        end += timedelta(days=1, microseconds=-1)
    if start > end:
        raise ContractError(range_path, f"start {format_instant(start)} is after end {format_instant(end)}")
    records = None
    if not _missing(obj, "records"):
        records = _list(obj["records"], _join(path, "records"))
    return Request(
        program_id=program_id,
        marketplace=marketplace,
        start=start,
        end=end,
        batch_id=_optional_string(obj, "batchId", path),
        correlation_id=_optional_string(obj, "correlationId", path),
        records=records,
    )


# --------------------------------------------------------------------------------------------
# Candidate and envelopes
# --------------------------------------------------------------------------------------------


def _validate_score(value: Any, path: str) -> None:
    score = _object(value, path)
    _string(score, "modelId", path)
    _unit_interval(score, "value", path)
    if not _missing(score, "confidence"):
        _unit_interval(score, "confidence", path)
    _instant(score, "timestamp", path)
    if not _missing(score, "metadata"):
        _object(score["metadata"], _join(path, "metadata"))


def _text_ok(value: Any, max_len: int = 1024) -> bool:
    return type(value) is str and 0 < len(value) <= max_len and not value.isspace()


def _key_ok(value: Any) -> bool:
    return type(value) is str and 0 < len(value) <= 256 and not value.isspace() and "#" not in value


def _instant_ok(value: Any) -> bool:
    # Stricter than parse_instant (no surrounding blanks, no years at the range ends), never laxer.
    if type(value) is not str or len(value) < 10 or value[4] != "-" or value[7] != "-":
        return False
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return False
    return 1 < parsed.year < 9999


def _unit_ok(value: Any) -> bool:
    return (type(value) is float or type(value) is int) and 0 <= value <= 1


def _optional_dict_ok(value: Any) -> bool:
    return value is None or type(value) is dict


def _candidate_is_valid(cand: Any) -> bool:
    """The checks of :func:`validate_candidate` without error reporting (the fast path).

    Returns False on anything unusual (including subclasses of dict / str); the caller then runs
    the reporting validator, so this may be stricter but never more lenient than it (a property
    test holds it to that).
    """
    if type(cand) is not dict or not _key_ok(cand.get("customerId")):
        return False
    context = cand.get("context")
    if type(context) is not list or not context:
        return False
    for entry in context:
        if type(entry) is not dict or not _text_ok(entry.get("type")) or not _text_ok(entry.get("id")):
            return False
    subject = cand.get("subject")
    if type(subject) is not dict or not _key_ok(subject.get("type")) or not _key_ok(subject.get("id")):
        return False
    if not _optional_dict_ok(subject.get("metadata")):
        return False
    scores = cand.get("scores")
    if scores is not None:
        if type(scores) is not dict:
            return False
        for score in scores.values():
            if type(score) is not dict or not _text_ok(score.get("modelId")) or not _unit_ok(score.get("value")):
                return False
            confidence = score.get("confidence")
            if (confidence is not None and not _unit_ok(confidence)) or not _instant_ok(score.get("timestamp")):
                return False
            if not _optional_dict_ok(score.get("metadata")):
                return False
    attrs = cand.get("attributes")
    if type(attrs) is not dict or not _instant_ok(attrs.get("eventDate")):
        return False
    delivery, window, order, media = (
        attrs.get(k) for k in ("deliveryDate", "timingWindow", "orderValue", "mediaEligible")
    )
    if (delivery is not None and not _instant_ok(delivery)) or (window is not None and not _text_ok(window)):
        return False
    if order is not None and not ((type(order) is float and math.isfinite(order)) or type(order) is int):
        return False
    if media is not None and type(media) is not bool:
        return False
    channels = attrs.get("channelEligibility")
    if type(channels) is not dict or any(type(flag) is not bool for flag in channels.values()):
        return False
    meta = cand.get("metadata")
    if type(meta) is not dict:
        return False
    if not (
        _instant_ok(meta.get("createdAt")) and _instant_ok(meta.get("updatedAt")) and _instant_ok(meta.get("expiresAt"))
    ):
        return False
    version = meta.get("version")
    if type(version) is not int or version <= 0:
        return False
    if not _text_ok(meta.get("sourceConnectorId")) or not _text_ok(meta.get("workflowExecutionId")):
        return False
    # Rare: let the reporting validator handle it.
    return cand.get("rejectionHistory") is None


def validate_candidate(value: Any, path: str = "candidate") -> dict[str, Any]:
    """Validate a candidate (DATA.md "Candidate") and return it unchanged.

    Unknown top-level keys (e.g. the Glue step's ``features``) are allowed and kept.

    Raises
    ------
    ContractError
        Naming the first invalid field.
    """
    if _candidate_is_valid(value):
        return value  # type: ignore[no-any-return]
    return _validate_candidate_reporting(value, path)


def _validate_candidate_reporting(value: Any, path: str) -> dict[str, Any]:
    cand = _object(value, path)
    key_part(cand, "customerId", path)

    context_path = _join(path, "context")
    context = _list(cand.get("context"), context_path)
    if not context:
        raise ContractError(context_path, "must not be empty")
    for i, entry in enumerate(context):
        entry_path = _join(context_path, i)
        _string(_object(entry, entry_path), "type", entry_path)
        _string(entry, "id", entry_path)

    subject_path = _join(path, "subject")
    subject = _object(cand.get("subject"), subject_path)
    key_part(subject, "type", subject_path)
    key_part(subject, "id", subject_path)
    if not _missing(subject, "metadata"):
        _object(subject["metadata"], _join(subject_path, "metadata"))

    if not _missing(cand, "scores"):
        scores_path = _join(path, "scores")
        for model_id, score in _object(cand["scores"], scores_path).items():
            _validate_score(score, _join(scores_path, model_id))

    attr_path = _join(path, "attributes")
    attrs = _object(cand.get("attributes"), attr_path)
    _instant(attrs, "eventDate", attr_path)
    if not _missing(attrs, "deliveryDate"):
        _instant(attrs, "deliveryDate", attr_path)
    if not _missing(attrs, "timingWindow"):
        _string(attrs, "timingWindow", attr_path)
    if not _missing(attrs, "orderValue"):
        _number(attrs, "orderValue", attr_path)
    if not _missing(attrs, "mediaEligible"):
        _bool(attrs, "mediaEligible", attr_path)
    channels_path = _join(attr_path, "channelEligibility")
    for channel, eligible in _object(attrs.get("channelEligibility"), channels_path).items():
        # null: Spark gives every candidate every channel seen in the batch; it means "not eligible".
        if eligible is not None and not isinstance(eligible, bool):
            raise ContractError(_join(channels_path, channel), f"expected true or false, got {_describe(eligible)}")

    meta_path = _join(path, "metadata")
    meta = _object(cand.get("metadata"), meta_path)
    _instant(meta, "createdAt", meta_path)
    _instant(meta, "updatedAt", meta_path)
    _instant(meta, "expiresAt", meta_path)
    _positive_int(meta, "version", meta_path)
    _string(meta, "sourceConnectorId", meta_path)
    _string(meta, "workflowExecutionId", meta_path)

    if not _missing(cand, "rejectionHistory"):
        history_path = _join(path, "rejectionHistory")
        for i, record in enumerate(_list(cand["rejectionHistory"], history_path)):
            record_path = _join(history_path, i)
            _object(record, record_path)
            for key in ("filterId", "reason", "reasonCode"):
                _string(record, key, record_path)
            _instant(record, "timestamp", record_path)
    return cand


@dataclass(frozen=True)
class CandidateEnvelope:
    """The candidate-carrying part of a stage output (ETL, Filter, HeavyETL, Score)."""

    program_id: str
    marketplace: str
    candidates: list[dict[str, Any]]


def parse_candidate_envelope(value: Any) -> CandidateEnvelope:
    """Validate ``{candidates, programId, marketplace, ...}``; other keys are ignored."""
    obj = _object(value, "envelope")
    program_id = key_part(obj, "programId", "")
    marketplace = key_part(obj, "marketplace", "")
    candidates = _list(obj.get("candidates"), "candidates")
    for i, candidate in enumerate(candidates):
        validate_candidate(candidate, f"candidates[{i}]")
    return CandidateEnvelope(program_id, marketplace, candidates)


def best_score(candidate: Mapping[str, Any]) -> float:
    """Highest score value of a candidate, 0.0 when it has none."""
    scores = candidate.get("scores") or {}
    return max((float(s["value"]) for s in scores.values()), default=0.0)


def eligible_channels(candidate: Mapping[str, Any]) -> list[str]:
    """Eligible channels in name order.

    Name order, not the JSON object's order, because the Glue step (Spark) may reorder keys and
    the Candidates GSI must not depend on who wrote the object last.
    """
    channels = candidate["attributes"].get("channelEligibility") or {}
    return sorted(name for name, eligible in channels.items() if eligible is True)


# --------------------------------------------------------------------------------------------
# DynamoDB item layouts
# --------------------------------------------------------------------------------------------


def candidate_keys(
    customer_id: str, subject_type: str, subject_id: str, program_id: str, marketplace: str
) -> tuple[str, str]:
    """``(PK, SK)`` of a candidate in the Candidates table."""
    return (
        f"CUSTOMER#{customer_id}#PROGRAM#{program_id}#MARKETPLACE#{marketplace}",
        f"SUBJECT#{subject_type}#{subject_id}",
    )


def candidate_id(candidate: Mapping[str, Any], program_id: str, marketplace: str) -> str:
    """Public id of a stored candidate: ``{PK}|{SK}`` (locates the item)."""
    pk, sk = candidate_keys(
        candidate["customerId"], candidate["subject"]["type"], candidate["subject"]["id"], program_id, marketplace
    )
    return f"{pk}|{sk}"


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys: equal data gives equal bytes (idempotent writes)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def candidate_item(candidate: Mapping[str, Any], program_id: str, marketplace: str) -> dict[str, Any]:
    """The Candidates table item of a validated candidate (DATA.md "Store").

    Values are plain ``str`` / ``int``; the DynamoDB adapter adds the type tags.
    """
    pk, sk = candidate_keys(
        candidate["customerId"], candidate["subject"]["type"], candidate["subject"]["id"], program_id, marketplace
    )
    channels = eligible_channels(candidate)
    created = parse_instant(candidate["metadata"]["createdAt"], "metadata.createdAt")
    expires = parse_instant(candidate["metadata"]["expiresAt"], "metadata.expiresAt")
    customer = candidate["customerId"]
    return {
        "PK": pk,
        "SK": sk,
        "GSI1PK": f"PROGRAM#{program_id}#CHANNEL#{channels[0] if channels else 'none'}",
        "GSI1SK": f"SCORE#{best_score(candidate):.6f}#CUSTOMER#{customer}",
        "GSI2PK": f"PROGRAM#{program_id}#DATE#{created.strftime('%Y-%m-%d')}",
        "GSI2SK": f"CREATED#{epoch_seconds(created)}#CUSTOMER#{customer}",
        "customerId": customer,
        "data": canonical_json(candidate),
        "version": int(candidate["metadata"]["version"]),
        "ttl": epoch_seconds(expires),
    }


def score_cache_keys(customer_id: str, subject_id: str, model_id: str) -> tuple[str, str]:
    """``(PK, SK)`` of a cached score in the ScoreCache table."""
    return f"CUSTOMER#{customer_id}#SUBJECT#{subject_id}", f"MODEL#{model_id}"


def dedup_key(customer_id: str, subject_type: str, subject_id: str, program_id: str) -> str:
    """Deduplication key of a customer event: ``{customerId}:{subjectType}:{subjectId}:{programId}``."""
    return f"{customer_id}:{subject_type}:{subject_id}:{program_id}"


# --------------------------------------------------------------------------------------------
# Program configuration (table ProgramConfig)
# --------------------------------------------------------------------------------------------

PROGRAM_CONFIG_SK: Final = "CONFIG"


def program_config_keys(program_id: str, marketplace: str | None = None) -> tuple[str, str]:
    """``(PK, SK)`` of a program's base item, or of its marketplace override."""
    return f"PROGRAM#{program_id}", PROGRAM_CONFIG_SK if marketplace is None else f"MARKETPLACE#{marketplace}"


FIELD_TYPES: Final = frozenset({"STRING", "INTEGER", "DOUBLE", "BOOLEAN", "INSTANT"})
CANDIDATE_FIELDS: Final = (
    "customerId",
    "subjectType",
    "subjectId",
    "subjectMetadata",
    "eventDate",
    "deliveryDate",
    "timingWindow",
    "orderValue",
    "mediaEligible",
    "channelEligibility",
    "vertical",
)
CONNECTOR_INLINE: Final = "inline"
CONNECTOR_S3_JSONL: Final = "s3_jsonl"
CONNECTOR_TYPES: Final = (CONNECTOR_INLINE, CONNECTOR_S3_JSONL)
_NO_DEFAULT: Final = object()


@dataclass(frozen=True)
class FieldMapping:
    """``target`` ← ``source`` (a dotted path into the raw row), converted to ``type``."""

    target: str
    source: str
    type: str | None = None
    default: Any = _NO_DEFAULT

    @property
    def has_default(self) -> bool:
        return self.default is not _NO_DEFAULT


@dataclass(frozen=True)
class ConnectorConfig:
    connector_id: str
    connector_type: str
    enabled: bool
    source_config: dict[str, Any]
    field_mappings: tuple[FieldMapping, ...] = ()
    bucket: str | None = None
    prefix: str | None = None


@dataclass(frozen=True)
class ModelConfig:
    model_id: str
    model_type: str
    enabled: bool
    model_config: dict[str, Any]


@dataclass(frozen=True)
class FilterConfig:
    filter_id: str
    filter_type: str
    enabled: bool
    parameters: dict[str, Any]
    order: int
    path: str = ""


@dataclass(frozen=True)
class ProgramConfig:
    """A program's configuration, marketplace override applied (DATA.md "ProgramConfig")."""

    program_id: str
    program_name: str
    enabled: bool
    marketplaces: tuple[str, ...]
    data_connectors: tuple[ConnectorConfig, ...]
    scoring_models: tuple[ModelConfig, ...]
    filters: tuple[FilterConfig, ...]
    channels: tuple[dict[str, Any], ...]
    reactive_enabled: bool
    candidate_ttl_days: int
    timing_window_days: int | None = None
    source: str = field(default="", compare=False)

    @property
    def enabled_filters(self) -> list[FilterConfig]:
        """Enabled filters by ``order`` (ties keep their configured position)."""
        return sorted((f for f in self.filters if f.enabled), key=lambda f: f.order)

    @property
    def enabled_models(self) -> list[ModelConfig]:
        return [m for m in self.scoring_models if m.enabled]

    @property
    def enabled_connectors(self) -> list[ConnectorConfig]:
        return [c for c in self.data_connectors if c.enabled]


def merge_program_items(base: Mapping[str, Any], override: Mapping[str, Any] | None) -> dict[str, Any]:
    """Apply a marketplace override: its top-level attributes replace the base item's."""
    merged = dict(base)
    for key, value in (override or {}).items():
        if key not in {"PK", "SK"}:
            merged[key] = value
    return merged


def _parse_field_mappings(value: Any, path: str) -> tuple[FieldMapping, ...]:
    mappings = []
    targets: set[str] = set()
    for i, raw in enumerate(_list(value, path)):
        entry_path = _join(path, i)
        entry = _object(raw, entry_path)
        target = _string(entry, "targetField", entry_path)
        if target not in CANDIDATE_FIELDS:
            raise ContractError(
                _join(entry_path, "targetField"), f"{target!r} is not one of {', '.join(CANDIDATE_FIELDS)}"
            )
        if target in targets:
            raise ContractError(_join(entry_path, "targetField"), f"{target!r} is mapped twice")
        targets.add(target)
        source = _optional_string(entry, "sourceField", entry_path) or target
        type_name = _optional_string(entry, "type", entry_path)
        if type_name is not None and type_name.upper() not in FIELD_TYPES:
            raise ContractError(
                _join(entry_path, "type"), f"{type_name!r} is not one of {', '.join(sorted(FIELD_TYPES))}"
            )
        default = entry.get("default", _NO_DEFAULT)
        mappings.append(FieldMapping(target, source, type_name.upper() if type_name else None, default))
    return tuple(mappings)


def _parse_connector(value: Any, path: str) -> ConnectorConfig:
    obj = _object(value, path)
    connector_id = _string(obj, "connectorId", path)
    raw_type = _string(obj, "connectorType", path)
    connector_type = raw_type.strip().lower().replace("-", "_")
    if connector_type not in CONNECTOR_TYPES:
        raise ContractError(
            _join(path, "connectorType"), f"{raw_type!r} is not supported; supported: {', '.join(CONNECTOR_TYPES)}"
        )
    source_path = _join(path, "sourceConfig")
    source = {} if _missing(obj, "sourceConfig") else _object(obj["sourceConfig"], source_path)
    mappings: tuple[FieldMapping, ...] = ()
    if not _missing(source, "fieldMappings"):
        mappings = _parse_field_mappings(source["fieldMappings"], _join(source_path, "fieldMappings"))
    bucket = prefix = None
    if connector_type == CONNECTOR_S3_JSONL:
        bucket = _optional_string(source, "bucket", source_path)
        if bucket is not None and not _BUCKET_NAME.match(bucket):
            raise ContractError(_join(source_path, "bucket"), f"not a valid S3 bucket name: {_describe(bucket)}")
        prefix = _string(source, "prefix", source_path)
        # The ETL role may read only under sources/ (least privilege): say so before S3 says 403.
        if not prefix.startswith(SOURCES_PREFIX):
            raise ContractError(
                _join(source_path, "prefix"), f"must start with {SOURCES_PREFIX!r}, got {_describe(prefix)}"
            )
    return ConnectorConfig(
        connector_id=connector_id,
        connector_type=connector_type,
        enabled=_bool(obj, "enabled", path, default=True),
        source_config=source,
        field_mappings=mappings,
        bucket=bucket,
        prefix=prefix,
    )


def _parse_model(value: Any, path: str) -> ModelConfig:
    obj = _object(value, path)
    config = {} if _missing(obj, "modelConfig") else _object(obj["modelConfig"], _join(path, "modelConfig"))
    return ModelConfig(
        model_id=_string(obj, "modelId", path),
        # The type is checked when the model runs: an unknown one falls back (DATA.md "Score").
        model_type=_optional_string(obj, "modelType", path) or "weighted",
        enabled=_bool(obj, "enabled", path, default=True),
        model_config=config,
    )


def _parse_filter(value: Any, path: str) -> FilterConfig:
    obj = _object(value, path)
    order = obj.get("order", 0)
    if isinstance(order, bool) or not isinstance(order, int):
        raise ContractError(_join(path, "order"), f"expected an integer, got {_describe(order)}")
    params = {} if _missing(obj, "parameters") else _object(obj["parameters"], _join(path, "parameters"))
    return FilterConfig(
        filter_id=_string(obj, "filterId", path),
        filter_type=_string(obj, "filterType", path),
        enabled=_bool(obj, "enabled", path, default=True),
        parameters=params,
        order=order,
        path=path,
    )


def parse_program_config(item: Any, source: str = "ProgramConfig") -> ProgramConfig:
    """Validate a ProgramConfig item (base attributes with the marketplace override merged in).

    Parameters
    ----------
    item : Any
        The item's attributes as plain JSON values (numbers as int/float).
    source : str
        Prefix of error field paths, e.g. ``ProgramConfig[PROGRAM#retail]``.
    """
    obj = _object(item, source)
    marketplaces = tuple(
        key_part({"m": m}, "m", f"{source}.marketplaces[{i}]")
        for i, m in enumerate(_list(obj.get("marketplaces", []), _join(source, "marketplaces")))
    )
    connectors_path = _join(source, "dataConnectors")
    connectors = tuple(
        _parse_connector(c, _join(connectors_path, i))
        for i, c in enumerate(_list(obj.get("dataConnectors", []), connectors_path))
    )
    models_path = _join(source, "scoringModels")
    models = tuple(
        _parse_model(m, _join(models_path, i)) for i, m in enumerate(_list(obj.get("scoringModels", []), models_path))
    )
    chain_path = _join(source, "filterChain")
    chain = {} if _missing(obj, "filterChain") else _object(obj["filterChain"], chain_path)
    filters_path = _join(chain_path, "filters")
    filters = tuple(
        _parse_filter(f, _join(filters_path, i)) for i, f in enumerate(_list(chain.get("filters", []), filters_path))
    )
    channels_path = _join(source, "channels")
    channels = tuple(
        _object(c, _join(channels_path, i)) for i, c in enumerate(_list(obj.get("channels", []), channels_path))
    )
    timing = None
    if not _missing(obj, "timingWindowDays"):
        timing = _positive_int(obj, "timingWindowDays", source, MAX_DAYS)
    return ProgramConfig(
        program_id=key_part(obj, "programId", source),
        program_name=_optional_string(obj, "programName", source) or obj["programId"],
        enabled=_bool(obj, "enabled", source, default=True),
        marketplaces=marketplaces,
        data_connectors=connectors,
        scoring_models=models,
        filters=filters,
        channels=channels,
        reactive_enabled=_bool(obj, "reactiveEnabled", source, default=False),
        candidate_ttl_days=_positive_int(obj, "candidateTTLDays", source, MAX_DAYS),
        timing_window_days=timing,
        source=source,
    )


# --------------------------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------------------------

WORKFLOW_EVENT_SOURCE: Final = "ceap.workflow"
WORKFLOW_COMPLETED: Final = "WorkflowCompleted"
CUSTOMER_EVENT_SOURCE: Final = "ceap.customer-events"


@dataclass(frozen=True)
class CustomerEvent:
    """``detail`` of a ``ceap.customer-events`` EventBridge event."""

    event_id: str
    customer_id: str
    event_type: str
    subject_type: str
    subject_id: str
    program_id: str
    marketplace: str
    event_date: datetime | None
    metadata: dict[str, Any]

    @property
    def dedup_key(self) -> str:
        return dedup_key(self.customer_id, self.subject_type, self.subject_id, self.program_id)


def parse_customer_event(event: Any) -> CustomerEvent:
    """Validate an EventBridge customer event.

    Raises
    ------
    ContractError
        Naming the field, e.g. ``detail.subjectId``.
    """
    obj = _object(event, "event")
    source = obj.get("source")
    if source != CUSTOMER_EVENT_SOURCE:
        raise ContractError("source", f"expected {CUSTOMER_EVENT_SOURCE!r}, got {_describe(source)}")
    if obj.get("detail") is None:
        raise ContractError("detail", "required")
    detail = _object(obj["detail"], "detail")
    event_date = None
    if not _missing(detail, "eventDate"):
        event_date = _instant(detail, "eventDate", "detail")
    metadata = {} if _missing(detail, "metadata") else _object(detail["metadata"], "detail.metadata")
    event_id = obj.get("id") if isinstance(obj.get("id"), str) and obj.get("id") else "unknown"
    return CustomerEvent(
        event_id=event_id,
        customer_id=key_part(detail, "customerId", "detail"),
        event_type=_string(detail, "eventType", "detail"),
        subject_type=key_part(detail, "subjectType", "detail"),
        subject_id=key_part(detail, "subjectId", "detail"),
        program_id=key_part(detail, "programId", "detail"),
        marketplace=key_part(detail, "marketplace", "detail"),
        event_date=event_date,
        metadata=metadata,
    )


def event_time(event: Mapping[str, Any]) -> datetime | None:
    """The EventBridge envelope's ``time`` if it is a valid instant."""
    try:
        return parse_instant(event.get("time"), "time")
    except ContractError:
        return None
