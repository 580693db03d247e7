"""Reactive workflow stage entry point: ``ceap_handlers.handlers.reactive.handler``.

The workflow's last stage: reads every earlier stage output of the execution, publishes a
``WorkflowCompleted`` event (source ``ceap.workflow``) and writes the summary as its output.
Environment: ``EVENT_BUS_NAME`` ("default"), ``WORKFLOW_BUCKET``.
"""

from __future__ import annotations

from typing import Any

from ceap_handlers import aws
from ceap_handlers.contract.events import WORKFLOW_COMPLETED, WORKFLOW_EVENT_SOURCE
from ceap_handlers.contract.execution import ExecutionContext
from ceap_handlers.contract.fields import ContractError, key_part
from ceap_handlers.contract.paths import OUTPUT_OBJECT, execution_prefix
from ceap_handlers.handlers.stage_entry import stage_handler
from ceap_handlers.runtime import ObjectStore, StageOutput
from ceap_handlers.settings import Settings
from ceap_handlers.stages import reactive


def stage_outputs(store: ObjectStore, context: ExecutionContext, previous: Any) -> dict[str, Any]:
    """Outputs of the execution's other stages, by stage name (the input is reused, not re-read)."""
    prefix = execution_prefix(context.execution_id)
    outputs: dict[str, Any] = {}
    for key in store.list_keys(context.workflow_bucket, prefix):
        parts = key[len(prefix) :].split("/")
        if len(parts) != 2 or parts[1] != OUTPUT_OBJECT or parts[0] == context.current_stage:
            continue
        stage = parts[0]
        outputs[stage] = previous if stage == context.previous_stage else store.get_json(context.workflow_bucket, key)
    if context.previous_stage is not None:
        outputs[context.previous_stage] = previous
    return outputs


def process(data: Any, context: ExecutionContext, store: ObjectStore) -> StageOutput:
    """Summarise the execution and publish ``WorkflowCompleted``."""
    if not isinstance(data, dict):
        raise ContractError("", f"expected an object, got {type(data).__name__}")
    program_id = key_part(data, "programId", "")
    marketplace = key_part(data, "marketplace", "")
    outputs = stage_outputs(store, context, data)
    summary = reactive.summarise(
        outputs, execution_id=context.execution_id, program_id=program_id, marketplace=marketplace
    )
    event_id = aws.EventPublisher(Settings.from_env().event_bus_name).publish(
        WORKFLOW_EVENT_SOURCE, WORKFLOW_COMPLETED, reactive.event_detail(summary)
    )
    return StageOutput(
        summary,
        records_processed=summary["totalStored"],
        counts={"WorkflowsCompleted": 1, "WorkflowsWithErrors": 0 if summary["success"] else 1},
        log_fields={"summary": summary, "eventId": event_id},
    )


handler = stage_handler(process)
