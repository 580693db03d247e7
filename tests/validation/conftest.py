"""Fixtures: a fresh build on disk (session), its parsed model, and the custom-rule findings helper."""

from __future__ import annotations

import os
from collections.abc import Iterator
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


@pytest.fixture(scope="session", autouse=True)
def _private_validate_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``validate`` caches under ``$XDG_CACHE_HOME``: tests use a scratch one, never the user's."""
    folder = tmp_path_factory.mktemp("xdg-cache")
    previous = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = previous


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
