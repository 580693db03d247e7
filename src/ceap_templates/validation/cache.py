"""Per-template results of ``ceap-templates validate``, cached outside the repository.

An entry holds the findings of the per-template rules for one template in one context. Its key
is the SHA-256 of the template bytes together with everything else those rules read (the
environment's name, region, ``retainData``, ``physicalNames``; the stack's layout, name and
path) and the :func:`fingerprint` of the checker: the versions of cfn-lint and statelint and a
hash of this package's own sources. Any change of those is a new key, so an entry never outlives
the code that wrote it.

Entries live under ``$XDG_CACHE_HOME/ceap-templates/validate/`` (default ``~/.cache``). An entry
that cannot be read, does not parse, names another key or fails its digest is ignored and
rewritten: a cache can only make a run faster, never change its result.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Mapping
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from ceap_templates.validation.model import Environment, Stack

FORMAT = 1
#: (location, resource, message) of each finding of one rule.
Results = Mapping[str, list[tuple[str, str, str]]]


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ceap-templates" / "validate"


def _version(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "absent"


@lru_cache(maxsize=1)
def fingerprint() -> str:
    """Hash of what decides a template's findings besides the template: tools and rule code."""
    digest = hashlib.sha256()
    digest.update(f"format {FORMAT} python {sys.version_info[:2]}".encode())
    for distribution in ("cfn-lint", "statelint"):
        digest.update(f"{distribution} {_version(distribution)}\n".encode())
    package = Path(__file__).resolve().parent
    for source in sorted(package.rglob("*.py")):
        digest.update(source.relative_to(package).as_posix().encode() + b"\0" + source.read_bytes() + b"\0")
    return digest.hexdigest()


def entry_key(env: Environment, stack: Stack) -> str:
    context = {
        "fingerprint": fingerprint(),
        "template": stack.sha256,
        "env": env.name,
        "region": env.manifest.get("region"),
        "retainData": env.retain_data,
        "physicalNames": env.explicit_names,
        "layout": stack.layout,
        "stack": stack.name,
        "path": stack.path,
    }
    return hashlib.sha256(json.dumps(context, sort_keys=True).encode()).hexdigest()


def _digest(key: str, results: Any) -> str:
    return hashlib.sha256((key + json.dumps(results, sort_keys=True)).encode()).hexdigest()


class ResultCache:
    """Read and write entries below ``root`` (``None``: the XDG default)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or cache_root()

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def load(self, key: str) -> dict[str, list[tuple[str, str, str]]]:
        """The cached results of ``key`` (rule id -> findings); ``{}`` for a missing or bad entry."""
        try:
            entry = json.loads(self.path(key).read_text("utf-8"))
            results = entry["results"]
            if entry.get("format") != FORMAT or entry.get("key") != key or entry.get("digest") != _digest(key, results):
                return {}
            return {
                str(rule): [(str(f[0]), str(f[1]), str(f[2])) for f in findings if len(f) == 3]
                for rule, findings in results.items()
            }
        except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError):
            return {}

    def store(self, key: str, results: Results) -> None:
        """Write atomically (a reader sees the old entry or the new one); a read-only cache is skipped."""
        plain = {rule: [list(f) for f in findings] for rule, findings in sorted(results.items())}
        entry = {"format": FORMAT, "key": key, "results": plain, "digest": _digest(key, plain)}
        target = self.path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", dir=target.parent, delete=False, suffix=".tmp") as handle:
                json.dump(entry, handle, sort_keys=True)
            os.replace(handle.name, target)
        except OSError:
            return
