"""The Lambda entry point of a workflow stage, written once for the five stage handlers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ceap_handlers import aws, sharding
from ceap_handlers.observability import instrumented
from ceap_handlers.runtime import OUTPUT_MODE_KEY, StageFunction, run_stage
from ceap_handlers.settings import Settings

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


def stage_handler(process: StageFunction, locate: sharding.SourceLocator | None = None) -> LambdaHandler:
    """An instrumented entry point that runs ``process`` against the S3 hand-off convention.

    The bucket defaults to the function's ``WORKFLOW_BUCKET``; the payload's ``workflowBucket`` wins.
    ``locate`` (a first stage's sources) enables the fan-out over the source: the plan step
    (``"output": "plan"``), one child per shard (``"source"``) and its manifest (``"collectSources"``).
    """

    @instrumented
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        """Lambda entry point (the payload is the stage execution context)."""
        store, bucket = aws.S3ObjectStore(), Settings.from_env().workflow_bucket
        if locate is not None and isinstance(event, dict):
            if event.get(OUTPUT_MODE_KEY) == sharding.OUTPUT_PLAN:
                return sharding.run_plan(event, locate, store=store, default_bucket=bucket)
            if sharding.SOURCE_EVENT_KEY in event:
                return sharding.run_source(event, process, store=store, default_bucket=bucket)
            if sharding.COLLECT_SOURCES_EVENT_KEY in event:
                return sharding.run_source_manifest(event, store=store, default_bucket=bucket)
        # Standard workflows (issue 16): a Distributed Map child, or the manifest step after it.
        if isinstance(event, dict) and sharding.PART_EVENT_KEY in event:
            return sharding.run_part(event, process, store=store, default_bucket=bucket)
        if isinstance(event, dict) and (sharding.RESULTS_EVENT_KEY in event or sharding.COLLECT_EVENT_KEY in event):
            return sharding.run_manifest(event, store=store, default_bucket=bucket)
        return run_stage(event, process, store=store, default_bucket=bucket).to_dict()

    return handler
