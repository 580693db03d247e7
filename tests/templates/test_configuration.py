"""Configuration: the real file loads; every kind of broken file gets one clear message, exit 2."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from ceap_templates import configuration
from ceap_templates.cli import main
from ceap_templates.errors import ConfigErrors

from .conftest import CONFIG_PATH


def test_real_configuration__loads_three_environments_with_default_workflows(
    config: configuration.Configuration,
) -> None:
    assert list(config.environments) == ["dev", "staging", "prod"]
    prod = config.environments["prod"]
    assert prod.retain_data is True and config.environments["dev"].retain_data is False
    realtime, batch = prod.workflows
    assert (realtime.name, realtime.type, [s.name for s in realtime.steps]) == (
        "realtime",
        "express",
        ["ETL", "Filter", "Score", "Store", "Reactive"],
    )
    assert batch.type == "standard"
    assert [(s.name, s.kind) for s in batch.steps][2] == ("HeavyETL", "glue")
    assert realtime.invocation_type == "REQUEST_RESPONSE" and batch.invocation_type == "FIRE_AND_FORGET"


def test_configuration_objects__are_frozen(config: configuration.Configuration) -> None:
    with pytest.raises(AttributeError):
        config.environments["dev"].region = "eu-west-1"  # type: ignore[misc]


Mutation = Callable[[dict[str, Any], str, int], tuple[str, str]]


def _env(doc: dict[str, Any], env: str) -> dict[str, Any]:
    result: dict[str, Any] = doc["environments"][env]
    return result


def unknown_key(doc: dict[str, Any], env: str, i: int) -> tuple[str, str]:
    _env(doc, env)["retainDta"] = True
    return f"environments.{env}.retainDta", "unknown key; allowed keys here:"


def wrong_type(doc: dict[str, Any], env: str, i: int) -> tuple[str, str]:
    _env(doc, env)["logRetentionDays"] = "fourteen"
    return f"environments.{env}.logRetentionDays", "expected integer, got 'fourteen'"


def unknown_stage(doc: dict[str, Any], env: str, i: int) -> tuple[str, str]:
    steps = _env(doc, env)["workflows"][0]["steps"]
    steps[i % len(steps)] = "Enrich"
    return f"environments.{env}.workflows[0].steps[{i % len(steps)}]", "'Enrich' is not a step; allowed: a Lambda stage"


def duplicate_step(doc: dict[str, Any], env: str, i: int) -> tuple[str, str]:
    steps = _env(doc, env)["workflows"][0]["steps"]
    steps.append(steps[i % len(steps)])
    return f"environments.{env}.workflows[0].steps[{len(steps) - 1}]", "duplicate step name"


def duplicate_workflow(doc: dict[str, Any], env: str, i: int) -> tuple[str, str]:
    workflows = _env(doc, env)["workflows"]
    workflows.append(copy.deepcopy(workflows[i % len(workflows)]))
    return f"environments.{env}.workflows[{len(workflows) - 1}].name", "duplicate workflow"


def glue_in_express(doc: dict[str, Any], env: str, i: int) -> tuple[str, str]:
    steps = _env(doc, env)["workflows"][0]["steps"]
    position = i % (len(steps) + 1)
    steps.insert(position, {"glue": "HeavyETL"})
    return f"environments.{env}.workflows[0].steps[{position}]", "in express workflow 'realtime'"


#: Worst cases of the configured workflows (docs/design.md "Time budgets"): realtime 255 s,
#: batch 55,140 s: ETL plan + 1 wave of 100 shards + manifest, 3 x (3 x 600 + 60) = 5,580; Filter
#: (ceil(1,100 parts / 100) + 1) x 240 = 2,880; HeavyETL 3 x 7,200 + 900 = 22,500; Score 12 x 420 =
#: 5,040; Store (ceil(1,100 / 25) + 1) x 420 = 18,900; Reactive 240 (1,100 parts: 10,000,000 /
#: 10,000 plus one per source shard).
WORST_CASES = ((0, 255), (1, 55_140))


def timeout_below_worst_case(doc: dict[str, Any], env: str, i: int) -> tuple[str, str]:
    index, minimum = WORST_CASES[i % 2]
    _env(doc, env)["workflows"][index]["timeoutSeconds"] = minimum - 1 - i % 3
    return f"environments.{env}.workflows[{index}].timeoutSeconds", f"allowed: at least {minimum}"


def empty_workflow(doc: dict[str, Any], env: str, i: int) -> tuple[str, str]:
    _env(doc, env)["workflows"][1]["steps"] = []
    return f"environments.{env}.workflows[1].steps", "must not be empty"


def shared_account(doc: dict[str, Any], env: str, i: int) -> tuple[str, str]:
    other = "prod" if env != "prod" else "dev"
    _env(doc, env)["account"] = _env(doc, other)["account"]
    later = max(env, other, key=list(doc["environments"]).index)
    return f"environments.{later}.workflows[0].name", "names must be unique per account"


def missing_region(doc: dict[str, Any], env: str, i: int) -> tuple[str, str]:
    del _env(doc, env)["region"]
    return f"environments.{env}.region", "is required"


def bad_runtime(doc: dict[str, Any], env: str, i: int) -> tuple[str, str]:
    _env(doc, env)["lambdaRuntime"] = "java17"
    return f"environments.{env}.lambdaRuntime", "'java17' is not allowed; allowed: python3.11, python3.12, python3.13"


def too_long_workflow_name(doc: dict[str, Any], env: str, i: int) -> tuple[str, str]:
    _env(doc, env)["workflows"][0]["name"] = "w" * (40 + i % 20)
    return f"environments.{env}.workflows[0].name", "AWS allows at most"


def environment_twice_in_workflow(doc: dict[str, Any], env: str, i: int) -> tuple[str, str]:
    _env(doc, env)["workflows"][0]["name"] = f"{env}-{env}"
    return f"environments.{env}.workflows[0].name", f"carries the environment '{env}' twice"


#: RFC 2606 section 2-3 (example.com/.net/.org, .example, .test, .invalid, .localhost) and RFC 6761
#: section 6 (the same special-use names): mail to them is never delivered.
RESERVED_ADDRESSES = (
    "ceap-oncall@example.com",
    "oncall@alerts.example.net",
    "oncall@EXAMPLE.ORG",
    "oncall@corp.example",
    "oncall@ceap.test",
    "oncall@ceap.invalid",
    "oncall@ceap.localhost",
)


def reserved_alarm_email(doc: dict[str, Any], env: str, i: int) -> tuple[str, str]:
    address = RESERVED_ADDRESSES[i % len(RESERVED_ADDRESSES)]
    _env(doc, env).pop("alertsUnsubscribed", None)
    _env(doc, env)["alarmEmail"] = address
    return f"environments.{env}.alarmEmail", f"'{address}' is in a reserved domain (RFC 2606 / RFC 6761)"


def alerts_unacknowledged(doc: dict[str, Any], env: str, i: int) -> tuple[str, str]:
    _env(doc, env).pop("alarmEmail", None)
    _env(doc, env).pop("alertsUnsubscribed", None)
    return f"environments.{env}", "no alarmEmail: alerts reach no one; set alarmEmail or alertsUnsubscribed: true"


def alerts_contradiction(doc: dict[str, Any], env: str, i: int) -> tuple[str, str]:
    _env(doc, env)["alarmEmail"] = "ceap-oncall@ceap-platform.io"
    _env(doc, env)["alertsUnsubscribed"] = True
    return f"environments.{env}.alertsUnsubscribed", "contradicts alarmEmail"


MUTATIONS: list[Mutation] = [
    reserved_alarm_email,
    alerts_unacknowledged,
    alerts_contradiction,
    environment_twice_in_workflow,
    unknown_key,
    wrong_type,
    unknown_stage,
    duplicate_step,
    duplicate_workflow,
    glue_in_express,
    timeout_below_worst_case,
    empty_workflow,
    shared_account,
    missing_region,
    bad_runtime,
    too_long_workflow_name,
]


@given(
    mutation=st.sampled_from(MUTATIONS),
    env=st.sampled_from(["dev", "staging", "prod"]),
    index=st.integers(min_value=0, max_value=50),
)
def test_broken_configuration__reported_with_file_path_and_allowed(
    raw_config: dict[str, Any], mutation: Mutation, env: str, index: int
) -> None:
    document = copy.deepcopy(raw_config)
    path, fragment = mutation(document, env, index)
    with pytest.raises(ConfigErrors) as caught:
        configuration.parse(document, "config/environments.yaml")
    messages = [str(e) for e in caught.value.errors]
    assert any(m.startswith(f"config/environments.yaml: {path}: ") and fragment in m for m in messages), messages


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: m.__name__)
def test_cli_build__broken_configuration__exit_2_one_message_no_output(
    raw_config: dict[str, Any], mutation: Mutation, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = copy.deepcopy(raw_config)
    path, fragment = mutation(document, "dev", 1)
    config_file = tmp_path / "environments.yaml"
    config_file.write_text(yaml.safe_dump(document))
    out = tmp_path / "out"
    code = main(["build", "--config", str(config_file), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2
    assert f"error: {config_file}: {path}: " in captured.err and fragment in captured.err
    assert "Traceback" not in captured.err
    assert not out.exists()


def test_cli_build__unreadable_or_invalid_yaml__clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.yaml"
    assert main(["build", "--config", str(missing), "--out", str(tmp_path / "o")]) == 2
    assert f"error: {missing}: (file): cannot read" in capsys.readouterr().err
    broken = tmp_path / "broken.yaml"
    broken.write_text("environments:\n  dev: [unclosed\n")
    assert main(["build", "--config", str(broken), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert f"error: {broken}: line " in err and "not valid YAML" in err


def test_cli_build__unknown_environment__names_the_defined_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["build", "--config", str(CONFIG_PATH), "--env", "qa", "--out", str(tmp_path / "o")]) == 2
    assert "no environment 'qa'; defined: dev, staging, prod" in capsys.readouterr().err


def test_schema__rejects_what_the_loader_rejects() -> None:
    schema = configuration.schema()
    assert schema["additionalProperties"] is False
    assert schema["$defs"]["step"]["oneOf"][0]["enum"] == ["ETL", "Filter", "Score", "Store", "Reactive"]


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_real_configuration__says_alerts_reach_no_one(config: configuration.Configuration, env: str) -> None:
    """config/environments.yaml has no deliverable on-call address yet (issue 14 item 1): every
    environment says so instead of naming a reserved one."""
    environment = config.environments[env]
    assert (environment.alarm_email, environment.alerts_unsubscribed) == (None, True)
