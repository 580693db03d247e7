"""The candidate, its scores and the envelope stages hand over (docs/data.md "Candidate").

The candidate's rules are one table (:data:`CANDIDATE`): the fast path (``CANDIDATE.ok``, exact
types, no messages) and the reporting validator (``CANDIDATE.check``, the first invalid field
named) are both read off it, so they cannot drift apart. Candidates stay plain ``dict`` objects
(parsed JSON): validated once when a stage reads them, then handled as data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from ceap_handlers.contract.fields import (
    FLAG,
    KEY,
    LIST,
    NUMBER,
    OBJECT,
    POSITIVE_INT,
    TEXT,
    UNIT,
    Field,
    ListOf,
    MapOf,
    Record,
    key_part,
    optional,
)
from ceap_handlers.contract.instants import INSTANT

SCORE: Final = Record(
    Field("modelId", TEXT),
    Field("value", UNIT),
    optional("confidence", UNIT),
    Field("timestamp", INSTANT),
    optional("metadata", OBJECT),
)

REJECTION: Final = Record(
    Field("filterId", TEXT),
    Field("reason", TEXT),
    Field("reasonCode", TEXT),
    Field("timestamp", INSTANT),
)

#: Field order is the order errors are found in: the first invalid field is the one reported.
CANDIDATE: Final = Record(
    Field("customerId", KEY),
    Field("context", ListOf(Record(Field("type", TEXT), Field("id", TEXT)), non_empty=True)),
    Field("subject", Record(Field("type", KEY), Field("id", KEY), optional("metadata", OBJECT))),
    optional("scores", MapOf(SCORE)),
    Field(
        "attributes",
        Record(
            Field("eventDate", INSTANT),
            optional("deliveryDate", INSTANT),
            optional("timingWindow", TEXT),
            optional("orderValue", NUMBER),
            optional("mediaEligible", FLAG),
            # null: Spark gives every candidate every channel seen in the batch; it means "not eligible".
            Field("channelEligibility", MapOf(FLAG, nullable=True)),
        ),
    ),
    Field(
        "metadata",
        Record(
            Field("createdAt", INSTANT),
            Field("updatedAt", INSTANT),
            Field("expiresAt", INSTANT),
            Field("version", POSITIVE_INT),
            Field("sourceConnectorId", TEXT),
            Field("workflowExecutionId", TEXT),
        ),
    ),
    optional("rejectionHistory", ListOf(REJECTION)),
)


def validate_candidate(value: Any, path: str = "candidate") -> dict[str, Any]:
    """Validate a candidate and return it unchanged.

    Unknown top-level keys (e.g. the Glue step's ``features``) are allowed and kept.

    Raises
    ------
    ContractError
        Naming the first invalid field.
    """
    if CANDIDATE.ok(value):
        return value  # type: ignore[no-any-return]
    return CANDIDATE.check(value, path)


@dataclass(frozen=True)
class CandidateEnvelope:
    """The candidate-carrying part of a stage output (ETL, Filter, HeavyETL, Score)."""

    program_id: str
    marketplace: str
    candidates: list[dict[str, Any]]


def parse_candidate_envelope(value: Any) -> CandidateEnvelope:
    """Validate ``{candidates, programId, marketplace, ...}``; other keys are ignored."""
    obj = OBJECT.check(value, "envelope")
    program_id = key_part(obj, "programId", "")
    marketplace = key_part(obj, "marketplace", "")
    candidates = LIST.check(obj.get("candidates"), "candidates")
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
