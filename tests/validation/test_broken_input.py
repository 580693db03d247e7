"""``validate`` on a broken build: one line per cause, no traceback (issue 14 item 16)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from ceap_templates.cli import main


def _dev_copy(fresh_build_dir: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "build" / "dev"
    shutil.copytree(fresh_build_dir / "dev", folder)
    return folder


def test_truncated_template__one_finding_and_the_other_rules_skip_it(
    fresh_build_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _dev_copy(fresh_build_dir, tmp_path)
    template = folder / "CeapDataPlatform-dev.template.json"
    template.write_bytes(template.read_bytes()[:5000])  # a half-written file (disk full, interrupted copy)
    code = main(["validate", str(folder.parent), "--no-cache"])  # every rule, cfn-lint included
    out, err = capsys.readouterr()
    assert code == 1
    lines = out.splitlines()
    assert len(lines) <= 3, lines
    assert len(lines) == 1, lines  # today: the parse error alone
    assert lines[0].startswith("MAN001 dev/CeapDataPlatform-dev/-: not a JSON template: ")
    assert "Traceback" not in err


def test_missing_template__one_finding(
    fresh_build_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _dev_copy(fresh_build_dir, tmp_path)
    (folder / "CeapDatabase-dev.template.json").unlink()
    code = main(["validate", str(folder.parent), "--no-cache", "--skip", "LINT001"])
    out, _ = capsys.readouterr()
    assert code == 1
    assert [line.split(":")[0] for line in out.splitlines()] == ["MAN001 dev/CeapDatabase-dev/-"]


def _set(manifest: dict[str, Any], path: list[str], value: Any) -> None:
    node = manifest
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (["layouts"], [], "manifest.json: layouts: must be an object of layout name -> {stacks, waves}, got list"),
        (["deploy"], 3, "manifest.json: deploy: must be an object with layouts and waves"),
        (["deploy", "waves"], [1], "manifest.json: deploy.waves: must be a list of waves, each a list of stack names"),
        (
            ["layouts", "consolidated", "stacks", "CeapDatabase-dev"],
            "x",
            "manifest.json: layouts.consolidated.stacks.CeapDatabase-dev: must be an object with a 'template' path",
        ),
        (["layouts", "legacy", "waves"], {}, "manifest.json: layouts.legacy.waves: must be a list, got dict"),
    ],
)
def test_malformed_manifest__one_line_exit_2(
    fresh_build_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    path: list[str],
    value: Any,
    message: str,
) -> None:
    folder = _dev_copy(fresh_build_dir, tmp_path)
    manifest_file = folder / "manifest.json"
    manifest = json.loads(manifest_file.read_text())
    _set(manifest, path, value)
    manifest_file.write_text(json.dumps(manifest))
    code = main(["validate", str(folder), "--no-cache", "--skip", "LINT001"])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.splitlines() == [f"error: {manifest_file.parent}/{message} (rebuild with `ceap-templates build`)"]
