"""Property paths: ``("Properties", "KeySchema")`` written ``Properties.KeySchema``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

Path = tuple[str | int, ...]
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_:\-]*$")


class _Missing:
    """The value of a path that one side does not have."""

    def __repr__(self) -> str:
        return "(absent)"


MISSING: Any = _Missing()


def format_path(path: Path) -> str:
    """Dotted path; a key that is not a plain name is quoted (``States["Run ETL"]``), indexes in []."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _PLAIN.match(part):
            text += f".{part}" if text else part
        else:
            escaped = part.replace("\\", "\\\\").replace('"', '\\"')
            text += f'["{escaped}"]'
    return text


def value_at(node: Any, path: Path) -> Any:
    """The value at ``path`` of ``node`` or :data:`MISSING`."""
    for part in path:
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                return MISSING
        elif not isinstance(node, dict) or part not in node:
            return MISSING
        node = node[part]
    return node


def is_intrinsic(value: Any) -> bool:
    """``{"Ref": ...}`` (with its resolved ``Default``) or ``{"Fn::...": ...}``: one value, not an object."""
    if not isinstance(value, dict) or not value:
        return False
    return "Ref" in value or (len(value) == 1 and next(iter(value)).startswith("Fn::"))


def changed(old: Any, new: Any, prefix: Path = ()) -> Iterator[Path]:
    """Paths where canonical ``old`` and ``new`` differ: down through objects; lists and intrinsic
    functions are one value."""
    if old == new:
        return
    if isinstance(old, dict) and isinstance(new, dict) and not (is_intrinsic(old) or is_intrinsic(new)):
        for key in sorted(old.keys() | new.keys()):
            yield from changed(old.get(key, MISSING), new.get(key, MISSING), (*prefix, key))
        return
    yield prefix
