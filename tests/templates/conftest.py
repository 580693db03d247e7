"""Fixtures: the real configuration, fixed code addresses, and in-memory builds of it."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from ceap_templates import configuration
from ceap_templates.code import CodeArtifacts
from ceap_templates.environment_build import EnvironmentBuild, build_environment

ROOT = Path(__file__).resolve().parents[2]
CONFIG_PATH = ROOT / "config" / "environments.yaml"
#: Code addresses that do not depend on the sources (the builders are pure).
FIXED_CODE = CodeArtifacts("a" * 64, "b" * 64, "c" * 64)


@pytest.fixture(scope="session")
def config() -> configuration.Configuration:
    return configuration.load(CONFIG_PATH)


@pytest.fixture(scope="session")
def raw_config() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(CONFIG_PATH.read_text())
    return document


@pytest.fixture()
def raw_copy(raw_config: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(raw_config)


@pytest.fixture(scope="session")
def builds(config: configuration.Configuration) -> dict[str, EnvironmentBuild]:
    return {env.name: build_environment(env, FIXED_CODE) for env in config.environments.values()}


@pytest.fixture(scope="session")
def base_env(config: configuration.Configuration) -> configuration.Environment:
    """The dev environment of the real configuration (tests replace its workflows)."""
    return config.environments["dev"]


#: The environments of the real configuration, in file order.
ENVS = ["dev", "staging", "prod"]


def properties_of(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    """The Properties of one resource."""
    result: dict[str, Any] = template["Resources"][logical_id]["Properties"]
    return result


def policy_statements(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    """Every statement of a role's inline policies."""
    role = template["Resources"][role_id]["Properties"]
    return [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]


def resources_of(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template.get("Resources", {}).items() if v["Type"] == type_}


def stack(build: EnvironmentBuild, layout: str, name: str) -> dict[str, Any]:
    for artifact in build.stacks:
        if artifact.layout == layout and artifact.name == name:
            return artifact.template
    raise AssertionError(f"{layout}/{name} not built; have {[(s.layout, s.name) for s in build.stacks]}")


def find_all(node: Any, key: str) -> list[Any]:
    """Every value stored under ``key`` anywhere in ``node``."""
    found: list[Any] = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                found.append(v)
            found += find_all(v, key)
    elif isinstance(node, list):
        for v in node:
            found += find_all(v, key)
    return found
