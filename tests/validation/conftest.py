"""Fixtures: a fresh build on disk (session), its parsed model, and the custom-rule findings helper."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ceap_templates.cli import main as cli_main
from ceap_templates.code import CodeArtifacts
from ceap_templates.validation.model import (
    Build,
    load_build,
)
from ceap_templates.validation.rules import custom_rules

ROOT = Path(__file__).resolve().parents[2]
CONFIG_PATH = ROOT / "config" / "environments.yaml"
#: Code addresses that do not depend on the sources (the builders are pure).
FIXED_CODE = CodeArtifacts("a" * 64, "b" * 64, "c" * 64)


@pytest.fixture(scope="session")
def fresh_build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``ceap-templates build`` of the real configuration into a scratch folder."""
    out = tmp_path_factory.mktemp("build")
    code = cli_main(["build", "--out", str(out), "--config", str(CONFIG_PATH), "--source-root", str(ROOT), "--quiet"])
    assert code == 0
    return out


@pytest.fixture(scope="session")
def base_build(fresh_build_dir: Path) -> Build:
    return load_build(fresh_build_dir)


@pytest.fixture()
def raw_config_copy() -> dict[str, Any]:
    """The real configuration file as plain data, to edit in one test."""
    import yaml

    document: dict[str, Any] = yaml.safe_load(CONFIG_PATH.read_text("utf-8"))
    return document


def custom_findings(build: Build) -> list[Any]:
    from ceap_templates.validation.engine import run

    return list(run(build, custom_rules()))
