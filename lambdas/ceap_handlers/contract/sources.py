"""Source shards of the first stage of a sharded run (issue 16; lambdas/README.md "Sharded hand-off").

The plan step lists the program's JSON Lines source objects and cuts them, in listing order, into
shards of at most ``SOURCE_SHARD_BYTES``: a shard is a list of byte ranges ``[start, end)``, an
object larger than a shard is split over several. A range owns every line that *starts* inside
it (the convention of Hadoop input splits), so consecutive ranges read each line exactly once
whatever the cut. Inline ``records`` are in the request; only shard 0 maps them.

A shard item (one element of ``sources.json``, one Distributed Map item):
``{"index": 0, "bytes": 123, "inline": true, "ranges": [{"bucket", "prefix", "key", "start", "end",
"size"}]}``; ``prefix`` is the connector's, so a connector reads only its own ranges.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ceap_handlers.errors import PermanentStageError


@dataclass(frozen=True)
class SourceObject:
    """One listed source object of a connector."""

    bucket: str
    prefix: str
    key: str
    size: int


def plan_shards(objects: Iterable[SourceObject], shard_bytes: int) -> list[dict[str, Any]]:
    """Cut ``objects`` (in order) into shard items of at most ``shard_bytes``; never fewer than one shard.

    Empty objects are left out (they hold no line). Shard 0 carries ``inline: true``.
    """
    shards: list[dict[str, Any]] = []
    current: list[dict[str, Any]] = []
    used = 0

    def close() -> None:
        nonlocal current, used
        shards.append({"index": len(shards), "bytes": used, "inline": not shards, "ranges": current})
        current, used = [], 0

    for source in objects:
        start = 0
        while start < source.size:
            if used == shard_bytes:
                close()
            end = min(source.size, start + shard_bytes - used)
            current.append(
                {
                    "bucket": source.bucket,
                    "prefix": source.prefix,
                    "key": source.key,
                    "start": start,
                    "end": end,
                    "size": source.size,
                }
            )
            used += end - start
            start = end
    if current or not shards:
        close()
    return shards


def _integer(value: Any, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def parse_shard(item: Any) -> dict[str, Any]:
    """A shard item from a Map child event, checked; a malformed one is a permanent error naming the field."""
    if not isinstance(item, Mapping):
        raise PermanentStageError(f"invalid source event: source: expected a shard object, got {item!r:.80}")
    if not _integer(item.get("index"), 0):
        raise PermanentStageError(
            f"invalid source event: source.index: expected an integer >= 0, got {item.get('index')!r}"
        )
    ranges = item.get("ranges")
    if not isinstance(ranges, list):
        raise PermanentStageError(f"invalid source event: source.ranges: expected a list, got {ranges!r:.80}")
    for position, entry in enumerate(ranges):
        where = f"invalid source event: source.ranges[{position}]"
        if not isinstance(entry, Mapping):
            raise PermanentStageError(f"{where}: expected an object, got {entry!r:.80}")
        for name in ("bucket", "prefix", "key"):
            if not isinstance(entry.get(name), str):
                raise PermanentStageError(f"{where}.{name}: expected a string, got {entry.get(name)!r:.80}")
        start, end, size = entry.get("start"), entry.get("end"), entry.get("size")
        if not (_integer(start, 0) and _integer(end, 0) and _integer(size, 0) and start < end <= size):
            raise PermanentStageError(
                f"{where}: expected integers 0 <= start < end <= size, got start {start!r}, end {end!r}, size {size!r}"
            )
    return dict(item)
