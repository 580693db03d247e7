"""scripts/rehearse-migration.sh as a subprocess: it never runs against a non-loopback endpoint.

The end-to-end run on the session emulator is not in this file yet (docs/migration.md "Rehearsal").
"""

from __future__ import annotations

import pytest

from .conftest import Scripts

pytestmark = pytest.mark.xdist_group("local_aws")


@pytest.mark.parametrize("endpoint", ["", "https://cloudformation.us-east-1.amazonaws.com", "http://10.0.0.5:4566"])
def test_non_loopback_endpoint__exit_2_before_any_call(offline_scripts: Scripts, endpoint: str) -> None:
    env = {"AWS_ENDPOINT_URL": endpoint}
    run = offline_scripts.run("rehearse-migration.sh", "dev", "--yes", extra_env=env)
    assert run.returncode == 2, run.output
    assert f"AWS_ENDPOINT_URL='{endpoint}' is not a loopback URL" in run.stderr
    assert "Traceback" not in run.output
    assert run.calls == []  # nothing asked of any account


def test_help_and_bad_items(offline_scripts: Scripts) -> None:
    assert offline_scripts.run("rehearse-migration.sh", "--help").returncode == 0
    run = offline_scripts.run("rehearse-migration.sh", "dev", "--items", "0", "--yes")
    assert run.returncode == 2
    assert "--items needs a positive number (got '0')" in run.stderr
