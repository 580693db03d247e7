"""The two standard-workflow modes of a stage (issue 16; contract in lambdas/README.md).

- Part child (one Distributed Map item): ``{executionId, currentStage, previousStage,
  workflowBucket, part: {key, count, index}}``. Reads the previous stage's manifest (its header:
  programId, marketplace) and that ONE part, runs the same stage function as the single-object
  path over its candidates, writes ``executions/{id}/{stage}/parts/part-{index:05d}.jsonl``, then
  its result ``{key, count, index, metrics, header}`` to ``.../results/part-{index:05d}.json``,
  and returns the result. Memory is bounded by the part, not the run.
- Manifest step (after the Map), same function, writes the stage's ``output.json`` and
  ``parts.json`` from the children's results: ``collectParts: true`` reads them from S3 (one per
  item of the previous stage's ``parts.json``; the Map discards the children's output, whose
  array would exceed the 256 KB state limit), ``partResults: [...]`` takes them inline.
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
from ceap_handlers.runtime import StageFunction, _cyclic_gc_paused, parse_context, single_object

PART_EVENT_KEY = "part"
RESULTS_EVENT_KEY = "partResults"
COLLECT_EVENT_KEY = "collectParts"


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
        candidates = single_object(output.envelope).get("candidates") or []
        part_io.write_part(store, bucket, out_key, candidates)
        output = output.completed()
    header = part_io.header_of(output.envelope)
    result = {
        "key": out_key,
        "count": len(candidates),
        "index": index,
        "metrics": output.envelope.get("metrics") or {},
        "header": header,
    }
    # After the part: a result object means its part exists (a retried child rewrites both).
    store.put_json(bucket, parts.part_result_key(context.execution_id, context.current_stage, index), result)
    count("PartsProcessed")
    for name, value in output.counts.items():
        count(name, value)
    logger.info("part succeeded", extra={"inputPath": s3_uri(bucket, key), "outputPath": s3_uri(bucket, out_key)})
    return result


def run_manifest(event: dict[str, Any], *, store: Any, default_bucket: str | None) -> dict[str, Any]:
    """Write the stage manifest from the children's results; returns the StageResult.

    ``collectParts: true`` reads the results from S3 (memory: the N small results, never a part);
    ``partResults`` is the inline list form.
    """
    collect = event.get(COLLECT_EVENT_KEY)
    payload = {k: v for k, v in event.items() if k not in {RESULTS_EVENT_KEY, COLLECT_EVENT_KEY}}
    if collect is not None:
        if collect is not True:
            raise PermanentStageError(f"invalid manifest event: {COLLECT_EVENT_KEY}: expected true, got {collect!r}")
        if RESULTS_EVENT_KEY in event:
            raise PermanentStageError(
                f"invalid manifest event: {RESULTS_EVENT_KEY}: not allowed with {COLLECT_EVENT_KEY} (pick one)"
            )
        if payload.get("previousStage") is None:
            raise PermanentStageError(
                f"invalid manifest event: previousStage: required with {COLLECT_EVENT_KEY} "
                "(its parts.json lists the parts)"
            )
    else:
        payload.setdefault("previousStage", "parts")  # the inline form reads no previous output
    context = parse_context(payload, default_bucket)
    bucket = context.workflow_bucket
    logger.append_keys(executionId=context.execution_id, stage=context.current_stage)
    if collect:
        assert context.previous_stage is not None  # checked above
        results = part_io.collect_results(
            store, bucket, context.execution_id, context.previous_stage, context.current_stage
        )
    else:
        inline = event.get(RESULTS_EVENT_KEY)
        if not isinstance(inline, list) or not all(isinstance(r, dict) and "key" in r for r in inline):
            raise PermanentStageError(f"invalid manifest event: {RESULTS_EVENT_KEY}: expected a list of part results")
        results = inline
    document = part_io.write_manifest(store, bucket, context.execution_id, context.current_stage, results)
    count("StageSucceeded")
    key = stage_output_key(context.execution_id, context.current_stage)
    logger.info("manifest written", extra={"outputPath": s3_uri(bucket, key), "parts": len(results)})
    return StageResult(STATUS_SUCCEEDED, context.current_stage, int(document["count"]), key).to_dict()
