"""Standard executions send "Step Functions Execution Status Change" events to EventBridge.

moto 5.2.5's Step Functions sends no event when an execution starts or ends, so a rule on
``source: aws.states`` (the workflows' failed-request rule, their failure alarm rule) never fires
and a failed request never reaches ``ceap-workflow-{wf}-failed``.

AWS (https://docs.aws.amazon.com/step-functions/latest/dg/eventbridge-integration.html) sends one
event per status change (RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED) of a Standard workflow's
execution to the default bus: ``source`` ``aws.states``, ``detail-type`` ``Step Functions
Execution Status Change``, ``resources`` the execution ARN, and ``detail`` with ``executionArn``,
``stateMachineArn``, ``name``, ``status``, ``startDate`` / ``stopDate`` (epoch milliseconds),
``input`` and ``output`` (JSON strings), ``error`` and ``cause``. Express workflows send none.
"""

from __future__ import annotations

import json
import sys
from typing import Any

DETAIL_TYPE = "Step Functions Execution Status Change"


def _millis(moment: Any) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def detail(execution: Any, status: str) -> dict[str, Any]:
    """The event ``detail`` of ``execution`` in ``status`` (the AWS page's example shape)."""
    ended = status != "RUNNING"
    return {
        "executionArn": execution.exec_arn,
        "stateMachineArn": execution.state_machine.arn,
        "name": execution.name,
        "status": status,
        "startDate": _millis(execution.start_date),
        "stopDate": _millis(execution.stop_date) if ended else None,
        "input": json.dumps(execution.input_data),
        "output": json.dumps(execution.output) if ended and execution.output is not None else None,
        "inputDetails": {"included": True},
        "outputDetails": {"included": True} if ended and execution.output is not None else None,
        "error": execution.error if ended else None,
        "cause": execution.cause if ended else None,
    }


def send(execution: Any, status: str) -> None:
    """Put the status-change event of a STANDARD execution on its region's default bus."""
    from moto.events.models import events_backends

    # moto keeps a machine's type in ``type``; its ``sm_type`` always says STANDARD.
    kind = getattr(execution.state_machine, "type", None) or "STANDARD"
    if getattr(kind, "value", kind) != "STANDARD":
        return
    entry = {
        "Source": "aws.states",
        "DetailType": DETAIL_TYPE,
        "Detail": json.dumps(detail(execution, status)),
        "Resources": [execution.exec_arn],
        "EventBusName": "default",
    }
    try:
        events_backends[execution.account_id][execution.region_name].put_events([entry])
    except Exception as error:  # AWS delivers these events asynchronously: never fail the execution
        print(f"local-aws: status event of {execution.exec_arn}: {type(error).__name__}: {error}", file=sys.stderr)


def apply() -> None:
    from moto.stepfunctions.parser.backend import execution as module

    start = module.Execution.start
    terminated = module.BaseExecutionWorkerCommunication.terminated

    def start_and_announce(self: Any) -> None:
        if self.exec_worker is None:  # else start refuses; announced first so it precedes the end
            send(self, "RUNNING")
        start(self)

    def terminated_and_announce(self: Any) -> None:
        terminated(self)
        status = self.execution.exec_status
        send(self.execution, str(getattr(status, "value", status)))

    module.Execution.start = start_and_announce  # type: ignore[method-assign]
    module.BaseExecutionWorkerCommunication.terminated = terminated_and_announce  # type: ignore[method-assign]
