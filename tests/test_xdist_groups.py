"""--dist loadgroup really keeps a group on one worker.

The emulator tests share one session server and depend on each other's order; pytest 9.2 with
pytest-xdist 3.8 silently dropped the groups (CI then ran two deploy tests on two workers against
two emulators' worth of half-shared state). xdist marks a grouped test by suffixing its node ID
with ``@group`` (pytest-xdist docs, "--dist loadgroup"); this test fails when that stops.
"""

from __future__ import annotations

import pytest


@pytest.mark.xdist_group("probe")
def test_a_grouped_test_carries_its_group_in_its_node_id(request: pytest.FixtureRequest) -> None:
    if not getattr(request.config, "workerinput", None) or not request.config.getvalue("loadgroup"):
        pytest.skip("not running on a pytest-xdist worker with --dist loadgroup")
    assert request.node.nodeid.endswith("@probe"), request.node.nodeid


def test_emulator_tests_are_grouped_on_one_worker(request: pytest.FixtureRequest) -> None:
    # tests/glue's emulator tests use in-process moto, not the session server: they ride with Spark.
    items = request.session.items
    emulator = [
        i
        for i in items
        if i.get_closest_marker("emulator") and "glue" not in i.path.relative_to(i.config.rootpath).parts[:2]
    ]
    if not emulator:
        pytest.skip("no emulator test collected in this run")
    assert {m.args[0] for i in emulator for m in i.iter_markers("xdist_group")} == {"local_aws"}


def test_spark_tests_share_one_worker(request: pytest.FixtureRequest) -> None:
    items = request.session.items
    spark = [i for i in items if "glue" in i.path.relative_to(i.config.rootpath).parts[:2]]
    if not spark:
        pytest.skip("no tests/glue test collected in this run")
    assert {m.args[0] for i in spark for m in i.iter_markers("xdist_group")} == {"spark"}
