"""The two standard-workflow modes of a stage (issue 16; contract in lambdas/README.md).

- Part child (one Distributed Map item): ``{executionId, currentStage, previousStage,
  workflowBucket, part: {key, count, index}}``. Reads the previous stage's manifest (its header:
  programId, marketplace) and that ONE part, runs the same stage function as the single-object
  path over its candidates, writes ``executions/{id}/{stage}/parts/part-{index:05d}.jsonl`` and
  returns ``{key, count, index, metrics, header}``. Memory is bounded by the part, not the run.
- Manifest step (after the Map): ``{executionId, currentStage, workflowBucket, partResults: [...]}``
  writes the stage's ``output.json`` and ``parts.json`` from the children's results.
"""

from __future__ import annotations

from typing import Any

from ceap_handlers import part_io
from ceap_handlers.contract import parts
from ceap_handlers.contract.execution import STATUS_SUCCEEDED, StageResult
from ceap_handlers.contract.fields import ContractError
from ceap_handlers.contract.paths import s3_uri, stage_output_key
from ceap_handlers.errors import PermanentStageError
from ceap_handlers.observability import count, logger, metrics
from ceap_handlers.runtime import StageFunction, _cyclic_gc_paused, parse_context

PART_EVENT_KEY = "part"
RESULTS_EVENT_KEY = "partResults"


def _part_item(event: dict[str, Any]) -> tuple[str, int]:
    item = event.get(PART_EVENT_KEY)
    key = item.get("key") if isinstance(item, dict) else None
    index = item.get("index") if isinstance(item, dict) else None
    if not isinstance(key, str) or not key or not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise PermanentStageError(
            f"invalid part event: part: expected {{key: non-empty string, index: integer >= 0}}, got {item!r}"
        )
    return key, index


def run_part(event: dict[str, Any], stage: StageFunction, *, store: Any, default_bucket: str | None) -> dict[str, Any]:
    """Run ``stage`` over one part of the previous stage's output; returns the part result."""
    context = parse_context({k: v for k, v in event.items() if k not in {PART_EVENT_KEY, "stage"}}, default_bucket)
    if context.input_key is None:
        raise PermanentStageError("invalid part event: previousStage: required (a part is a previous stage's output)")
    key, index = _part_item(event)
    bucket = context.workflow_bucket
    out_key = parts.part_key(context.execution_id, context.current_stage, index)
    logger.append_keys(executionId=context.execution_id, stage=context.current_stage, part=index)
    metrics.add_dimension(name="stage", value=context.current_stage)
    with _cyclic_gc_paused():
        previous = store.get_json(bucket, context.input_key)
        if not isinstance(previous, dict):
            raise PermanentStageError(f"{s3_uri(bucket, context.input_key)}: expected a stage manifest object")
        envelope = {**part_io.header_of(previous), "candidates": part_io.read_part(store, bucket, key)}
        try:
            output = stage(envelope, context, store)
        except ContractError as exc:
            raise PermanentStageError(f"{s3_uri(bucket, key)}: {exc}") from None
        candidates = output.envelope.get("candidates") or []
        part_io.write_part(store, bucket, out_key, candidates)
    header = part_io.header_of(output.envelope)
    result = {
        "key": out_key,
        "count": len(candidates),
        "index": index,
        "metrics": output.envelope.get("metrics") or {},
        "header": header,
    }
    count("PartsProcessed")
    for name, value in output.counts.items():
        count(name, value)
    logger.info("part succeeded", extra={"inputPath": s3_uri(bucket, key), "outputPath": s3_uri(bucket, out_key)})
    return result


def run_manifest(event: dict[str, Any], *, store: Any, default_bucket: str | None) -> dict[str, Any]:
    """Write the stage manifest from the Map's results; returns the StageResult."""
    results = event.get(RESULTS_EVENT_KEY)
    payload = {k: v for k, v in event.items() if k != RESULTS_EVENT_KEY}
    payload.setdefault("previousStage", "parts")  # the manifest step reads no previous output
    context = parse_context(payload, default_bucket)
    if not isinstance(results, list) or not all(isinstance(r, dict) and "key" in r for r in results):
        raise PermanentStageError(f"invalid manifest event: {RESULTS_EVENT_KEY}: expected a list of part results")
    document = part_io.write_manifest(
        store, context.workflow_bucket, context.execution_id, context.current_stage, results
    )
    count("StageSucceeded")
    key = stage_output_key(context.execution_id, context.current_stage)
    return StageResult(STATUS_SUCCEEDED, context.current_stage, int(document["count"]), key).to_dict()
