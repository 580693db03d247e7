"""ARCHITECTURE.md draws every node with its stack name and the waves manifest.json deploys (issue 14 item 18)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ceap_templates.environment_build import EnvironmentBuild

#: The dev product's deploy plan (config/environments.yaml: dev has workflows batch and realtime;
#: workflow stacks import the database, so they deploy after it, beside the platform stacks).
DEV_DEPLOY_WAVES = [
    ["CeapDatabase-dev"],
    ["CeapDataPlatform-dev", "CeapServingAPI-dev", "CeapWorkflow-batch", "CeapWorkflow-realtime"],
]


def _section(page: str, layout: str) -> str:
    return page.split(f"## Layout `{layout}`", 1)[1].split("\n## ", 1)[0]


def _drawn_waves(section: str) -> dict[str, int]:
    """Stack -> the wave number of the subgraph that draws it."""
    drawn: dict[str, int] = {}
    for number, body in re.findall(r'subgraph wave(\d+)\["wave \d+"\]\n(.*?)\n  end', section, re.S):
        for stack in re.findall(r'\["([^"]+)"\]', body):
            drawn[stack] = int(number)
    return drawn


def test_manifest_deploy_waves__the_literal_plan(builds: dict[str, EnvironmentBuild]) -> None:
    assert json.loads(builds["dev"].files["manifest.json"])["deploy"]["waves"] == DEV_DEPLOY_WAVES


def test_workflows_graph__waves_of_the_deploy_plan_and_the_database_by_name(
    builds: dict[str, EnvironmentBuild],
) -> None:
    section = _section(builds["dev"].files["ARCHITECTURE.md"], "workflows")
    assert _drawn_waves(section) == {"CeapDatabase-dev": 1, "CeapWorkflow-batch": 2, "CeapWorkflow-realtime": 2}
    assert "Deploy waves: wave 2 [CeapWorkflow-batch, CeapWorkflow-realtime]" in section


def test_every_graph__each_node_an_edge_names_is_declared_with_its_stack_name(
    builds: dict[str, EnvironmentBuild],
) -> None:
    page = builds["dev"].files["ARCHITECTURE.md"]
    for layout in ("consolidated", "legacy", "workflows"):
        section = _section(page, layout)
        declared = set(re.findall(r'^    (\w+)\["[^"]+"\]$', section, re.M))
        used = set(re.findall(r"^  (\w+) -\.?->", section, re.M)) | set(re.findall(r"\| (\w+)$", section, re.M))
        assert used <= declared, (layout, sorted(used - declared))


def test_consolidated_graph__waves_of_the_deploy_plan(builds: dict[str, EnvironmentBuild]) -> None:
    section = _section(builds["dev"].files["ARCHITECTURE.md"], "consolidated")
    assert _drawn_waves(section) == {"CeapDatabase-dev": 1, "CeapDataPlatform-dev": 2, "CeapServingAPI-dev": 2}


#: config/environments.yaml: no environment has a deliverable alarmEmail (issue 14 item 1), so the
#: build says, in the manifest and at the top of ARCHITECTURE.md, that alerts reach no one.
NO_SUBSCRIBER = {
    "subscribers": [],
    "reachNoOne": True,
    "note": "no alarmEmail (alertsUnsubscribed: true): failed executions and DLQ alarms publish to topics "
    "with no subscriber; nobody is notified",
}


def test_alerts__manifest_and_architecture_say_they_reach_no_one(builds: dict[str, EnvironmentBuild]) -> None:
    for env in ("dev", "staging", "prod"):
        manifest = json.loads(builds[env].files["manifest.json"])
        assert manifest["alerts"] == NO_SUBSCRIBER, env
        page = builds[env].files["ARCHITECTURE.md"]
        assert f"**Alerts reach no one**: {NO_SUBSCRIBER['note']}." in page.split("\n## ", 1)[0], env


def test_alerts__a_subscriber_is_listed(builds: dict[str, EnvironmentBuild], base_env: Any) -> None:
    from dataclasses import replace

    from ceap_templates.environment_build import build_environment

    from .conftest import FIXED_CODE

    env = replace(base_env, alarm_email="ceap-oncall@ceap-platform.io", alerts_unsubscribed=False)
    manifest = json.loads(build_environment(env, FIXED_CODE).files["manifest.json"])
    assert manifest["alerts"] == {
        "subscribers": [{"protocol": "email", "endpoint": "ceap-oncall@ceap-platform.io", "needsConfirmation": True}],
        "reachNoOne": False,
        "note": "e-mail subscriptions deliver nothing until confirmed; deploy.sh and smoke-test.sh list pending ones",
    }


def test_alerts__deploy_plan_prints_the_note_the_scripts_warn_with(capsys: Any) -> None:
    """scripts/lib/common.sh warn_pending_subscriptions logs this line in deploy.sh and smoke-test.sh."""
    from ceap_templates.deploy_plan import main

    root = Path(__file__).resolve().parents[2]
    assert main(["info", str(root / "build" / "staging"), "alerts"]) == 0
    assert capsys.readouterr().out == f"{NO_SUBSCRIBER['note']}\n"
