"""Serving-side Reactive handler logic: customer event → candidate (docs/data.md "Reactive (serving)").

Order: validate the event, claim its deduplication key with one conditional write (atomic: two
identical events racing each other cannot both pass), then build the candidate, run the
program's filters, score, store. A failure after the claim releases it (an unconditional put
that marks the key released) so the retry of the same event is not mistaken for a duplicate.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Final, Protocol

from ceap_handlers.contract.candidate import CandidateEnvelope
from ceap_handlers.contract.events import CustomerEvent, event_time, parse_customer_event
from ceap_handlers.contract.fields import ContractError
from ceap_handlers.contract.instants import format_instant
from ceap_handlers.contract.items import candidate_id
from ceap_handlers.contract.program_config import CANDIDATE_FIELDS, ProgramConfig
from ceap_handlers.errors import PermanentStageError, TransientStageError
from ceap_handlers.stages import etl, filtering, scoring, storing

SOURCE_CONNECTOR_ID: Final = "customer-events"
DUPLICATE_EVENT: Final = "DUPLICATE_EVENT"
PROGRAM_DISABLED: Final = "PROGRAM_DISABLED"
REACTIVE_DISABLED: Final = "REACTIVE_DISABLED"
MARKETPLACE_NOT_ENABLED: Final = "MARKETPLACE_NOT_ENABLED"
DEDUP_WINDOW_SECONDS: Final = 300
DEDUP_TTL_SECONDS: Final = 600
# Event metadata fields that become candidate attributes: every mapped field but those the detail
# itself carries (anything else is ignored).
_METADATA_FIELDS: Final = tuple(f for f in CANDIDATE_FIELDS if f not in etl.REQUIRED_FIELDS)


class ServingPorts(Protocol):
    """What the serving handler needs from AWS."""

    def claim(self, key: str, now: datetime) -> bool:
        """Conditionally record ``key``; False when it was seen within the dedup window."""
        ...

    def release(self, key: str, now: datetime) -> None: ...

    def load_program(self, program_id: str, marketplace: str) -> ProgramConfig | None: ...

    def score_cache(self) -> scoring.ScoreCache | None: ...

    def write_batch(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]: ...


def response(
    *, success: bool, created: bool = False, candidate: str | None = None, reason: str | None = None
) -> dict[str, Any]:
    """The handler's answer ``{success, candidateCreated, candidateId, reason?}``."""
    body: dict[str, Any] = {"success": success, "candidateCreated": created, "candidateId": candidate}
    if reason is not None:
        body["reason"] = reason
    return body


def handle_customer_event(
    event: Any, ports: ServingPorts, *, now: datetime, sleep: Callable[[float], None] | None = None
) -> dict[str, Any]:
    """Process one customer event.

    Returns
    -------
    dict
        ``success: false`` with the field named for a malformed event (not worth a retry);
        ``candidateCreated: false`` with a reason for duplicates, disabled programs and
        rejections (``reason`` is the filter's reason code).

    Raises
    ------
    TransientStageError, PermanentStageError
        AWS failures and misconfigured programs: Lambda's asynchronous retries and its failure
        destination take over; the dedup claim has been released.
    """
    try:
        parsed = parse_customer_event(event)
    except ContractError as exc:
        return response(success=False, reason=str(exc))

    if not ports.claim(parsed.dedup_key, now):
        return response(success=True, reason=DUPLICATE_EVENT)
    try:
        return _process(parsed, event, ports, now=now, sleep=sleep)
    except BaseException:
        ports.release(parsed.dedup_key, now)
        raise


def _process(
    parsed: CustomerEvent, event: Any, ports: ServingPorts, *, now: datetime, sleep: Callable[[float], None] | None
) -> dict[str, Any]:
    program = ports.load_program(parsed.program_id, parsed.marketplace)
    if program is None:
        return response(success=False, reason=f"detail.programId: unknown program {parsed.program_id!r}")
    if not program.enabled:
        return response(success=True, reason=PROGRAM_DISABLED)
    if not program.reactive_enabled:
        return response(success=True, reason=REACTIVE_DISABLED)
    if program.marketplaces and parsed.marketplace not in program.marketplaces:
        return response(success=True, reason=MARKETPLACE_NOT_ENABLED)

    occurred = parsed.event_date or event_time(event) or now
    row = {name: parsed.metadata[name] for name in _METADATA_FIELDS if name in parsed.metadata}
    row.update(
        customerId=parsed.customer_id,
        subjectType=parsed.subject_type,
        subjectId=parsed.subject_id,
        eventDate=format_instant(occurred),
    )
    try:
        mapped = etl.map_row(row, ())
        candidate = etl.build_candidate(
            mapped,
            program=program,
            marketplace=parsed.marketplace,
            connector_id=SOURCE_CONNECTOR_ID,
            execution_id=f"event-{parsed.event_id}",
            now=now,
        )
    except (etl.RowError, OverflowError) as exc:
        return response(success=False, reason=f"detail.metadata: {exc}")

    try:
        chain = filtering.build_chain(program)
    except ContractError as exc:
        raise PermanentStageError(f"program {program.program_id}: {exc}") from None
    rejection = filtering.apply_chain(chain, candidate, now)
    if rejection is not None:
        return response(success=True, reason=rejection[1])

    envelope = CandidateEnvelope(program.program_id, parsed.marketplace, [candidate])
    scored = scoring.score_candidates(envelope, program.enabled_models, now=now, cache=ports.score_cache())
    scored_envelope = CandidateEnvelope(program.program_id, parsed.marketplace, scored.envelope["candidates"])
    stored = storing.store_candidates(scored_envelope, ports.write_batch, **({"sleep": sleep} if sleep else {}))
    if not stored.success:
        raise TransientStageError(
            f"candidate {candidate_id(candidate, program.program_id, parsed.marketplace)}: not written after retries"
        )
    return response(
        success=True, created=True, candidate=candidate_id(candidate, program.program_id, parsed.marketplace)
    )
