"""``ceap-templates validate``: exit codes, one line per finding, loading any build folder."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from ceap_templates import configuration
from ceap_templates.cli import main
from ceap_templates.validation.engine import run, validate_directory
from ceap_templates.validation.model import load_build
from ceap_templates.validation.rules import all_rules, custom_rules

from .conftest import CONFIG_PATH, ROOT

LINE = re.compile(r"^[A-Z]{3,4}\d{3} [^ ]+/[^ /]+: .+$")


def test_validate__committed_build__exit_0_for_every_environment(capsys: pytest.CaptureFixture[str]) -> None:
    """What CI and reviewers see: the committed build/ passes every rule, cfn-lint included."""
    code = main(["validate", str(ROOT / "build")])
    out, err = capsys.readouterr()
    assert (code, out) == (0, ""), out
    environments = sorted(configuration.load(CONFIG_PATH).environments)
    assert f"of {', '.join(environments)} with {len(all_rules())} rules: 0 finding(s)" in err


def test_validate__findings__one_line_each_and_exit_1(
    fresh_build_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build = tmp_path / "build"
    shutil.copytree(fresh_build_dir, build)
    path = build / "staging" / "CeapDatabase-staging.template.json"
    template = json.loads(path.read_text())
    del template["Resources"]["CandidatesTableB438AE0C"]["Properties"]["SSESpecification"]
    path.write_text(json.dumps(template, indent=2))
    code = main(["validate", str(build), "--skip", "LINT001"])
    out, _ = capsys.readouterr()
    lines = out.splitlines()
    assert code == 1
    assert all(LINE.match(line) for line in lines), lines
    assert (
        "SEC001 staging/CeapDatabase-staging/CandidatesTableB438AE0C: table without SSESpecification.SSEEnabled"
        in lines
    )
    # Edited by hand: the manifest's hash no longer matches (MAN001), and the legacy layout's
    # table still has SSE, so the layouts drifted apart (MIG002).
    assert {line.split()[0] for line in lines} == {"SEC001", "MAN001", "MIG002"}


def test_validate__one_environment_folder(fresh_build_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate", str(fresh_build_dir / "prod"), "--skip", "LINT001"])
    _, err = capsys.readouterr()
    assert code == 0 and "of prod with" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["validate", "/nonexistent/build"], "not a directory"),
        (["validate", "--only", "NOPE001"], "unknown rule id(s): NOPE001"),
        (["validate", "--docs", "/nonexistent/RUNBOOK.md"], "/nonexistent/RUNBOOK.md: cannot read document"),
    ],
)
def test_validate__expected_errors__exit_2_one_message(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.startswith("error: ") and message in err and "Traceback" not in err


def test_validate__folder_without_manifest__exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "dev").mkdir()
    assert main(["validate", str(tmp_path)]) == 2
    assert "no */manifest.json found" in capsys.readouterr().err


def test_validate__list_rules__every_id_with_source(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--list-rules"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == [r.id for r in all_rules()]
    assert all(line.endswith("]") and "[" in line for line in out)


def test_validate__docs_option__flags_a_stale_document(
    fresh_build_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = tmp_path / "RUNBOOK.md"
    doc.write_text("# Runbook\n\nRedeploy CeapScoreWorkflow-prod when scores look stale.\n")
    code = main(["validate", str(fresh_build_dir), "--only", "DOC001", "--docs", str(doc)])
    out, _ = capsys.readouterr()
    assert code == 1
    assert out.splitlines() == [
        f"DOC001 {doc.as_posix()}/L3: names legacy stack CeapScoreWorkflow-prod as current; use CeapDataPlatform-prod "
        "or mark it legacy/migration"
    ]


# ---- loading problems are findings, not crashes ---------------------------------------------
def test_loader__stray_missing_and_broken_templates__reported_by_man001(fresh_build_dir: Path, tmp_path: Path) -> None:
    build = tmp_path / "build"
    shutil.copytree(fresh_build_dir, build)
    shutil.copy(build / "dev" / "CeapDatabase-dev.template.json", build / "dev" / "Stray.template.json")
    (build / "staging" / "CeapServingAPI-staging.template.json").unlink()
    (build / "prod" / "legacy" / "CeapEtlWorkflow-prod.template.json").write_text("{not json")
    report = validate_directory(build, skip=["LINT001"])
    messages = {
        (f.rule, f.location, f.message.split(":")[0].split(";")[0]) for f in report.findings if f.rule == "MAN001"
    }
    assert ("MAN001", "dev/Stray", "template file not listed in manifest.json") in messages
    assert (
        "MAN001",
        "staging/CeapServingAPI-staging",
        "manifest lists 'CeapServingAPI-staging.template.json' for CeapServingAPI-staging but the file is missing",
    ) in messages
    assert ("MAN001", "prod/legacy/CeapEtlWorkflow-prod", "not a JSON template") in messages


def test_malformed_template__rules_report_instead_of_crashing(fresh_build_dir: Path, tmp_path: Path) -> None:
    build = tmp_path / "build"
    shutil.copytree(fresh_build_dir / "dev", build / "dev")
    path = build / "dev" / "CeapServingAPI-dev.template.json"
    template = json.loads(path.read_text())
    template["Resources"]["Broken"] = "not a resource"
    template["Resources"]["ReactiveStateMachine"]["Properties"]["DefinitionSubstitutions"] = ["not", "a", "mapping"]
    path.write_text(json.dumps(template))
    report = validate_directory(build, skip=["LINT001"])
    assert not report.ok
    found = {(f.rule, f.message) for f in report.findings}
    assert ("MAN001", "resource Broken is not a JSON object") in found
    assert ("ASL003", "substitutions no placeholder uses: a, mapping, not") in found
    assert not [f for f in report.findings if "could not run" in f.message]


def test_loader__parses_each_template_once(fresh_build_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The custom rules share one parse per template (cfn-lint reads the files itself)."""
    from ceap_templates.validation import model

    calls: list[str] = []
    original = model.stack_from_text
    monkeypatch.setattr(model, "stack_from_text", lambda *a, **k: calls.append(a[3]) or original(*a, **k))
    build = load_build(fresh_build_dir)
    run(build, custom_rules())
    assert len(calls) == sum(1 for _ in build.stacks()) == len(list(fresh_build_dir.rglob("*.template.json")))


def test_legacy_database_exports__listed_in_the_manifest(raw_config_copy: dict[str, object]) -> None:
    from ceap_templates.environment_build import build_environment
    from ceap_templates.validation.model import build_from_environments, load_environment_files

    from .conftest import FIXED_CODE

    dev = raw_config_copy["environments"]["dev"]  # type: ignore[index]
    dev["legacyDatabaseExports"] = [  # type: ignore[index]
        {
            "name": "CeapDatabase-dev:ExportsOutputRefCandidatesTableB438AE0C12AB34CD",
            "table": "Candidates",
            "attribute": "Name",
        }
    ]
    env = configuration.parse(raw_config_copy).environments["dev"]
    model = load_environment_files(build_environment(env, FIXED_CODE).files)
    assert run(build_from_environments([model]), custom_rules()) == ()
