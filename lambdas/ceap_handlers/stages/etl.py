"""ETL stage: extract raw rows from the program's connectors, map fields, build candidates.

Pure: the S3 JSON-lines connector reads through a ``read_lines`` callable that the handler
supplies, so this module imports no AWS SDK (docs/data.md "ETL").
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from ceap_handlers.contract.candidate import validate_candidate
from ceap_handlers.contract.fields import ContractError, is_number
from ceap_handlers.contract.instants import format_instant, parse_instant
from ceap_handlers.contract.program_config import (
    CONNECTOR_INLINE,
    CONNECTOR_S3_JSONL,
    ConnectorConfig,
    FieldMapping,
    ProgramConfig,
)
from ceap_handlers.contract.request import Request

#: ``read_lines(bucket, prefix)`` yields ``(location, line)`` for every line of every object.
ReadLines = Callable[[str, str], Iterable[tuple[str, bytes | str]]]

REQUIRED_FIELDS: Final = ("customerId", "subjectType", "subjectId", "eventDate")
DEFAULT_CHANNELS: Final = {"email": True}
MAX_ERROR_SAMPLES: Final = 20
_TRUE: Final = frozenset({"true", "1", "yes", "y"})
_FALSE: Final = frozenset({"false", "0", "no", "n"})
# Epoch numbers above this are milliseconds (1e11 s is the year 5138).
_MILLIS_THRESHOLD: Final = 1e11


class RowError(ValueError):
    """A raw row cannot become a candidate; the row is skipped and counted."""


@dataclass
class EtlResult:
    """Output envelope of the ETL stage plus samples of rejected rows for the log."""

    envelope: dict[str, Any]
    error_samples: list[dict[str, str]] = field(default_factory=list)
    skipped_reason: str | None = None


# --------------------------------------------------------------------------------------------
# Value conversion
# --------------------------------------------------------------------------------------------


def _to_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if is_number(value):
        # 12.0 from a JSON source should read as "12", the id the source meant.
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    raise RowError(f"expected a string, got {type(value).__name__}")


def _to_integer(value: Any) -> int:
    if is_number(value) and float(value).is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise RowError(f"expected an integer, got {value!r:.40}")


def _to_double(value: Any) -> float:
    if is_number(value):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = math.nan
        if math.isfinite(number):
            return number
    raise RowError(f"expected a number, got {value!r:.40}")


def _to_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise RowError(f"expected a boolean, got {value!r:.40}")


def _to_instant(value: Any) -> str:
    if is_number(value):
        seconds = float(value) / 1000 if abs(float(value)) >= _MILLIS_THRESHOLD else float(value)
        try:
            return format_instant(datetime.fromtimestamp(seconds, tz=UTC))
        except (OverflowError, OSError, ValueError):
            raise RowError(f"epoch time out of range: {value!r:.40}") from None
    try:
        return format_instant(parse_instant(value, "value"))
    except ContractError:
        raise RowError(f"expected an ISO-8601 date or datetime, got {value!r:.40}") from None
    except (OverflowError, ValueError):
        raise RowError(f"date out of range: {value!r:.40}") from None


_CONVERTERS: Final[dict[str, Callable[[Any], Any]]] = {
    "STRING": _to_string,
    "INTEGER": _to_integer,
    "DOUBLE": _to_double,
    "BOOLEAN": _to_boolean,
    "INSTANT": _to_instant,
}


def convert(value: Any, type_name: str) -> Any:
    """Convert a raw value to a field type (STRING, INTEGER, DOUBLE, BOOLEAN, INSTANT).

    Raises
    ------
    RowError
        When the value cannot be converted.
    """
    return _CONVERTERS[type_name](value)


def _key_string(value: Any) -> str:
    text = _to_string(value).strip()
    if not text:
        raise RowError("must not be empty")
    if "#" in text or len(text) > 256:
        raise RowError("must be at most 256 characters without '#'")
    return text


def _text(value: Any) -> str:
    text = _to_string(value)
    if not text.strip():
        raise RowError("must not be empty")
    return text


def _channels(value: Any) -> dict[str, bool]:
    if isinstance(value, Mapping):
        return {str(name): _to_boolean(flag) for name, flag in value.items()}
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list) and all(isinstance(name, str) and name for name in value):
        return {name: True for name in value}
    raise RowError("expected an object of channel flags, a list or a comma-separated string of channels")


def _object_value(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    raise RowError(f"expected an object, got {type(value).__name__}")


# How each candidate field is finally typed, whatever the mapping said.
_TARGET_CONVERTERS: Final[dict[str, Callable[[Any], Any]]] = {
    "customerId": _key_string,
    "subjectType": _key_string,
    "subjectId": _key_string,
    "subjectMetadata": _object_value,
    "eventDate": _to_instant,
    "deliveryDate": _to_instant,
    "timingWindow": _text,
    "orderValue": _to_double,
    "mediaEligible": _to_boolean,
    "channelEligibility": _channels,
    "vertical": _text,
}


# --------------------------------------------------------------------------------------------
# Row mapping
# --------------------------------------------------------------------------------------------


def _lookup(row: Mapping[str, Any], path: str) -> Any:
    if path in row:
        return row[path]
    current: Any = row
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return None
        current = current[part]
    return current


def map_row(row: Any, mappings: Iterable[FieldMapping]) -> dict[str, Any]:
    """Apply field mappings to a raw row; unmapped candidate fields are read by their own name.

    Returns
    -------
    dict
        Candidate field name → converted value (absent fields are left out).

    Raises
    ------
    RowError
        When the row is not an object, a value cannot be converted, or a required field is missing.
    """
    if not isinstance(row, Mapping):
        raise RowError(f"row is not an object ({type(row).__name__})")
    by_target = {m.target: m for m in mappings}
    mapped: dict[str, Any] = {}
    for target, to_target in _TARGET_CONVERTERS.items():
        mapping = by_target.get(target)
        value = _lookup(row, mapping.source if mapping else target)
        if value is None and mapping is not None and mapping.has_default:
            value = mapping.default
        if value is None:
            continue
        try:
            if mapping is not None and mapping.type is not None:
                value = convert(value, mapping.type)
            mapped[target] = to_target(value)
        except RowError as exc:
            raise RowError(f"{target}: {exc}") from None
    missing = [name for name in REQUIRED_FIELDS if name not in mapped]
    if missing:
        raise RowError(f"missing {', '.join(missing)}")
    return mapped


def build_candidate(
    mapped: Mapping[str, Any],
    *,
    program: ProgramConfig,
    marketplace: str,
    connector_id: str,
    execution_id: str,
    now: datetime,
) -> dict[str, Any]:
    """Build a candidate from a mapped row (channels default to e-mail only)."""
    context = [{"type": "marketplace", "id": marketplace}, {"type": "program", "id": program.program_id}]
    if "vertical" in mapped:
        context.append({"type": "vertical", "id": mapped["vertical"]})
    subject: dict[str, Any] = {"type": mapped["subjectType"], "id": mapped["subjectId"]}
    if "subjectMetadata" in mapped:
        subject["metadata"] = mapped["subjectMetadata"]
    attributes: dict[str, Any] = {"eventDate": mapped["eventDate"]}
    for name in ("deliveryDate", "timingWindow", "orderValue", "mediaEligible"):
        if name in mapped:
            attributes[name] = mapped[name]
    if "timingWindow" not in attributes and program.timing_window_days:
        # An ISO-8601 interval from the event: what the eligibility filter's timing check needs.
        start = parse_instant(mapped["eventDate"], "eventDate")
        attributes["timingWindow"] = (
            f"{mapped['eventDate']}/{format_instant(start + timedelta(days=program.timing_window_days))}"
        )
    # An explicit empty object from the row means "no channel"; only an absent one defaults.
    attributes["channelEligibility"] = dict(mapped.get("channelEligibility", DEFAULT_CHANNELS))
    created = format_instant(now)
    return {
        "customerId": mapped["customerId"],
        "context": context,
        "subject": subject,
        "attributes": attributes,
        "metadata": {
            "createdAt": created,
            "updatedAt": created,
            "expiresAt": format_instant(now + timedelta(days=program.candidate_ttl_days)),
            "version": 1,
            "sourceConnectorId": connector_id,
            "workflowExecutionId": execution_id,
        },
    }


# --------------------------------------------------------------------------------------------
# Extraction
# --------------------------------------------------------------------------------------------


def _rows(
    connector: ConnectorConfig, request: Request, read_lines: ReadLines | None, default_bucket: str
) -> Iterator[tuple[str, Any]]:
    if connector.connector_type == CONNECTOR_INLINE:
        for i, row in enumerate(request.records or []):
            yield f"records[{i}]", row
        return
    if connector.connector_type == CONNECTOR_S3_JSONL:
        assert read_lines is not None  # stream_etl checks it before any row is read
        assert connector.prefix is not None  # the config parser requires it
        # The same (bucket, prefix) as source_locations: a source shard's reader matches on it.
        for location, line in read_lines(connector.bucket or default_bucket, connector.prefix):
            text = line.decode("utf-8", errors="replace") if isinstance(line, bytes) else line
            if not text.strip():
                continue
            try:
                yield location, json.loads(text)
            except ValueError as exc:
                yield location, RowError(f"invalid JSON line ({exc.__class__.__name__})")


@dataclass
class EtlStream:
    """The ETL stage as a stream: rows are extracted while ``candidates`` is consumed.

    ``metrics`` and ``error_samples`` fill in as it goes and are final once ``candidates`` is
    exhausted, so a run in parts holds one part of candidates, never the whole source.
    """

    header: dict[str, Any]
    candidates: Iterator[dict[str, Any]]
    metrics: dict[str, int]
    error_samples: list[dict[str, str]] = field(default_factory=list)
    skipped_reason: str | None = None


def _extract(
    connectors: Iterable[ConnectorConfig],
    request: Request,
    program: ProgramConfig,
    stream: EtlStream,
    *,
    execution_id: str,
    now: datetime,
    default_bucket: str,
    read_lines: ReadLines | None,
) -> Iterator[dict[str, Any]]:
    metrics = stream.metrics
    for connector in connectors:
        for location, row in _rows(connector, request, read_lines, default_bucket):
            metrics["processedCount"] += 1
            try:
                if isinstance(row, RowError):
                    raise row
                mapped = map_row(row, connector.field_mappings)
                candidate = build_candidate(
                    mapped,
                    program=program,
                    marketplace=request.marketplace,
                    connector_id=connector.connector_id,
                    execution_id=execution_id,
                    now=now,
                )
                # Cheap insurance that ETL never hands an invalid candidate to the next stage.
                validate_candidate(candidate)
            except (RowError, ContractError, OverflowError) as exc:
                metrics["errorCount"] += 1
                if len(stream.error_samples) < MAX_ERROR_SAMPLES:
                    stream.error_samples.append(
                        {"row": location, "connectorId": connector.connector_id, "reason": str(exc)}
                    )
                continue
            metrics["transformedCount"] += 1
            yield candidate


def skip_reason(request: Request, program: ProgramConfig) -> str | None:
    """Why the program yields no candidates (disabled, no connector), or ``None``; raises on a bad request.

    Raises
    ------
    ContractError
        Marketplace not enabled for the program, inline records without an inline connector.
    """
    if not program.enabled:
        return f"program {program.program_id} is disabled"
    if program.marketplaces and request.marketplace not in program.marketplaces:
        known = ", ".join(program.marketplaces)
        raise ContractError(
            "marketplace", f"{request.marketplace!r} is not a marketplace of program {program.program_id} ({known})"
        )
    connectors = program.enabled_connectors
    if request.records and not any(c.connector_type == CONNECTOR_INLINE for c in connectors):
        raise ContractError(
            "records", f"program {program.program_id} has no enabled inline connector to map inline records"
        )
    if not connectors:
        return f"program {program.program_id} has no enabled data connector"
    return None


def source_locations(program: ProgramConfig, default_bucket: str) -> list[tuple[str, str]]:
    """``(bucket, prefix)`` of each enabled JSON Lines connector, in connector order (what ETL reads)."""
    locations = []
    for connector in program.enabled_connectors:
        if connector.connector_type == CONNECTOR_S3_JSONL:
            assert connector.prefix is not None  # the config parser requires it
            locations.append((connector.bucket or default_bucket, connector.prefix))
    return locations


def stream_etl(
    request: Request,
    program: ProgramConfig,
    *,
    execution_id: str,
    now: datetime,
    default_bucket: str,
    read_lines: ReadLines | None = None,
) -> EtlStream:
    """Run the ETL stage as a stream (the one place of its rules; :func:`run_etl` collects it).

    Parameters
    ----------
    request : Request
        The validated request (``initialData``).
    program : ProgramConfig
        The program's configuration with the marketplace override applied.
    execution_id : str
        Recorded in every candidate's ``metadata.workflowExecutionId``.
    now : datetime
        ``createdAt`` of the candidates.
    default_bucket : str
        Bucket of an S3 connector without ``sourceConfig.bucket`` (the workflow bucket).
    read_lines : callable, optional
        ``read_lines(bucket, prefix)`` for the JSON-lines connector.

    Raises
    ------
    ContractError
        Here, before any row is read: marketplace not enabled for the program, inline records
        without an inline connector, an S3 connector without a reader.
    """
    stream = EtlStream(
        header={"programId": request.program_id, "marketplace": request.marketplace},
        candidates=iter(()),
        metrics={"processedCount": 0, "transformedCount": 0, "errorCount": 0},
    )
    stream.skipped_reason = skip_reason(request, program)
    if stream.skipped_reason:
        return stream
    connectors = program.enabled_connectors
    if read_lines is None:
        for connector in connectors:
            if connector.connector_type == CONNECTOR_S3_JSONL:
                raise ContractError(f"dataConnectors[{connector.connector_id}]", "no S3 reader available")
    stream.candidates = _extract(
        connectors,
        request,
        program,
        stream,
        execution_id=execution_id,
        now=now,
        default_bucket=default_bucket,
        read_lines=read_lines,
    )
    return stream


def run_etl(
    request: Request,
    program: ProgramConfig,
    *,
    execution_id: str,
    now: datetime,
    default_bucket: str,
    read_lines: ReadLines | None = None,
) -> EtlResult:
    """Run the ETL stage into one envelope (the single-object hand-off); see :func:`stream_etl`."""
    stream = stream_etl(
        request, program, execution_id=execution_id, now=now, default_bucket=default_bucket, read_lines=read_lines
    )
    candidates = list(stream.candidates)
    envelope = {"candidates": candidates, "metrics": stream.metrics, **stream.header}
    return EtlResult(envelope, stream.error_samples, stream.skipped_reason)
