"""Source-level mutation tests: a fault in a copy of the generator is reported by ``validate``.

Template mutations (``mutations/``) break a built template; these break the code that builds
it, which the template mutations cannot see: a rule that took its expectation from the
generator would agree with the fault. Each fault builds once (``dev`` only, in its own
process, ``PYTHONPATH`` at the copy) and runs the custom rules (``--skip LINT001``: none of
these is a cfn-lint matter). pytest-xdist spreads the faults over the workers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import CONFIG_PATH, ROOT
from .source_faults import SOURCE_FAULTS, SourceFault

PACKAGE = ROOT / "src" / "ceap_templates"
_BUILD_AND_VALIDATE = """
import sys
from ceap_templates.cli import main
out = sys.argv[1]
code = main(["build", "--out", out, "--env", "dev", "--config", sys.argv[2], "--source-root", sys.argv[3], "--quiet"])
if code:
    sys.exit(100 + code)
sys.exit(main(["validate", out, "--skip", "LINT001", "--no-cache", "--quiet"]))
"""


@pytest.mark.parametrize("fault", SOURCE_FAULTS, ids=lambda f: f.id)
def test_fault_text__occurs_exactly_once_in_todays_source(fault: SourceFault) -> None:
    """A refactored generator makes a stale fault fail here, not pass vacuously below."""
    text = (PACKAGE / fault.path).read_text("utf-8")
    assert text.count(fault.old) == 1, f"{fault.path}: {fault.old!r} occurs {text.count(fault.old)} times"
    assert fault.new != fault.old


def test_fault_ids__unique() -> None:
    assert len({f.id for f in SOURCE_FAULTS}) == len(SOURCE_FAULTS)


def test_catalogue__covers_what_the_issue_lists() -> None:
    """Every legacy ID, each retry field of both policies, expiry, receive count, DLQ retention,
    .sync:2, pipe invocation types, every Glue argument, one action per role kind."""
    names = " | ".join(f.name for f in SOURCE_FAULTS)
    ids = [f for f in SOURCE_FAULTS if f.name.startswith("legacy id of")]
    assert len(ids) == 12
    for expected in (
        "Lambda retry interval",
        "Lambda retry attempts",
        "Lambda retry backoff",
        "Lambda throttling not retried",
        "Glue retry interval",
        "Glue retry attempts",
        "Glue retry backoff",
        "executions/ expire",
        "maxReceiveCount",
        "DLQ keeps",
        ".sync:2",
        "pipe invocation types",
        "Lambda role",
        "machine role",
        "Glue job role",
        "EventBridge role",
        "pipe role",
    ):
        assert expected in names, expected
    assert sum(1 for f in SOURCE_FAULTS if f.name.startswith("Glue argument")) == 7


def test_catalogue__covers_issue_16() -> None:
    """Each field of a Distributed Map, its role's grants, its MaxItems unit, and the sizing a
    stage function gets: ASL011, ASL010 and CAP001 each fail on a fault in the generator."""
    by_rule: dict[str, list[str]] = {}
    for fault in SOURCE_FAULTS:
        by_rule.setdefault(fault.rule, []).append(fault.name)
    for rule, expected in (
        ("ASL011", ("INLINE", "MaxItems", "part list", "tolerates", "return their results", "start", "follows")),
        ("ASL010", ("MaxItems counts candidates",)),
        ("CAP001", ("memoryMb", "timeoutSeconds", "mapConcurrency", "part size")),
    ):
        names = " | ".join(by_rule.get(rule, []))
        for word in expected:
            assert word in names, (rule, word)


def _copy_with_fault(fault: SourceFault, root: Path) -> Path:
    copy = root / "src"
    shutil.copytree(PACKAGE, copy / "ceap_templates", ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / "ceap_templates" / fault.path
    text = target.read_text("utf-8")
    assert text.count(fault.old) == 1
    target.write_text(text.replace(fault.old, fault.new), "utf-8")
    return copy


@pytest.mark.parametrize("fault", SOURCE_FAULTS, ids=lambda f: f.id)
def test_source_fault__validate_exits_1_naming_its_rule(fault: SourceFault, tmp_path: Path) -> None:
    source = _copy_with_fault(fault, tmp_path)
    environment = {**os.environ, "PYTHONPATH": str(source), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", _BUILD_AND_VALIDATE, str(tmp_path / "build"), str(CONFIG_PATH), str(ROOT)],
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        timeout=600,
        check=False,
    )
    assert done.returncode == 1, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    rules = {line.split(" ", 1)[0] for line in done.stdout.splitlines() if line.strip()}
    assert fault.rule in rules, done.stdout
