"""The per-template result cache: a warm run reports what a cold one does, a bad entry is never trusted."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from ceap_templates.cli import main
from ceap_templates.validation.cache import ResultCache, cache_root, entry_key
from ceap_templates.validation.engine import validate_directory
from ceap_templates.validation.model import load_build

CUSTOM = {"skip": ("LINT001",)}


def _broken_copy(fresh_build_dir: Path, tmp_path: Path) -> Path:
    """The dev build with maxReceiveCount 5 on the batch workflow's queue (seed 002 task 12.1 wants 3)."""
    build = tmp_path / "build"
    shutil.copytree(fresh_build_dir / "dev", build / "dev")
    path = build / "dev" / "CeapWorkflow-batch.template.json"
    template = json.loads(path.read_text("utf-8"))
    template["Resources"]["WorkflowQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"] = 5
    path.write_text(json.dumps(template, indent=2, sort_keys=True) + "\n", "utf-8")
    return build


def _lines(report: object) -> list[str]:
    return [str(f) for f in report.findings]  # type: ignore[attr-defined]


def _entries(root: Path) -> list[Path]:
    return sorted(root.rglob("*.json"))


def test_warm_run__same_findings_from_the_cache(fresh_build_dir: Path, tmp_path: Path) -> None:
    build = _broken_copy(fresh_build_dir, tmp_path)
    cache = ResultCache(tmp_path / "cache")
    uncached = _lines(validate_directory(build, **CUSTOM))
    assert any(line.startswith("OPS004 dev/CeapWorkflow-batch/WorkflowQueue") for line in uncached)
    assert any(line.startswith("MAN001 ") for line in uncached)  # the manifest hash no longer matches
    cold = _lines(validate_directory(build, cache=cache, **CUSTOM))
    entries = _entries(cache.root)
    assert len(entries) == sum(1 for _ in load_build(build).stacks())
    warm = _lines(validate_directory(build, cache=cache, **CUSTOM))
    assert cold == warm == uncached
    assert [p.stat().st_mtime_ns for p in entries] == [p.stat().st_mtime_ns for p in _entries(cache.root)]


@pytest.mark.parametrize(
    "corruption",
    ["garbage", "truncated", "clean claim with the old digest", "other key", "wrong shape"],
)
def test_corrupt_entry__ignored_and_rewritten(fresh_build_dir: Path, tmp_path: Path, corruption: str) -> None:
    build = _broken_copy(fresh_build_dir, tmp_path)
    cache = ResultCache(tmp_path / "cache")
    expected = _lines(validate_directory(build, cache=cache, **CUSTOM))
    model = load_build(build)
    env = model.environments["dev"]
    stack = env.layouts["workflows"].stacks["CeapWorkflow-batch"]
    entry = cache.path(entry_key(env, stack))
    original = entry.read_text("utf-8")
    document = json.loads(original)
    if corruption == "garbage":
        entry.write_bytes(b"\x00\xffnot json")
    elif corruption == "truncated":
        entry.write_text(original[: len(original) // 2], "utf-8")
    elif corruption == "clean claim with the old digest":
        document["results"] = {rule: [] for rule in document["results"]}  # "no findings", digest unchanged
        entry.write_text(json.dumps(document), "utf-8")
    elif corruption == "other key":
        document["key"] = "0" * 64
        entry.write_text(json.dumps(document), "utf-8")
    else:
        entry.write_text(json.dumps({"format": 1, "key": document["key"], "results": [], "digest": 1}), "utf-8")
    assert cache.load(entry_key(env, stack)) == {}
    assert _lines(validate_directory(build, cache=cache, **CUSTOM)) == expected
    # The run that ignored the entry wrote it anew, exactly as the first run had.
    assert json.loads(entry.read_text("utf-8")) == json.loads(original)


def test_changed_template__new_key_unchanged_templates_keep_theirs(fresh_build_dir: Path, tmp_path: Path) -> None:
    clean = tmp_path / "clean"
    shutil.copytree(fresh_build_dir / "dev", clean / "dev")
    broken = _broken_copy(fresh_build_dir, tmp_path)
    keys = {
        name: {s.location: entry_key(e, s) for e in load_build(root).environments.values() for s in e.stacks()}
        for name, root in (("clean", clean), ("broken", broken))
    }
    changed = {loc for loc in keys["clean"] if keys["clean"][loc] != keys["broken"][loc]}
    assert changed == {"dev/CeapWorkflow-batch"}


def test_no_cache_flag__writes_nothing(fresh_build_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = cache_root()
    before = _entries(root) if root.exists() else []
    assert main(["validate", str(fresh_build_dir / "dev"), "--skip", "LINT001", "--no-cache", "--quiet"]) == 0
    assert (_entries(root) if root.exists() else []) == before
    assert main(["validate", str(fresh_build_dir / "dev"), "--skip", "LINT001", "--quiet"]) == 0
    assert len(_entries(root)) > len(before)
    assert root.is_relative_to(Path(os.environ["XDG_CACHE_HOME"]))


def test_cfn_lint_results__cached_and_reported_warm(fresh_build_dir: Path, tmp_path: Path) -> None:
    """LINT001 runs in worker processes on a miss; its findings come back from the cache on a hit."""
    build = tmp_path / "build"
    shutil.copytree(fresh_build_dir / "dev", build / "dev")
    path = build / "dev" / "CeapDatabase-dev.template.json"
    template = json.loads(path.read_text("utf-8"))
    template["Resources"]["CandidatesTableB438AE0C"]["Properties"]["BillingMode"] = "FREE"
    path.write_text(json.dumps(template, indent=2, sort_keys=True) + "\n", "utf-8")
    cache = ResultCache(tmp_path / "cache")
    cold = _lines(validate_directory(build, only=("LINT001",), cache=cache))
    assert {line.split(":")[0] for line in cold} == {"LINT001 dev/CeapDatabase-dev/CandidatesTableB438AE0C"}
    assert any("'FREE'" in line for line in cold), cold
    warm = _lines(validate_directory(build, only=("LINT001",), cache=cache))
    assert warm == cold
