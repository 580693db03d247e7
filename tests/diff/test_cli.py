"""``ceap-templates diff`` as a user runs it: folders, ``--base GIT_REF``, exit codes, bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ceap_templates.cli import main

from . import kit

ROOT = kit.ROOT
#: What a build of a ref needs: its code, its configuration, its handler sources; plus its build/.
PROJECT = ("src", "config", "lambdas", "glue", "build")
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".hypothesis", "spark-warehouse")


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.email=test@example.com", "-c", "user.name=test", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    """A throw-away git repository holding the project (so --base never touches the real one)."""
    target = tmp_path / "repo"
    for part in PROJECT:
        shutil.copytree(ROOT / part, target / part, ignore=_IGNORE)
    _git(target, "init", "--quiet")
    _git(target, "add", "-A")
    _git(target, "commit", "--quiet", "-m", "project")
    return target


def _cli(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    scratch = repo.parent / "tmp"
    scratch.mkdir(exist_ok=True)
    # TMPDIR: the temporary worktree lands where the test can see that it is gone afterwards.
    env = {**os.environ, "TMPDIR": str(scratch)}
    return subprocess.run(
        [sys.executable, "-m", "ceap_templates.cli", "diff", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _no_leftovers(repo: Path) -> None:
    assert _git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1
    assert list((repo.parent / "tmp").iterdir()) == []


def test_base_head_on_a_clean_tree_reports_nothing(repo: Path) -> None:
    done = _cli(repo, "--base", "HEAD", "--format", "json", "--fail-on", "any")
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout) == {"changes": [], "exports": [], "security": [], "waves": []}
    _no_leftovers(repo)


def test_base_builds_the_refs_own_configuration(repo: Path) -> None:
    config = repo / "config" / "environments.yaml"
    text = config.read_text("utf-8")
    assert "    logRetentionDays: 14\n" in text  # dev (config/environments.yaml)
    config.write_text(text.replace("    logRetentionDays: 14\n", "    logRetentionDays: 60\n", 1), "utf-8")
    _git(repo, "commit", "--quiet", "-am", "dev keeps logs 60 days")
    # HEAD now builds 60-day log groups; build/ still holds the 14-day ones.
    done = _cli(repo, "--base", "HEAD", "--env", "dev", "--format", "json", "--fail-on", "replacement")
    assert done.returncode == 0, done.stderr
    changes = json.loads(done.stdout)["changes"]
    log_groups = {
        (env, layout, name, lid)
        for (env, layout, name), lid in kit.resources_of("AWS::Logs::LogGroup")
        if env == "dev" and "RetentionInDays" in kit.stack((env, layout, name)).resources[lid]["Properties"]
    }
    assert {(c["environment"], c["layout"], c["stack"], c["logicalId"]) for c in changes} == log_groups
    # AWS::Logs::LogGroup RetentionInDays: "Update requires: No interruption".
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-logs-loggroup.html
    assert {(c["action"], c["replacement"], c["dataLoss"], tuple(c["paths"])) for c in changes} == {
        ("modify", "never", False, ("Properties.RetentionInDays",))
    }
    _no_leftovers(repo)


def test_a_ref_that_does_not_build(repo: Path) -> None:
    config = repo / "config" / "environments.yaml"
    config.write_text(config.read_text("utf-8").replace("logRetentionDays: 14", "logRetentionDays: fourteen", 1))
    _git(repo, "commit", "--quiet", "-am", "broken configuration")
    done = _cli(repo, "--base", "HEAD")
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --base HEAD (") and "does not build" in lines[0]
    assert "logRetentionDays" in lines[0]
    _no_leftovers(repo)


def test_a_git_ref_that_does_not_exist(repo: Path) -> None:
    done = _cli(repo, "--base", "no-such-branch")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "error: --base no-such-branch: no such git commit, branch or tag\n"
    _no_leftovers(repo)


def _copy_build(tmp_path: Path) -> Path:
    target = tmp_path / "new"
    shutil.copytree(kit.BUILD, target)
    return target


def _edit_file(path: Path, change: Any) -> None:
    template = json.loads(path.read_text("utf-8"))
    change(template)
    path.write_text(json.dumps(template, indent=2, sort_keys=True), "utf-8")


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["diff", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_fail_on_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new = _copy_build(tmp_path)
    old = str(kit.BUILD)
    function = new / "dev" / "CeapWorkflow-batch.template.json"
    _edit_file(function, lambda t: t["Resources"]["ETLFunction"]["Properties"].__setitem__("MemorySize", 2048))
    assert _run(capsys, old, str(new))[0] == 0
    assert _run(capsys, old, str(new), "--fail-on", "any")[0] == 1
    assert _run(capsys, old, str(new), "--fail-on", "replacement")[0] == 0
    assert _run(capsys, old, str(new), "--fail-on", "data-loss")[0] == 0
    table = new / "dev" / "CeapDatabase-dev.template.json"
    _edit_file(
        table,
        lambda t: t["Resources"]["CandidatesTableB438AE0C"]["Properties"].__setitem__("TableName", "renamed-table"),
    )
    assert _run(capsys, old, str(new), "--fail-on", "replacement")[0] == 1
    # dev does not retain data (config/environments.yaml retainData: false): a replaced table loses it.
    assert _run(capsys, old, str(new), "--fail-on", "data-loss")[0] == 1
    code, out, _ = _run(capsys, old, str(new), "--format", "json")
    data = json.loads(out)
    assert code == 0 and list(data) == ["changes", "exports", "security", "waves"]
    assert sorted(data["changes"][0]) == sorted(
        ["environment", "layout", "stack", "logicalId", "type", "action", "replacement", "dataLoss", "paths"]
    )


def test_env_restricts_the_comparison(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new = _copy_build(tmp_path)
    _edit_file(
        new / "prod" / "CeapWorkflow-batch.template.json",
        lambda t: t["Resources"]["ETLFunction"]["Properties"].__setitem__("MemorySize", 2048),
    )
    code, out, _ = _run(capsys, str(kit.BUILD), str(new), "--env", "dev", "--env", "staging", "--format", "json")
    assert code == 0 and json.loads(out)["changes"] == []
    code, out, _ = _run(capsys, str(kit.BUILD), str(new), "--env", "prod", "--format", "json")
    assert [c["stack"] for c in json.loads(out)["changes"]] == ["CeapWorkflow-batch"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{tmp}", "build"], "{tmp}: no */manifest.json found (run `ceap-templates build` first)"),
        (["build/dev", "build/prod"], "the builds hold different environments: OLD build/dev has dev, NEW build/prod"),
        (["build", "build", "--env", "qa"], "--env qa: not in OLD build build (it has: dev, prod, staging)"),
        (["build"], "give two build folders (OLD NEW) or --base GIT_REF [NEW]"),
        (["--base", "HEAD", "a", "b"], "--base HEAD takes at most one build folder (NEW), got 2"),
        (["build", "{tmp}/missing"], "{tmp}/missing: not a directory"),
    ],
)
def test_bad_input_is_one_line_exit_2(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    code, out, err = _run(capsys, *(a.format(tmp=tmp_path) for a in args))
    assert (code, out) == (2, "")
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: " + message.format(tmp=tmp_path)), err


@pytest.mark.parametrize(
    "manifest",
    [
        "{}",
        "[]",
        '{"environment": "dev", "layouts": []}',
        '{"environment": "dev", "layouts": {"consolidated": {"stacks": {"A": "a.json"}}}}',
        '{"environment": "dev", "layouts": {"consolidated": {"stacks": {}, "waves": "A"}}}',
    ],
)
def test_a_foreign_manifest_is_refused(manifest: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "dev"
    folder.mkdir()
    (folder / "manifest.json").write_text(manifest, "utf-8")
    code, out, err = _run(capsys, str(folder), str(folder))
    assert (code, out) == (2, "")
    assert err == f"error: {folder}/manifest.json: not a ceap-templates manifest (needs environment and layouts)\n"


def test_an_incomplete_build_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new = _copy_build(tmp_path)
    (new / "dev" / "CeapDatabase-dev.template.json").write_text("{not json", "utf-8")
    code, out, err = _run(capsys, str(kit.BUILD), str(new))
    assert (code, out) == (2, "")
    assert err.startswith(f"error: {new}: not a complete build: dev/CeapDatabase-dev: not a JSON template")
    assert len(err.splitlines()) == 1
