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

import os
from collections.abc import Callable, Iterator
from typing import Any

from ceap_handlers import part_io
from ceap_handlers.contract import parts, sources
from ceap_handlers.contract.execution import STATUS_SUCCEEDED, ExecutionContext, StageResult
from ceap_handlers.contract.fields import ContractError
from ceap_handlers.contract.paths import s3_uri, stage_output_key
from ceap_handlers.errors import PermanentStageError
from ceap_handlers.observability import count, logger, metrics
from ceap_handlers.runtime import OUTPUT_MODE_KEY, StageFunction, _cyclic_gc_paused, parse_context, single_object

PART_EVENT_KEY = "part"
RESULTS_EVENT_KEY = "partResults"
COLLECT_EVENT_KEY = "collectParts"
SOURCE_EVENT_KEY = "source"
COLLECT_SOURCES_EVENT_KEY = "collectSources"
#: ``"output": "plan"``: the first stage's plan step (lists and cuts the source, reads no row).
OUTPUT_PLAN = "plan"

#: ``locate(initialData, context)``: the ``(bucket, prefix)`` sources of a request; raises ContractError.
SourceLocator = Callable[[dict[str, Any], ExecutionContext], list[tuple[str, str]]]


def _part_item(event: dict[str, Any]) -> tuple[str, int]:
    item = event.get(PART_EVENT_KEY)
    key = item.get("key") if isinstance(item, dict) else None
    index = item.get("index") if isinstance(item, dict) else None
    if not isinstance(key, str) or not key or not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise PermanentStageError(
            f"invalid part event: part: expected {{key: non-empty string, index: integer >= 0}}, got {item!r}"
        )
    return key, index


def _write_side_outputs(
    store: Any, bucket: str, execution_id: str, stage: str, index: int, envelope: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """Write each non-empty side output (``part_io.SIDE_OUTPUTS``) of a part; ``{name: {key, count}}``."""
    written = {}
    for name in part_io.SIDE_OUTPUTS:
        rows = envelope.get(name)
        if isinstance(rows, list) and rows:
            key = parts.side_part_key(execution_id, stage, name, index)
            part_io.write_part(store, bucket, key, rows)
            written[name] = {"key": key, "count": len(rows)}
    return written


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
        sides = _write_side_outputs(store, bucket, context.execution_id, context.current_stage, index, output.envelope)
    header = part_io.header_of(output.envelope)
    result = {
        "key": out_key,
        "count": len(candidates),
        "index": index,
        "metrics": output.envelope.get("metrics") or {},
        "header": header,
    }
    if sides:
        result["sideOutputs"] = sides
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
        list_key = parts.parts_list_key(context.execution_id, context.previous_stage)
        results = part_io.collect_results(store, bucket, context.execution_id, list_key, context.current_stage)
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


# ---- the first stage fanned out over its source ----------------------------------------------


def source_too_large(total_bytes: int, shards: int, shard_bytes: int, limit: int) -> PermanentStageError:
    """The plan's error when the source needs more shards than the ETL Map's ``MaxItems``."""
    return PermanentStageError(
        f"source too large for one run: {total_bytes} bytes make {shards} shards of at most {shard_bytes} bytes "
        f"({parts.SOURCE_SHARD_BYTES_VARIABLE}); {parts.MAX_SOURCE_SHARDS_VARIABLE} is {limit}: "
        "split the request or raise maxSourceShards"
    )


def run_plan(event: dict[str, Any], locate: SourceLocator, *, store: Any, default_bucket: str | None) -> dict[str, Any]:
    """List the request's source objects, cut them into shards, write ``sources.json``; reads no row.

    Request and program errors (unknown program, marketplace not enabled) fail here, before any
    child starts. More shards than ``MAX_SOURCE_SHARDS`` fail before ``sources.json`` exists.
    """
    context = parse_context({k: v for k, v in event.items() if k != OUTPUT_MODE_KEY}, default_bucket)
    if context.initial_data is None:
        raise PermanentStageError("invalid plan event: previousStage: must be null (the plan is the first stage's)")
    shard_bytes, limit = parts.source_shard_bytes(os.environ), parts.max_source_shards(os.environ)
    bucket = context.workflow_bucket
    logger.append_keys(executionId=context.execution_id, stage=context.current_stage)
    try:
        locations = locate(context.initial_data, context)
    except ContractError as exc:
        raise PermanentStageError(f"initialData: {exc}") from None
    objects = [
        sources.SourceObject(source_bucket, prefix, key, size)
        for source_bucket, prefix in locations
        for key, size in store.list_objects(source_bucket, prefix)
    ]
    shards = sources.plan_shards(objects, shard_bytes)
    total_bytes = sum(o.size for o in objects)
    if limit is not None and len(shards) > limit:
        raise source_too_large(total_bytes, len(shards), shard_bytes, limit)
    key = parts.sources_list_key(context.execution_id, context.current_stage)
    store.put_json(bucket, key, shards)
    count("SourceShards", len(shards))
    logger.info(
        "source planned",
        extra={"outputPath": s3_uri(bucket, key), "objects": len(objects), "bytes": total_bytes, "shards": len(shards)},
    )
    return StageResult(STATUS_SUCCEEDED, context.current_stage, len(shards), key).to_dict()


class ShardReader:
    """The object store as one source shard sees it: ``read_lines`` yields only the shard's ranges."""

    def __init__(self, store: Any, ranges: list[dict[str, Any]]) -> None:
        self._store = store
        self._ranges = ranges

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def read_lines(self, bucket: str, prefix: str) -> Iterator[tuple[str, bytes]]:
        """The lines of this shard's ranges of connector ``(bucket, prefix)``, in plan order."""
        for entry in self._ranges:
            if (entry["bucket"], entry["prefix"]) == (bucket, prefix):
                yield from self._store.read_range_lines(entry["bucket"], entry["key"], entry["start"], entry["end"])


def run_source(
    event: dict[str, Any], stage: StageFunction, *, store: Any, default_bucket: str | None
) -> dict[str, Any]:
    """Run the first stage over one source shard (a Map child); writes its parts, returns its result.

    Parts go to ``parts/shard-{index}-{n}.jsonl``; the result ``{index, parts: [{key, count}],
    count, metrics, header}`` to ``results/part-{index}.json`` for the manifest step. Inline
    records are mapped by shard 0 only (every child gets the same request).
    """
    shard = sources.parse_shard(event.get(SOURCE_EVENT_KEY))
    payload = {k: v for k, v in event.items() if k not in {SOURCE_EVENT_KEY, OUTPUT_MODE_KEY}}
    initial = payload.get("initialData")
    if not shard.get("inline") and isinstance(initial, dict):
        payload["initialData"] = {k: v for k, v in initial.items() if k != "records"}
    context = parse_context(payload, default_bucket)
    if context.initial_data is None:
        raise PermanentStageError("invalid source event: previousStage: must be null (a shard is the first stage's)")
    index, bucket, stage_name = shard["index"], context.workflow_bucket, context.current_stage
    size, limit = parts.part_size(os.environ), parts.max_candidates_per_run(os.environ)
    logger.append_keys(executionId=context.execution_id, stage=stage_name, shard=index)
    metrics.add_dimension(name="stage", value=stage_name)
    with _cyclic_gc_paused():
        try:
            output = stage(context.initial_data, context, ShardReader(store, shard["ranges"]))
        except ContractError as exc:
            raise PermanentStageError(f"initialData: {exc}") from None
        written = part_io.write_parts(
            store,
            bucket,
            output.envelope.get("candidates") or [],
            size,
            limit,
            lambda n: parts.shard_part_key(context.execution_id, stage_name, index, n),
        )
        output = output.completed()
    result = {
        "index": index,
        "parts": written,
        "count": sum(p["count"] for p in written),
        "metrics": output.envelope.get("metrics") or {},
        "header": part_io.header_of(output.envelope),
    }
    store.put_json(bucket, parts.part_result_key(context.execution_id, stage_name, index), result)
    count("SourceShardsProcessed")
    for name, value in output.counts.items():
        count(name, value)
    logger.info("source shard succeeded", extra={"parts": len(written), "candidates": result["count"]})
    return result


def run_source_manifest(event: dict[str, Any], *, store: Any, default_bucket: str | None) -> dict[str, Any]:
    """Number the shards' parts in shard order, check the run's sizing, write the manifest and ``parts.json``.

    More than ``MAX_CANDIDATES_PER_RUN`` candidates, or more parts than the next Map reads
    (``parts.max_parts_per_run``), fail before ``output.json`` exists: a larger run would be
    silently truncated by the next Map's ``MaxItems``.
    """
    flag = event.get(COLLECT_SOURCES_EVENT_KEY)
    if flag is not True:
        raise PermanentStageError(f"invalid manifest event: {COLLECT_SOURCES_EVENT_KEY}: expected true, got {flag!r}")
    context = parse_context({k: v for k, v in event.items() if k != COLLECT_SOURCES_EVENT_KEY}, default_bucket)
    bucket, stage_name = context.workflow_bucket, context.current_stage
    size, limit = parts.part_size(os.environ), parts.max_candidates_per_run(os.environ)
    logger.append_keys(executionId=context.execution_id, stage=stage_name)
    list_key = parts.sources_list_key(context.execution_id, stage_name)
    results = part_io.collect_results(store, bucket, context.execution_id, list_key, stage_name)
    flat = part_io.flatten_shards(results)
    total = sum(p["count"] for p in flat)
    if limit is not None:
        most = parts.max_parts_per_run(limit, size, len(results))
        if total > limit:
            raise parts.run_size_exceeded(limit)
        if len(flat) > most:
            raise PermanentStageError(
                f"run writes {len(flat)} parts, more than the {most} the next Map reads "
                f"(ceil({limit} / {size}) + {len(results)} shards): "
                f"a shard wrote parts above {parts.PART_SIZE_VARIABLE}"
            )
    document = part_io.write_manifest(
        store,
        bucket,
        context.execution_id,
        stage_name,
        flat,
        parts.merge_metrics(r.get("metrics") or {} for r in results),
    )
    count("StageSucceeded")
    key = stage_output_key(context.execution_id, stage_name)
    logger.info(
        "manifest written", extra={"outputPath": s3_uri(bucket, key), "parts": len(flat), "shards": len(results)}
    )
    return StageResult(STATUS_SUCCEEDED, stage_name, int(document["count"]), key).to_dict()
