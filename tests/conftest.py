"""Hypothesis profiles for every test tree (tox sets ``HYPOTHESIS_PROFILE=ci``).

``ci``: 100 examples (the floor for property tests, SYSTEM.md 12), derandomized so a CI failure
reproduces. ``dev``: the same count, random seeds, for local runs.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

pytest_plugins = ["support.local_aws_server"]  # the session's loopback emulator (local_aws fixture)

# Spark examples (tests/glue) take about a second each and some tests use function-scoped
# fixtures (moto, tmp_path) that are reset per example on purpose.
_SUPPRESSED = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture]

settings.register_profile("ci", max_examples=100, deadline=None, derandomize=True, suppress_health_check=_SUPPRESSED)
settings.register_profile("dev", max_examples=100, deadline=None, suppress_health_check=_SUPPRESSED)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
