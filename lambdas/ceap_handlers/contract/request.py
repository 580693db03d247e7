"""The workflow / batch ingestion request (docs/data.md "Request")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ceap_handlers.contract.fields import LIST, OBJECT, TEXT, ContractError, join, key_part, optional_value
from ceap_handlers.contract.instants import INSTANT, format_instant


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


def _is_date_only(value: str) -> bool:
    return len(value.strip()) == 10


def parse_request(value: Any, path: str = "") -> Request:
    """Validate a request.

    Raises
    ------
    ContractError
        Naming the field, e.g. ``dateRange.start``.
    """
    obj = OBJECT.check(value, path or "request")
    program_id = key_part(obj, "programId", path)
    marketplace = key_part(obj, "marketplace", path)
    range_path = join(path, "dateRange")
    if obj.get("dateRange") is None:
        raise ContractError(range_path, "required: {start, end}")
    date_range = OBJECT.check(obj["dateRange"], range_path)
    start = INSTANT.check(date_range.get("start"), join(range_path, "start"))
    end = INSTANT.check(date_range.get("end"), join(range_path, "end"))
    if _is_date_only(date_range["end"]) and end.year < 9999:
        # A date as the end means the whole day: {start: 2026-01-01T02:00:00Z, end: 2026-01-01} is valid.
        end += timedelta(days=1, microseconds=-1)
    if start > end:
        raise ContractError(range_path, f"start {format_instant(start)} is after end {format_instant(end)}")
    records = optional_value(obj, "records", path, LIST)
    return Request(
        program_id=program_id,
        marketplace=marketplace,
        start=start,
        end=end,
        batch_id=optional_value(obj, "batchId", path, TEXT),
        correlation_id=optional_value(obj, "correlationId", path, TEXT),
        records=records,
    )
