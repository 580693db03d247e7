"""Store stage entry point: ``ceap_handlers.handlers.store.handler``.

Environment: ``CANDIDATES_TABLE`` (required), ``WORKFLOW_BUCKET``.
"""

from __future__ import annotations

from typing import Any, Final

from ceap_handlers import aws
from ceap_handlers.contract.candidate import parse_candidate_envelope
from ceap_handlers.contract.execution import ExecutionContext
from ceap_handlers.handlers.stage_entry import stage_handler
from ceap_handlers.observability import logger
from ceap_handlers.runtime import ObjectStore, StageOutput
from ceap_handlers.settings import CANDIDATES_TABLE, Settings
from ceap_handlers.stages import storing

#: Chunks written in parallel: 100,000 candidates are 4,000 BatchWriteItem calls.
WRITERS: Final = 8


def process(data: Any, context: ExecutionContext, store: ObjectStore) -> StageOutput:
    """Write the previous stage's candidates to the Candidates table."""
    envelope = parse_candidate_envelope(data)
    writer = aws.DynamoCandidateWriter(Settings.from_env().require(CANDIDATES_TABLE))
    result = storing.store_candidates(envelope, writer.write_batch, max_workers=WRITERS)
    metrics = result.envelope["metrics"]
    if not result.success:
        logger.error(
            "candidates not written after retries",
            extra={"failedCount": metrics["failedCount"], "failedCandidates": metrics["failedCandidates"][:20]},
        )
    return StageOutput(
        result.envelope,
        records_processed=metrics["storedCount"],
        counts={"CandidatesStored": metrics["storedCount"], "CandidatesNotStored": metrics["failedCount"]},
        log_fields={
            "storedCount": metrics["storedCount"],
            "failedCount": metrics["failedCount"],
            "batchCalls": result.attempts,
        },
    )


handler = stage_handler(process)
