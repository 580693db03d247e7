"""ETL stage entry point: ``ceap_handlers.handlers.etl.handler``.

Environment: ``PROGRAM_CONFIG_TABLE`` (required), ``WORKFLOW_BUCKET``.
"""

from __future__ import annotations

from typing import Any

from ceap_handlers import aws
from ceap_handlers.contract.execution import ExecutionContext
from ceap_handlers.contract.request import parse_request
from ceap_handlers.handlers.stage_entry import stage_handler
from ceap_handlers.observability import logger, utcnow
from ceap_handlers.runtime import ObjectStore, StageOutput
from ceap_handlers.settings import PROGRAM_CONFIG_TABLE, Settings
from ceap_handlers.stages import etl


def process(data: Any, context: ExecutionContext, store: ObjectStore) -> StageOutput:
    """Validate the request, load the program; its rows are extracted while the runner writes them.

    The candidates stream out (``etl.stream_etl``): the runner writes them as parts in a standard
    run, holding one part, or collects them into the single object of an express run.
    """
    settings = Settings.from_env()
    request = parse_request(data)
    program = aws.DynamoProgramConfigs(settings.require(PROGRAM_CONFIG_TABLE)).require(
        request.program_id, request.marketplace
    )
    stream = etl.stream_etl(
        request,
        program,
        execution_id=context.execution_id,
        now=utcnow(),
        default_bucket=context.workflow_bucket,
        read_lines=store.read_lines,
    )
    if stream.skipped_reason:
        logger.warning("no candidates extracted", extra={"reason": stream.skipped_reason})
    envelope = {"candidates": stream.candidates, "metrics": stream.metrics, **stream.header}

    def complete() -> StageOutput:
        metrics = stream.metrics  # final: the runner has consumed the candidates
        if stream.error_samples:
            logger.warning("rows skipped", extra={"errorCount": metrics["errorCount"], "samples": stream.error_samples})
        return StageOutput(
            envelope,
            records_processed=metrics["processedCount"],
            counts={"CandidatesExtracted": metrics["transformedCount"], "RowsSkipped": metrics["errorCount"]},
            log_fields={"metrics": metrics, **stream.header},
        )

    return StageOutput(envelope, records_processed=0, complete=complete)


def locate(data: Any, context: ExecutionContext) -> list[tuple[str, str]]:
    """The ``(bucket, prefix)`` sources of a request (the plan step); request errors raise here."""
    request = parse_request(data)
    program = aws.DynamoProgramConfigs(Settings.from_env().require(PROGRAM_CONFIG_TABLE)).require(
        request.program_id, request.marketplace
    )
    if etl.skip_reason(request, program):
        return []  # the one shard, empty: its child logs why and extracts nothing
    return etl.source_locations(program, context.workflow_bucket)


handler = stage_handler(process, locate)
