"""Fixtures: a fresh build on disk (session), its parsed model, and in-memory builds of configurations."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ceap_templates import configuration
from ceap_templates.cli import main as cli_main
from ceap_templates.code import CodeArtifacts
from ceap_templates.environment_build import build_environment
from ceap_templates.validation.model import (
    Build,
    Environment,
    build_from_environments,
    load_build,
    load_environment_files,
)
from ceap_templates.validation.rules import custom_rules

ROOT = Path(__file__).resolve().parents[2]
CONFIG_PATH = ROOT / "config" / "environments.yaml"
#: Code addresses that do not depend on the sources (the builders are pure).
FIXED_CODE = CodeArtifacts("a" * 64, "b" * 64, "c" * 64)
ENVS = ("dev", "staging", "prod")


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


@pytest.fixture(scope="session")
def config() -> configuration.Configuration:
    return configuration.load(CONFIG_PATH)


def environment_model(env: configuration.Environment) -> Environment:
    """Build ``env`` in memory and parse it like a build folder (no disk)."""
    return load_environment_files(build_environment(env, FIXED_CODE).files)


def custom_findings(build: Build) -> list[Any]:
    from ceap_templates.validation.engine import run

    return list(run(build, custom_rules()))


@pytest.fixture(scope="session")
def validate_env() -> Callable[[Environment], list[Any]]:
    """Custom-rule findings of one environment model."""
    return lambda env: custom_findings(build_from_environments([env]))
