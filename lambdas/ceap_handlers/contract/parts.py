"""The sharded hand-off of standard workflows (issue 16): JSON Lines parts plus a manifest.

A stage writes ``executions/{executionId}/{stage}/parts/part-{NNNNN}.jsonl`` (at most
``PART_SIZE`` candidates each), the manifest ``executions/{executionId}/{stage}/output.json``
and the Distributed Map item list ``executions/{executionId}/{stage}/parts.json`` next to it.
A Map child also writes its result ``executions/{executionId}/{stage}/results/part-{NNNNN}.json``
for the manifest step. Express workflows keep the single object and refuse more than
``EXPRESS_MAX_CANDIDATES``; a standard run refuses more than ``MAX_CANDIDATES_PER_RUN``.

The first stage (ETL) fans out over its source: a plan step cuts the program's source objects
into shards of at most ``SOURCE_SHARD_BYTES`` (byte ranges of JSON Lines objects), lists them in
``executions/{executionId}/{stage}/sources.json``, and a Map child per shard writes its parts
``parts/shard-{SSSSS}-{NNNNN}.jsonl``; the manifest step numbers them all in shard order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final

from ceap_handlers.contract.paths import EXECUTIONS_PREFIX
from ceap_handlers.errors import PermanentStageError

PART_SIZE_VARIABLE: Final = "PART_SIZE"
EXPRESS_MAX_CANDIDATES_VARIABLE: Final = "EXPRESS_MAX_CANDIDATES"
MAX_CANDIDATES_PER_RUN_VARIABLE: Final = "MAX_CANDIDATES_PER_RUN"
SOURCE_SHARD_BYTES_VARIABLE: Final = "SOURCE_SHARD_BYTES"
MAX_SOURCE_SHARDS_VARIABLE: Final = "MAX_SOURCE_SHARDS"
DEFAULT_PART_SIZE: Final = 10_000
#: 64 MiB: at the smallest row that can make a candidate, still well inside one ETL invocation.
DEFAULT_SOURCE_SHARD_BYTES: Final = 64 * 1024 * 1024
PARTS_OBJECT: Final = "parts.json"
SOURCES_OBJECT: Final = "sources.json"


def part_key(execution_id: str, stage: str, index: int) -> str:
    """S3 key of one part: ``executions/{executionId}/{stage}/parts/part-{index:05d}.jsonl``."""
    return f"{EXECUTIONS_PREFIX}{execution_id}/{stage}/parts/part-{index:05d}.jsonl"


def side_part_key(execution_id: str, stage: str, name: str, index: int) -> str:
    """S3 key of a part's side output, e.g. Filter's ``executions/{id}/Filter/rejectedCandidates/part-00001.jsonl``."""
    return f"{EXECUTIONS_PREFIX}{execution_id}/{stage}/{name}/part-{index:05d}.jsonl"


def shard_part_key(execution_id: str, stage: str, shard: int, index: int) -> str:
    """S3 key of part ``index`` of source shard ``shard``: ``.../parts/shard-{shard:05d}-{index:05d}.jsonl``."""
    return f"{EXECUTIONS_PREFIX}{execution_id}/{stage}/parts/shard-{shard:05d}-{index:05d}.jsonl"


def sources_list_key(execution_id: str, stage: str) -> str:
    """S3 key of the source shards of the first stage: ``executions/{executionId}/{stage}/sources.json``."""
    return f"{EXECUTIONS_PREFIX}{execution_id}/{stage}/{SOURCES_OBJECT}"


def part_result_key(execution_id: str, stage: str, index: int) -> str:
    """S3 key of one Map child's result: ``executions/{executionId}/{stage}/results/part-{index:05d}.json``."""
    return f"{EXECUTIONS_PREFIX}{execution_id}/{stage}/results/part-{index:05d}.json"


def parts_list_key(execution_id: str, stage: str) -> str:
    """S3 key of the Distributed Map item list: ``executions/{executionId}/{stage}/parts.json``."""
    return f"{EXECUTIONS_PREFIX}{execution_id}/{stage}/{PARTS_OBJECT}"


def _positive_int(env: Mapping[str, str], variable: str, default: int | None) -> int | None:
    raw = env.get(variable)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise PermanentStageError(f"environment variable {variable}: expected an integer > 0, got {raw!r}")
    return value


def part_size(env: Mapping[str, str]) -> int:
    """``PART_SIZE`` (default 10000); a malformed value is a permanent error naming the variable."""
    size = _positive_int(env, PART_SIZE_VARIABLE, DEFAULT_PART_SIZE)
    assert size is not None
    return size


def source_shard_bytes(env: Mapping[str, str]) -> int:
    """``SOURCE_SHARD_BYTES`` (default 64 MiB): the most source bytes one ETL shard reads."""
    size = _positive_int(env, SOURCE_SHARD_BYTES_VARIABLE, DEFAULT_SOURCE_SHARD_BYTES)
    assert size is not None
    return size


def max_source_shards(env: Mapping[str, str]) -> int | None:
    """``MAX_SOURCE_SHARDS`` (unset: no limit): the ETL Map's ``MaxItems``."""
    return _positive_int(env, MAX_SOURCE_SHARDS_VARIABLE, None)


def max_parts_per_run(limit: int, size: int, shards: int) -> int:
    """The most parts a run of ``limit`` candidates from ``shards`` shards writes (the next Map's ``MaxItems``).

    Each shard ends with a part of fewer than ``size`` candidates (an empty shard: one empty part),
    so a run has at most ceil(limit / size) parts plus one per shard.
    """
    return -(-limit // size) + shards


def check_express_size(count: int, env: Mapping[str, str]) -> None:
    """Refuse an express request above ``EXPRESS_MAX_CANDIDATES`` (unset: no cap)."""
    cap = _positive_int(env, EXPRESS_MAX_CANDIDATES_VARIABLE, None)
    if cap is not None and count > cap:
        raise PermanentStageError(
            f"request too large for the express (realtime) workflow: {count} candidates, "
            f"{EXPRESS_MAX_CANDIDATES_VARIABLE} is {cap}; run it on the standard (batch) workflow"
        )


def max_candidates_per_run(env: Mapping[str, str]) -> int | None:
    """``MAX_CANDIDATES_PER_RUN`` (unset: no limit); a malformed value is a permanent error naming it."""
    return _positive_int(env, MAX_CANDIDATES_PER_RUN_VARIABLE, None)


def run_size_exceeded(limit: int) -> PermanentStageError:
    """The error of a standard run that extracts more than ``limit`` candidates.

    The template sizes the Distributed Map for ``maxCandidatesPerRun`` (``MaxItems`` =
    ceil(max / PART_SIZE) parts): a larger run would silently lose its last parts.
    """
    return PermanentStageError(
        f"run exceeds the configured sizing (maxCandidatesPerRun): more than {limit} candidates extracted "
        f"({MAX_CANDIDATES_PER_RUN_VARIABLE} is {limit}); split the request or raise maxCandidatesPerRun"
    )


def limited(candidates: Iterable[dict[str, Any]], limit: int | None) -> Iterator[dict[str, Any]]:
    """``candidates`` unchanged, failing with :func:`run_size_exceeded` at candidate ``limit + 1``."""
    if limit is None:
        yield from candidates
        return
    for number, candidate in enumerate(candidates, start=1):
        if number > limit:
            raise run_size_exceeded(limit)
        yield candidate


def encode_part(candidates: Iterable[Mapping[str, Any]]) -> bytes:
    """One JSON Lines part (one candidate a line, UTF-8)."""
    return b"".join(json.dumps(c, separators=(",", ":")).encode() + b"\n" for c in candidates)


def decode_part(body: bytes) -> Iterator[dict[str, Any]]:
    """The candidates of one part, line by line (blank lines skipped)."""
    for line in body.splitlines():
        if line.strip():
            yield json.loads(line)


def chunks(candidates: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    """Split into lists of at most ``size``; an empty input is one empty part (small runs: one part)."""
    chunk: list[dict[str, Any]] = []
    emitted = False
    for candidate in candidates:
        chunk.append(candidate)
        if len(chunk) == size:
            yield chunk
            emitted = True
            chunk = []
    if chunk or not emitted:
        yield chunk


def manifest(
    stage: str,
    parts: list[dict[str, Any]],
    metrics: Mapping[str, Any],
    header: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The stage manifest ``{"stage", "parts": [{"key", "count"}], "count", "metrics", ...header}``.

    ``header`` (``programId``, ``marketplace``) is what the next stage's part children need besides
    the candidates, so a child reads the small manifest and its own part, never the others.
    """
    listed = [{"key": p["key"], "count": p["count"]} for p in parts]
    for entry, part in zip(listed, parts, strict=True):
        if part.get("sideOutputs"):
            entry["sideOutputs"] = part["sideOutputs"]  # e.g. where Filter's rejected rows of this part are
    document = dict(header or {})
    document.update(
        {"stage": stage, "parts": listed, "count": sum(p["count"] for p in listed), "metrics": dict(metrics)}
    )
    return document


def merge_metrics(results: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The stage metrics from its parts' metrics: numbers add up, flags AND, lists concatenate."""
    merged: dict[str, Any] = {}
    for metrics in results:
        for name, value in metrics.items():
            if name not in merged:
                merged[name] = list(value) if isinstance(value, list) else value
            elif isinstance(value, bool):
                merged[name] = bool(merged[name]) and value
            elif isinstance(value, int | float):
                merged[name] += value
            elif isinstance(value, list):
                merged[name].extend(value)
            elif isinstance(value, dict):
                merged[name] = merge_metrics([merged[name], value])
    return merged


def parts_items(parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Map item list ``[{"key", "count", "index"}]`` in part order."""
    return [{"key": p["key"], "count": p["count"], "index": i} for i, p in enumerate(parts)]
