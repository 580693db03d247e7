"""DynamoDB item layouts: Candidates, ScoreCache, ProgramConfig keys, dedup keys (docs/data.md)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from ceap_handlers.contract.candidate import best_score, eligible_channels
from ceap_handlers.contract.instants import epoch_seconds, parse_instant

#: The TTL attribute of the Candidates, ScoreCache and dedup tables (docs/legacy-system.md "Tables").
TTL_ATTRIBUTE: Final = "ttl"
PROGRAM_CONFIG_SK: Final = "CONFIG"


def candidate_keys(
    customer_id: str, subject_type: str, subject_id: str, program_id: str, marketplace: str
) -> tuple[str, str]:
    """``(PK, SK)`` of a candidate in the Candidates table."""
    return (
        f"CUSTOMER#{customer_id}#PROGRAM#{program_id}#MARKETPLACE#{marketplace}",
        f"SUBJECT#{subject_type}#{subject_id}",
    )


def _keys_of(candidate: Mapping[str, Any], program_id: str, marketplace: str) -> tuple[str, str]:
    subject = candidate["subject"]
    return candidate_keys(candidate["customerId"], subject["type"], subject["id"], program_id, marketplace)


def candidate_id(candidate: Mapping[str, Any], program_id: str, marketplace: str) -> str:
    """Public id of a stored candidate: ``{PK}|{SK}`` (locates the item)."""
    pk, sk = _keys_of(candidate, program_id, marketplace)
    return f"{pk}|{sk}"


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys: equal data gives equal bytes (idempotent writes)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def candidate_item(candidate: Mapping[str, Any], program_id: str, marketplace: str) -> dict[str, Any]:
    """The Candidates table item of a validated candidate (docs/data.md "Store").

    Values are plain ``str`` / ``int``; the DynamoDB adapter adds the type tags.
    """
    pk, sk = _keys_of(candidate, program_id, marketplace)
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
        TTL_ATTRIBUTE: epoch_seconds(expires),
    }


def score_cache_keys(customer_id: str, subject_id: str, model_id: str) -> tuple[str, str]:
    """``(PK, SK)`` of a cached score in the ScoreCache table."""
    return f"CUSTOMER#{customer_id}#SUBJECT#{subject_id}", f"MODEL#{model_id}"


def dedup_key(customer_id: str, subject_type: str, subject_id: str, program_id: str) -> str:
    """Deduplication key of a customer event: ``{customerId}:{subjectType}:{subjectId}:{programId}``."""
    return f"{customer_id}:{subject_type}:{subject_id}:{program_id}"


def program_config_keys(program_id: str, marketplace: str | None = None) -> tuple[str, str]:
    """``(PK, SK)`` of a program's base item, or of its marketplace override."""
    return f"PROGRAM#{program_id}", PROGRAM_CONFIG_SK if marketplace is None else f"MARKETPLACE#{marketplace}"
