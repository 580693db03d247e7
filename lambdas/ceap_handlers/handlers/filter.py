"""Filter stage entry point: ``ceap_handlers.handlers.filter.handler``.

Environment: ``PROGRAM_CONFIG_TABLE`` (required), ``WORKFLOW_BUCKET``.
"""

from __future__ import annotations

from typing import Any

from ceap_handlers import aws
from ceap_handlers.contract.candidate import parse_candidate_envelope
from ceap_handlers.contract.execution import ExecutionContext
from ceap_handlers.contract.fields import ContractError
from ceap_handlers.errors import PermanentStageError
from ceap_handlers.handlers.stage_entry import stage_handler
from ceap_handlers.observability import utcnow
from ceap_handlers.runtime import ObjectStore, StageOutput
from ceap_handlers.settings import PROGRAM_CONFIG_TABLE, Settings
from ceap_handlers.stages import filtering


def process(data: Any, context: ExecutionContext, store: ObjectStore) -> StageOutput:
    """Run the program's filter chain over the previous stage's candidates."""
    envelope = parse_candidate_envelope(data)
    configs = aws.DynamoProgramConfigs(Settings.from_env().require(PROGRAM_CONFIG_TABLE))
    program = configs.require(envelope.program_id, envelope.marketplace)
    try:
        chain = filtering.build_chain(program)
    except ContractError as exc:
        raise PermanentStageError(f"dynamodb table {configs.table}: {exc}") from None
    result = filtering.run_filters(envelope, chain, now=utcnow())
    metrics = result.envelope["metrics"]
    return StageOutput(
        result.envelope,
        records_processed=metrics["inputCount"],
        counts={"CandidatesPassed": metrics["passedCount"], "CandidatesRejected": metrics["rejectedCount"]},
        log_fields={"metrics": metrics},
    )


handler = stage_handler(process)
