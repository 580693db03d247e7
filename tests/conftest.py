"""Hypothesis profiles for every test tree (tox sets ``HYPOTHESIS_PROFILE=ci``).

``ci``: 100 examples (the floor for property tests, docs/design.md 12), derandomized so a CI failure
reproduces. ``dev``: the same count, random seeds, for local runs.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

pytest_plugins = ["support.local_aws_server"]  # the session's loopback emulator (local_aws fixture)

# Spark examples (tests/glue) take about a second each and some tests use function-scoped
# fixtures (moto, tmp_path) that are reset per example on purpose.
_SUPPRESSED = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture]

settings.register_profile("ci", max_examples=100, deadline=None, derandomize=True, suppress_health_check=_SUPPRESSED)
settings.register_profile("dev", max_examples=100, deadline=None, suppress_health_check=_SUPPRESSED)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that needs the loopback emulator runs on one xdist worker (``--dist loadgroup``).

    The emulator and the environments the deploy tests build in it are session/module state:
    split over workers they would be started (and deployed) once per worker, and a module's
    ordered steps (deploy, re-run, change, roll back) could land on different emulators.
    """
    for item in items:
        if "glue" in item.path.relative_to(item.config.rootpath).parts[:2]:
            # One SparkSession per worker costs ~10 s and 1 GB: keep the Spark tests on one.
            item.add_marker(pytest.mark.xdist_group("spark"))
        elif item.get_closest_marker("emulator") or {"local_aws", "stock_aws"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.xdist_group("local_aws"))
