"""S3 I/O of the sharded hand-off (issue 16): read one JSON Lines part, write parts and manifests.

Only one part is ever held in memory: a part is read line by line into the candidates of one
invocation and written with one PutObject; the manifest lists the parts, never their rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from ceap_handlers.contract import parts
from ceap_handlers.contract.paths import s3_uri, stage_output_key
from ceap_handlers.errors import PermanentStageError

#: Row lists of an output envelope besides ``candidates``: a part child writes each to its own
#: JSON Lines object (``parts.side_part_key``), never into the header, which every next-stage child
#: reads (Filter's rejected rows in the header grew the manifest with the run: issue 16).
SIDE_OUTPUTS = ("rejectedCandidates",)

#: Top-level keys of an envelope or manifest that are data, metrics or the part list, not the header.
BODY_KEYS = frozenset({"candidates", "metrics", "parts", "count", "stage", *SIDE_OUTPUTS})


class PartStore(Protocol):
    """The S3 operations of the sharded hand-off (``aws.S3ObjectStore``)."""

    def get_json(self, bucket: str, key: str) -> Any: ...

    def put_json(self, bucket: str, key: str, value: Any) -> None: ...

    def put_bytes(self, bucket: str, key: str, body: bytes, content_type: str = ...) -> None: ...

    def read_lines(self, bucket: str, prefix: str) -> Iterable[tuple[str, bytes]]: ...

    def find_json(self, bucket: str, key: str) -> Any | None: ...


def header_of(envelope: Mapping[str, Any]) -> dict[str, Any]:
    """The envelope without its data, metrics and part list (programId, marketplace, success, ...)."""
    return {k: v for k, v in envelope.items() if k not in BODY_KEYS}


def read_part(store: PartStore, bucket: str, key: str) -> list[dict[str, Any]]:
    """The candidates of one part, parsed line by line; a bad line is a permanent error naming it."""
    candidates: list[dict[str, Any]] = []
    for where, line in store.read_lines(bucket, key):
        if not line.strip():
            continue
        try:
            candidates.append(json.loads(line))
        except ValueError as exc:
            raise PermanentStageError(f"{where}: not a JSON line ({exc})") from None
    return candidates


def write_part(store: PartStore, bucket: str, key: str, candidates: Iterable[Mapping[str, Any]]) -> None:
    store.put_bytes(bucket, key, parts.encode_part(candidates))


def write_manifest(
    store: PartStore,
    bucket: str,
    execution_id: str,
    stage: str,
    results: list[dict[str, Any]],
    metrics: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write ``output.json`` and ``parts.json`` of a stage from its parts' results (in part order).

    Each result is ``{"key", "count", "index", "metrics", "header"}`` as a part child returns it;
    ``metrics`` (default: the parts' metrics merged) overrides the stage metrics.
    """
    ordered = sorted(results, key=lambda r: int(r["index"]))
    header = parts.merge_metrics(r.get("header") or {} for r in ordered)
    if metrics is None:
        metrics = parts.merge_metrics(r.get("metrics") or {} for r in ordered)
    document = parts.manifest(stage, ordered, metrics, header)
    store.put_json(bucket, parts.parts_list_key(execution_id, stage), parts.parts_items(ordered))
    store.put_json(bucket, stage_output_key(execution_id, stage), document)
    return document


def write_sharded(
    store: PartStore,
    bucket: str,
    execution_id: str,
    stage: str,
    envelope: Mapping[str, Any],
    size: int,
    limit: int | None = None,
) -> dict[str, Any]:
    """Write an envelope's candidates as parts of ``size``, then the manifest.

    ``envelope["candidates"]`` may be an iterator (streamed ETL): one part is held at a time, and
    ``envelope["metrics"]`` is read only once the candidates are exhausted, so a stream may fill
    it in as it goes. More than ``limit`` candidates fail before ``output.json`` exists.
    """
    header = header_of(envelope)
    written = write_parts(
        store, bucket, envelope.get("candidates") or [], size, limit, lambda i: parts.part_key(execution_id, stage, i)
    )
    results = [{**part, "index": index, "header": header} for index, part in enumerate(written)]
    # The metrics are the stage's own (one run over the whole input), not a sum over the parts.
    return write_manifest(store, bucket, execution_id, stage, results, dict(envelope.get("metrics") or {}))


def write_parts(
    store: PartStore,
    bucket: str,
    candidates: Iterable[dict[str, Any]],
    size: int,
    limit: int | None,
    key_of: Callable[[int], str],
) -> list[dict[str, Any]]:
    """Write ``candidates`` (possibly a stream) as parts of ``size`` at ``key_of(i)``; ``[{key, count}]``.

    One part is held at a time; candidate ``limit + 1`` fails (``parts.run_size_exceeded``).
    """
    written = []
    for index, chunk in enumerate(parts.chunks(parts.limited(candidates, limit), size)):
        key = key_of(index)
        write_part(store, bucket, key, chunk)
        written.append({"key": key, "count": len(chunk)})
        del chunk  # drop the part before the next one fills (chunks() starts a new list)
    return written


#: Concurrent GetObjects of the manifest step: 1000 results at ~20 ms each would take 20 s in a row.
COLLECT_WORKERS = 16


def _map_items(items: Any, where: str) -> list[int]:
    """The ``index`` of each item of a ``parts.json`` list (the Distributed Map's items)."""
    if not isinstance(items, list):
        raise PermanentStageError(f"{where}: expected a list of parts, got {type(items).__name__}")
    indexes = []
    for position, item in enumerate(items):
        index = item.get("index") if isinstance(item, dict) else None
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            raise PermanentStageError(f"{where}: [{position}].index: expected an integer >= 0, got {index!r}")
        indexes.append(index)
    return indexes


def collect_results(
    store: PartStore, bucket: str, execution_id: str, list_key: str, stage: str
) -> list[dict[str, Any]]:
    """The Map children's results of ``stage``, one per item of the item list at ``list_key``.

    The list is the previous stage's ``parts.json`` (a part child's result ``{key, count, index,
    ...}``) or the stage's own ``sources.json`` (a source shard's ``{index, parts: [...], ...}``).
    A result that does not exist (a child that never finished, a Map that read fewer items) is a
    permanent error naming its s3:// key and "part i of N": a manifest without it would silently
    drop that part's candidates.
    """
    indexes = _map_items(store.get_json(bucket, list_key), s3_uri(bucket, list_key))
    total = len(indexes)

    def fetch(position: int) -> dict[str, Any]:
        index = indexes[position]
        key = parts.part_result_key(execution_id, stage, index)
        where = f"{s3_uri(bucket, key)} (part {position + 1} of {total})"
        result = store.find_json(bucket, key)
        if result is None:
            raise PermanentStageError(
                f"{where}: result missing: the Map child of {s3_uri(bucket, list_key)} item index {index} "
                "did not finish (or the Map read fewer items)"
            )
        shaped = isinstance(result, dict) and (
            isinstance(result.get("key"), str) or isinstance(result.get("parts"), list)
        )
        if not shaped or result.get("index") != index:
            raise PermanentStageError(f"{where}: expected a part result {{key, count, index: {index}, ...}}")
        return result

    if total <= 1:
        return [fetch(p) for p in range(total)]
    with ThreadPoolExecutor(max_workers=min(COLLECT_WORKERS, total)) as pool:
        # map() re-raises in item order: the error names the first missing part.
        return list(pool.map(fetch, range(total)))


def flatten_shards(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The parts of source shard results, numbered 0.. in shard order (the next Map's items)."""
    flat: list[dict[str, Any]] = []
    for result in sorted(results, key=lambda r: int(r["index"])):
        for part in result["parts"]:
            if (
                not isinstance(part, dict)
                or not isinstance(part.get("key"), str)
                or not isinstance(part.get("count"), int)
            ):
                raise PermanentStageError(
                    f"source shard {result['index']}: expected parts [{{key, count}}], got {part!r:.80}"
                )
            flat.append(
                {"key": part["key"], "count": part["count"], "index": len(flat), "header": result.get("header")}
            )
    return flat
