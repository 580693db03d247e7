"""The sharded hand-off of the standard workflows (issue 16), as the Lambda stages write and read it.

Contract (lambdas/README.md, "Sharded hand-off"; ``ceap_handlers.contract.parts``): a stage writes
JSON Lines parts ``<dir>/parts/part-{index:05d}.jsonl`` (one candidate a line, at most the part
size each; an empty result is one empty part), the Distributed Map item list ``<dir>/parts.json`` =
``[{"key", "count", "index"}]`` and the manifest ``<dir>/output.json`` =
``{"programId", "marketplace", "stage", "parts": [{"key", "count"}], "count", "metrics"}``.

Plain Python: key names, the documents, and the checks of a manifest's part list.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

DEFAULT_PART_SIZE = 10_000
PARTS_OBJECT = "parts.json"
PARTS_DIRECTORY = "parts"
#: Characters Spark's reader takes for a glob pattern: a part key with one would not be read as itself.
GLOB_CHARACTERS = frozenset("*?[]{}\\")


@dataclass(frozen=True)
class PartRef:
    """One entry of a manifest's ``parts``: the object key and its candidate count."""

    key: str
    count: int


def _beside(output_key: str, name: str) -> str:
    directory = posixpath.dirname(output_key)
    return f"{directory}/{name}" if directory else name


def part_key(output_key: str, index: int) -> str:
    """Key of part ``index`` of the stage whose manifest is ``output_key``."""
    return _beside(output_key, f"{PARTS_DIRECTORY}/part-{index:05d}.jsonl")


def parts_list_key(output_key: str) -> str:
    """Key of the Distributed Map item list beside the manifest ``output_key``."""
    return _beside(output_key, PARTS_OBJECT)


def part_counts(total: int, size: int) -> list[int]:
    """Candidates per part when ``total`` candidates are cut into parts of ``size``.

    As ``chunks()`` of the contract: full parts then the rest, and ``[0]`` for nothing at all.
    """
    full, rest = divmod(total, size)
    counts = [size] * full + ([rest] if rest else [])
    return counts or [0]


def parse_part_list(text: str | None) -> list[PartRef]:
    """The ``parts`` member of a manifest, given as its JSON text.

    Raises
    ------
    ValueError
        It is not a list of ``{"key": non-empty string, "count": integer >= 0}``, a key is listed
        twice or is not one Spark reads as that object (a glob character, a leading or double
        slash); the message names the problem.
    """
    try:
        value = json.loads(text) if text is not None else None
    except ValueError:
        value = None
    if not isinstance(value, list):
        raise ValueError("'parts' is not a list of {key, count} objects")
    refs: list[PartRef] = []
    seen: set[str] = set()
    for position, item in enumerate(value):
        key = item.get("key") if isinstance(item, dict) else None
        count = item.get("count") if isinstance(item, dict) else None
        if (
            not isinstance(key, str)
            or not key.strip()
            or key.endswith("/")
            or not isinstance(count, int)
            or isinstance(count, bool)
            or count < 0
        ):
            raise ValueError(f"'parts'[{position}] is not a {{key: non-empty string, count: integer >= 0}} object")
        if key in seen:
            raise ValueError(f"'parts' lists {key!r} twice")
        if GLOB_CHARACTERS & set(key) or key.startswith("/") or "//" in key:
            # Spark would expand the glob or normalise the slashes, and read other objects.
            raise ValueError(f"'parts'[{position}] key {key!r} is not one Spark can read as itself")
        seen.add(key)
        refs.append(PartRef(key, count))
    return refs


def parts_items(refs: Sequence[PartRef]) -> list[dict[str, Any]]:
    """The Distributed Map item list ``[{"key", "count", "index"}]`` in part order."""
    return [{"key": ref.key, "count": ref.count, "index": index} for index, ref in enumerate(refs)]


def manifest(
    stage: str, refs: Sequence[PartRef], metrics: Mapping[str, Any], program_id: str, marketplace: str
) -> dict[str, Any]:
    """The stage manifest, keys as ``ceap_handlers.contract.parts.manifest`` writes them."""
    return {
        "programId": program_id,
        "marketplace": marketplace,
        "stage": stage,
        "parts": [{"key": ref.key, "count": ref.count} for ref in refs],
        "count": sum(ref.count for ref in refs),
        "metrics": dict(metrics),
    }


def json_bytes(document: Any) -> bytes:
    """UTF-8 JSON of a small document (manifest, item list)."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
