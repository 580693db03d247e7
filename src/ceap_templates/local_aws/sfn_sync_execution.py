"""``StartSyncExecution`` for Express machines (``aws stepfunctions start-sync-execution``).

moto 5.2.5 does not implement ``StartSyncExecution``. AWS runs an EXPRESS machine synchronously
and answers with its status (SUCCEEDED, FAILED, TIMED_OUT), output or error and cause; a STANDARD
machine is refused with ``StateMachineTypeNotSupported``. The CLI sends the call to the
``sync-`` host prefix of the endpoint, which no loopback address has: ``local-aws.sh start``
exports ``AWS_DISABLE_HOST_PREFIX_INJECTION=true`` so the CLI and boto3 call the endpoint itself.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, Final

SYNC_TIMEOUT_SECONDS: Final = 300.0  # AWS: an Express execution runs at most five minutes


def wait_for(execution: Any, timeout: float = SYNC_TIMEOUT_SECONDS) -> str:
    """Poll a parser-backend execution until it leaves RUNNING; its final status."""
    deadline = time.monotonic() + timeout
    while str(getattr(execution.status, "value", execution.status)) == "RUNNING":
        if time.monotonic() > deadline:
            return "TIMED_OUT"
        time.sleep(0.02)
    return str(getattr(execution.status, "value", execution.status))


def run_sync(backend: Any, machine_arn: str, name: str | None, execution_input: str) -> dict[str, Any]:
    """Start an execution, wait for it, and describe it the way StartSyncExecution answers."""
    execution = backend.start_execution(machine_arn, name or uuid.uuid4().hex, execution_input)
    status = wait_for(execution)
    response: dict[str, Any] = {
        "executionArn": execution.execution_arn,
        "stateMachineArn": machine_arn,
        "name": execution.name,
        "startDate": execution.start_date,
        "stopDate": execution.stop_date,
        "status": status,
        "input": execution_input,
        "billingDetails": {"billedMemoryUsedInMB": 64, "billedDurationInMilliseconds": 100},
    }
    output = execution.output
    if status == "SUCCEEDED" and output is not None:
        response["output"] = output if isinstance(output, str) else json.dumps(output)
    if execution.error is not None:
        response["error"] = execution.error
    if execution.cause is not None:
        response["cause"] = execution.cause
    return response


def apply() -> None:
    from moto.core.exceptions import JsonRESTError
    from moto.core.responses import ActionResult
    from moto.stepfunctions import responses

    def start_sync_execution(self: Any) -> Any:
        arn = self._get_param("stateMachineArn")
        backend = self.stepfunction_backend
        machine = backend.describe_state_machine(arn)
        if getattr(machine, "type", "STANDARD") != "EXPRESS":  # moto keeps the type in `type` (`sm_type` is fixed)
            raise JsonRESTError(
                "StateMachineTypeNotSupported", "This operation is not supported by this type of state machine"
            )
        return ActionResult(run_sync(backend, arn, self._get_param("name"), self._get_param("input", if_none="{}")))

    responses.StepFunctionResponse.start_sync_execution = start_sync_execution  # type: ignore[attr-defined]
