"""Serving-side Reactive entry point: ``ceap_handlers.handlers.customer_event.handler``.

Invoked by the ``ceap.customer-events`` EventBridge rule. Environment: ``DEDUPLICATION_TABLE``,
``PROGRAM_CONFIG_TABLE``, ``CANDIDATES_TABLE`` (required), ``SCORE_CACHE_TABLE`` (cache off when
unset), ``SCORE_CACHE_TTL_HOURS``.

Malformed events and business outcomes (duplicate, disabled program, rejected by a filter) are
answered, not raised: retrying them cannot help. AWS failures are raised so that Lambda's
asynchronous retries and failure destination see them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ceap_handlers import aws
from ceap_handlers.contract.program_config import ProgramConfig
from ceap_handlers.observability import count, instrumented, logger, utcnow
from ceap_handlers.settings import CANDIDATES_TABLE, DEDUPLICATION_TABLE, PROGRAM_CONFIG_TABLE, Settings
from ceap_handlers.stages import serving
from ceap_handlers.stages.scoring import ScoreCache


class AwsServingPorts:
    """DynamoDB-backed ports of the serving logic."""

    def __init__(self, settings: Settings) -> None:
        self._dedup = aws.DynamoDeduplication(
            settings.require(DEDUPLICATION_TABLE),
            window_seconds=serving.DEDUP_WINDOW_SECONDS,
            ttl_seconds=serving.DEDUP_TTL_SECONDS,
        )
        self._configs = aws.DynamoProgramConfigs(settings.require(PROGRAM_CONFIG_TABLE))
        self._writer = aws.DynamoCandidateWriter(settings.require(CANDIDATES_TABLE))
        self._cache = (
            aws.DynamoScoreCache(settings.score_cache_table, max_workers=1) if settings.score_cache_table else None
        )

    def claim(self, key: str, now: datetime) -> bool:
        return self._dedup.claim(key, now)

    def release(self, key: str, now: datetime) -> None:
        self._dedup.release(key, now)

    def load_program(self, program_id: str, marketplace: str) -> ProgramConfig | None:
        return self._configs.load(program_id, marketplace)

    def score_cache(self) -> ScoreCache | None:
        return self._cache

    def write_batch(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self._writer.write_batch(items)


@instrumented
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point (the event is an EventBridge customer event)."""
    event_id = event.get("id") if isinstance(event, dict) else None
    logger.append_keys(eventId=event_id if isinstance(event_id, str) else None)
    result = serving.handle_customer_event(event, AwsServingPorts(Settings.from_env()), now=utcnow())
    count("CustomerEvents")
    if result["candidateCreated"]:
        count("CandidatesCreated")
    elif result.get("reason") == serving.DUPLICATE_EVENT:
        count("DuplicateEvents")
    elif not result["success"]:
        count("MalformedEvents")
    logger.info("customer event handled", extra={"result": result})
    return result
