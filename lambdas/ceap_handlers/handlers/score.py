"""Score stage entry point: ``ceap_handlers.handlers.score.handler``.

Environment: ``PROGRAM_CONFIG_TABLE`` (required: the models), ``SCORE_CACHE_TABLE`` (cache off
when unset), ``SCORE_CACHE_TTL_HOURS`` (24), ``WORKFLOW_BUCKET``.
"""

from __future__ import annotations

from typing import Any

from ceap_handlers import aws
from ceap_handlers.contract.candidate import parse_candidate_envelope
from ceap_handlers.contract.execution import ExecutionContext
from ceap_handlers.handlers.stage_entry import stage_handler
from ceap_handlers.observability import logger, utcnow
from ceap_handlers.runtime import ObjectStore, StageOutput
from ceap_handlers.settings import PROGRAM_CONFIG_TABLE, Settings
from ceap_handlers.stages import scoring


def process(data: Any, context: ExecutionContext, store: ObjectStore) -> StageOutput:
    """Score the previous stage's candidates (Filter's, or the Glue step's)."""
    settings = Settings.from_env()
    envelope = parse_candidate_envelope(data)
    program = aws.DynamoProgramConfigs(settings.require(PROGRAM_CONFIG_TABLE)).require(
        envelope.program_id, envelope.marketplace
    )
    cache = aws.DynamoScoreCache(settings.score_cache_table) if settings.score_cache_table else None
    result = scoring.score_candidates(
        envelope, program.enabled_models, now=utcnow(), cache=cache, cache_ttl_hours=settings.score_cache_ttl_hours
    )
    if result.model_errors:
        logger.warning("models fell back", extra={"modelErrors": result.model_errors})
    if result.cache_errors:
        logger.warning("score cache unavailable, scores computed", extra={"cacheErrors": result.cache_errors})
    metrics = result.envelope["metrics"]
    return StageOutput(
        result.envelope,
        records_processed=metrics["inputCount"],
        counts={
            "CandidatesScored": metrics["scoredCount"],
            "ScoreFallbacks": metrics["fallbackCount"],
            "ScoreCacheHits": metrics["cacheHitCount"],
            "ScoreCacheErrors": len(result.cache_errors),
        },
        log_fields={"metrics": metrics},
    )


handler = stage_handler(process)
