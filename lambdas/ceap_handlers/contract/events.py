"""EventBridge events: the customer event the serving side reads, the completion it publishes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from ceap_handlers.contract.fields import OBJECT, TEXT, ContractError, describe, key_part, optional_value, required
from ceap_handlers.contract.instants import INSTANT, parse_instant
from ceap_handlers.contract.items import dedup_key

#: What the Reactive workflow stage publishes (docs/data.md "Reactive (workflow stage)").
WORKFLOW_EVENT_SOURCE: Final = "ceap.workflow"
WORKFLOW_COMPLETED: Final = "WorkflowCompleted"
#: What the customer event rule routes to the serving-side Reactive function.
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
    obj = OBJECT.check(event, "event")
    source = obj.get("source")
    if source != CUSTOMER_EVENT_SOURCE:
        raise ContractError("source", f"expected {CUSTOMER_EVENT_SOURCE!r}, got {describe(source)}")
    if obj.get("detail") is None:
        raise ContractError("detail", "required")
    detail = OBJECT.check(obj["detail"], "detail")
    event_date = optional_value(detail, "eventDate", "detail", INSTANT)
    metadata = optional_value(detail, "metadata", "detail", OBJECT, default={})
    raw_id = obj.get("id")
    event_id = raw_id if isinstance(raw_id, str) and raw_id else "unknown"
    return CustomerEvent(
        event_id=event_id,
        customer_id=key_part(detail, "customerId", "detail"),
        event_type=required(detail, "eventType", "detail", TEXT),
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
