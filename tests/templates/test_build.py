"""The build: deterministic bytes, committed artifacts current, code addressed by content."""

from __future__ import annotations

import filecmp
import json
import shutil
from pathlib import Path

import pytest

from ceap_templates.cli import main
from ceap_templates.lint_build import lint_files, template_files
from ceap_templates.packaging import code_artifacts, deterministic_zip

from .conftest import CONFIG_PATH, ROOT


def _build(out: Path, *extra: str) -> None:
    assert (
        main(["build", "--config", str(CONFIG_PATH), "--source-root", str(ROOT), "--out", str(out), "--quiet", *extra])
        == 0
    )


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def fresh_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fresh")
    _build(out)
    return out


def test_build_twice__identical_bytes(fresh_build: Path, tmp_path: Path) -> None:
    _build(tmp_path / "again")
    assert _tree(fresh_build) == _tree(tmp_path / "again")


def test_committed_build__equals_a_fresh_build(fresh_build: Path) -> None:
    committed = ROOT / "build"
    comparison = filecmp.dircmp(committed, fresh_build)
    assert _tree(committed) == _tree(fresh_build), (
        f"run `tox -e build`: {comparison.diff_files or comparison.left_only or comparison.right_only}"
    )


def test_build_layout__files_per_environment(fresh_build: Path) -> None:
    for env in ("dev", "staging", "prod"):
        folder = fresh_build / env
        names = {p.name for p in folder.iterdir() if p.is_file()}
        assert {
            f"CeapDatabase-{env}.template.json",
            f"CeapDataPlatform-{env}.template.json",
            f"CeapServingAPI-{env}.template.json",
            "manifest.json",
            "ARCHITECTURE.md",
        } <= names
        assert len(list((folder / "legacy").glob("*.template.json"))) == 7
        manifest = json.loads((folder / "manifest.json").read_text())
        for layout in manifest["layouts"].values():
            for name, entry in layout["stacks"].items():
                import hashlib

                data = (folder / entry["template"]).read_bytes()
                assert entry["sha256"] == hashlib.sha256(data).hexdigest(), name
                assert entry["resourceCount"] == len(json.loads(data)["Resources"])
        architecture = (folder / "ARCHITECTURE.md").read_text()
        assert "```mermaid" in architecture and f"CeapDatabase_{env} -->" in architecture


def test_build_one_environment__leaves_the_others_alone(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _build(out)
    marker = out / "prod" / "manifest.json"
    before = marker.read_bytes()
    (out / "dev" / "stale.json").write_text("{}")
    _build(out, "--env", "dev")
    assert not (out / "dev" / "stale.json").exists()
    assert marker.read_bytes() == before
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_code_change__changes_the_key_and_only_then(tmp_path: Path) -> None:
    root = tmp_path / "project"
    shutil.copytree(ROOT / "lambdas", root / "lambdas", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "glue", root / "glue", ignore=shutil.ignore_patterns("__pycache__"))
    first = code_artifacts(root)
    (root / "lambdas" / "ceap_handlers" / "__pycache__").mkdir(exist_ok=True)
    (root / "lambdas" / "ceap_handlers" / "__pycache__" / "x.pyc").write_bytes(b"cache")
    assert code_artifacts(root) == first
    handler = sorted((root / "lambdas" / "ceap_handlers").rglob("*.py"))[0]
    handler.write_text(handler.read_text() + "\n# changed\n")
    second = code_artifacts(root)
    assert second.lambda_sha256 != first.lambda_sha256
    assert second.glue_script_sha256 == first.glue_script_sha256


def test_deterministic_zip__fixed_order_and_timestamps(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "b").mkdir(parents=True)
    (package / "z.py").write_text("z")
    (package / "b" / "a.py").write_text("a")
    first = deterministic_zip(package)
    (package / "z.py").touch()
    assert deterministic_zip(package) == first
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        assert archive.namelist() == ["pkg/b/a.py", "pkg/z.py"]
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_templates_reference_the_package_key(fresh_build: Path) -> None:
    code = code_artifacts(ROOT)
    platform = json.loads((fresh_build / "dev" / "CeapDataPlatform-dev.template.json").read_text())
    function = platform["Resources"]["ETLLambdaFunction49DD508A"]["Properties"]
    assert function["Code"] == {"S3Bucket": {"Ref": "ArtifactBucket"}, "S3Key": code.lambda_key}
    assert code.lambda_sha256 in code.lambda_key


def test_cfn_lint__no_finding_on_any_template(fresh_build: Path) -> None:
    files = template_files(fresh_build)
    matches = lint_files(files)
    assert [f"{m.rule.id} {m.filename}: {m.message}" for m in matches] == []


def test_cfn_lint__catches_a_broken_template(fresh_build: Path, tmp_path: Path) -> None:
    source = fresh_build / "dev" / "CeapDatabase-dev.template.json"
    template = json.loads(source.read_text())
    del template["Resources"]["CandidatesTableB438AE0C"]["DeletionPolicy"]
    template["Resources"]["CandidatesTableB438AE0C"]["Properties"]["BillingMode"] = "FREE"
    broken = tmp_path / "broken.template.json"
    broken.write_text(json.dumps(template))
    ids = {m.rule.id for m in lint_files([broken])}
    assert "E3030" in ids and "I3011" in ids


def test_package__writes_the_objects_the_templates_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import io
    import zipfile

    assert main(["package", "--source-root", str(ROOT), "--out", str(tmp_path)]) == 0
    code = code_artifacts(ROOT)
    written = {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()}
    assert written == {code.lambda_key, code.glue_script_key, code.glue_library_key}
    assert (tmp_path / code.glue_script_key).read_bytes() == (ROOT / "glue" / "heavy_etl.py").read_bytes()
    with zipfile.ZipFile(io.BytesIO((tmp_path / code.glue_library_key).read_bytes())) as archive:
        assert "ceap_glue/job.py" in archive.namelist() and "ceap_glue/transforms.py" in archive.namelist()
    with zipfile.ZipFile(tmp_path / code.lambda_key) as archive:
        names = archive.namelist()
        assert "ceap_handlers/handlers/etl.py" in names and not any("__pycache__" in n for n in names)
    import hashlib

    assert hashlib.sha256((tmp_path / code.lambda_key).read_bytes()).hexdigest() == code.lambda_sha256
    assert code.lambda_key in capsys.readouterr().out
