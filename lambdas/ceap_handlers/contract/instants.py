"""Instants: ISO-8601 dates and datetimes in UTC, epoch seconds for DynamoDB TTLs (docs/data.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from ceap_handlers.contract.fields import Code, ContractError, Scalar, describe


def _instant_or_problem(text: str) -> datetime | str:
    stripped = text.strip()
    # fromisoformat accepts compact forms such as '20260101'; the contract wants the extended form.
    if len(stripped) < 10 or stripped[4:5] != "-" or stripped[7:8] != "-":
        return f"expected an ISO-8601 date or datetime, got {describe(text)}"
    try:
        parsed = datetime.fromisoformat(stripped)
    except ValueError:
        return f"expected an ISO-8601 date or datetime, got {describe(text)}"
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        return f"out of range: {describe(text)}"


def parse_instant(value: Any, path: str) -> datetime:
    """Parse ``2026-01-01`` or an ISO-8601 datetime (``2026-01-01T02:00:00Z``) as UTC.

    A datetime without offset is taken as UTC; a date is its midnight UTC.
    """
    if not isinstance(value, str):
        raise ContractError(path, f"expected an ISO-8601 date or datetime string, got {describe(value)}")
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


def _plain_instant(value: Any) -> bool:
    # Stricter than parse_instant (no surrounding blanks, no years at the range ends), never laxer.
    if type(value) is not str or len(value) < 10 or value[4] != "-" or value[7] != "-":
        return False
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return False
    return 1 < parsed.year < 9999


class Instant(Scalar):
    """The rule of an instant field: an ISO-8601 string, parsed to a UTC datetime."""

    def test(self, var: str, code: Code) -> str:
        return f"{code.ref(_plain_instant)}({var})"

    def check(self, value: Any, path: str) -> datetime:
        if value is None:
            raise ContractError(path, "required")
        return parse_instant(value, path)


INSTANT: Final = Instant()
