"""S3 I/O of the sharded hand-off (issue 16): read one JSON Lines part, write parts and manifests.

Only one part is ever held in memory: a part is read line by line into the candidates of one
invocation and written with one PutObject; the manifest lists the parts, never their rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from ceap_handlers.contract import parts
from ceap_handlers.contract.paths import stage_output_key
from ceap_handlers.errors import PermanentStageError

#: Top-level keys of an envelope or manifest that are data, metrics or the part list, not the header.
BODY_KEYS = frozenset({"candidates", "metrics", "parts", "count", "stage"})


class PartStore(Protocol):
    """The S3 operations of the sharded hand-off (``aws.S3ObjectStore``)."""

    def get_json(self, bucket: str, key: str) -> Any: ...

    def put_json(self, bucket: str, key: str, value: Any) -> None: ...

    def put_bytes(self, bucket: str, key: str, body: bytes, content_type: str = ...) -> None: ...

    def read_lines(self, bucket: str, prefix: str) -> Iterable[tuple[str, bytes]]: ...


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
    store: PartStore, bucket: str, execution_id: str, stage: str, envelope: Mapping[str, Any], size: int
) -> dict[str, Any]:
    """Split a whole envelope's candidates into parts of ``size`` and write them with the manifest."""
    results = []
    header = header_of(envelope)
    for index, chunk in enumerate(parts.chunks(envelope.get("candidates") or [], size)):
        key = parts.part_key(execution_id, stage, index)
        write_part(store, bucket, key, chunk)
        results.append({"key": key, "count": len(chunk), "index": index, "header": header})
    # The metrics are the stage's own (one run over the whole input), not a sum over the parts.
    return write_manifest(store, bucket, execution_id, stage, results, dict(envelope.get("metrics") or {}))
