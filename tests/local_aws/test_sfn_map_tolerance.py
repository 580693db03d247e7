"""The compat patch sfn_map_tolerance: a Distributed Map fails when more items fail than tolerated.

Expected behaviour from https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html
("Setting failure thresholds"): both thresholds default to 0, so one failed item fails the Map Run
with ``States.ExceedToleratedFailureThreshold``, which the Map state's ``Catch`` can handle;
``ToleratedFailureCount: N`` tolerates up to N failed items, ``ToleratedFailurePercentage: P`` up
to P percent. Stock moto 5.2.5 lets every such Map succeed (proved below), in-process here.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ceap_templates.local_aws import compat
from ceap_templates.local_aws.sfn_map_tolerance import exceeds

ROLE = "arn:aws:iam::123456789012:role/map-tolerance"
CONFIG: Any = {"stepfunctions": {"execute_state_machine": True}}
ITEMS = [{"fail": False}, {"fail": True}, {"fail": False}, {"fail": False}]  # one of four fails: 25 %


def _machine(**thresholds: Any) -> dict[str, Any]:
    """A Distributed Map over the input's items; a child fails when its item says so.

    The run records which way it left the Map: ``path`` "after" (the Map succeeded) or "caught".
    """
    child = {
        "StartAt": "Check",
        "States": {
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.fail", "BooleanEquals": True, "Next": "Boom"}],
                "Default": "Done",
            },
            "Boom": {"Type": "Fail", "Error": "Part.Failed", "Cause": "part failed"},
            "Done": {"Type": "Succeed"},
        },
    }
    child["ProcessorConfig"] = {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    return {
        "StartAt": "Parts",
        "States": {
            "Parts": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": child,
                "MaxConcurrency": 2,
                **thresholds,
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}],
                "ResultPath": None,
                "Next": "After",
            },
            "Caught": {"Type": "Pass", "Result": "caught", "ResultPath": "$.path", "End": True},
            "After": {"Type": "Pass", "Result": "after", "ResultPath": "$.path", "End": True},
        },
    }


def _run(definition: dict[str, Any]) -> dict[str, Any]:
    with mock_aws(config=CONFIG):
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        arn = sfn.create_state_machine(name="tolerance", definition=json.dumps(definition), roleArn=ROLE)[
            "stateMachineArn"
        ]
        execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"items": ITEMS}))["executionArn"]
        deadline = time.monotonic() + 30
        while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
            assert time.monotonic() < deadline, "execution did not finish"
            time.sleep(0.05)
        return described


@pytest.fixture(scope="module", autouse=True)
def _patched() -> None:
    compat.apply_patch("sfn_map_tolerance")


@pytest.mark.parametrize(
    "thresholds",
    [{}, {"ToleratedFailureCount": 0}, {"ToleratedFailurePercentage": 20.0}],
    ids=["defaults", "count-0", "percentage-20"],
)
def test_one_failed_item_over_the_threshold__map_fails_into_its_catch(thresholds: dict[str, Any]) -> None:
    output = json.loads(_run(_machine(**thresholds))["output"])
    assert output["path"] == "caught"
    assert output["error"]["Error"] == "States.ExceedToleratedFailureThreshold"


@pytest.mark.parametrize(
    "thresholds",
    [{"ToleratedFailureCount": 1}, {"ToleratedFailurePercentage": 25.0}],
    ids=["count-1", "percentage-25"],
)
def test_failed_items_within_the_threshold__map_succeeds(thresholds: dict[str, Any]) -> None:
    assert json.loads(_run(_machine(**thresholds))["output"])["path"] == "after"


@pytest.mark.parametrize(
    ("failed", "total", "count", "percentage", "expected"),
    [
        (0, 4, 0, 0.0, False),  # nothing failed
        (1, 4, 0, 0.0, True),  # defaults: any failure
        (2, 4, 2, 0.0, False),  # count alone
        (3, 4, 2, 0.0, True),
        (1, 4, 0, 25.0, False),  # percentage alone: 25 % is not more than 25 %
        (2, 4, 0, 25.0, True),
        (2, 4, 1, 60.0, True),  # both: either exceeded
        (1, 4, 1, 60.0, False),
    ],
)
def test_exceeds__as_aws_applies_the_thresholds(
    failed: int, total: int, count: int, percentage: float, expected: bool
) -> None:
    assert exceeds(failed, total, count, percentage) is expected


def test_stock_moto__map_with_a_failed_item_succeeds() -> None:
    """The gap, in a fresh interpreter without the patch: a failed child does not fail the Map."""
    code = (
        "import json, time, boto3\n"
        "from moto import mock_aws\n"
        f"definition = {json.dumps(json.dumps(_machine()))}\n"
        f"items = {json.dumps(json.dumps({'items': ITEMS}))}\n"
        "with mock_aws(config={'stepfunctions': {'execute_state_machine': True}}):\n"
        "    sfn = boto3.client('stepfunctions', region_name='us-east-1')\n"
        f"    arn = sfn.create_state_machine(name='t', definition=definition, roleArn='{ROLE}')['stateMachineArn']\n"
        "    run = sfn.start_execution(stateMachineArn=arn, input=items)['executionArn']\n"
        "    while (described := sfn.describe_execution(executionArn=run))['status'] == 'RUNNING':\n"
        "        time.sleep(0.05)\n"
        "    print(json.loads(described['output'])['path'])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip().splitlines()[-1] == "after"
