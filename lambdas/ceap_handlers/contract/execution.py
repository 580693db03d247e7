"""The stage task payload and the handler result (docs/design.md 7, seed 002 Req. 2.1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from ceap_handlers.contract.fields import OBJECT, ContractError, required
from ceap_handlers.contract.paths import KEY_SEGMENT, check_bucket_name, stage_output_key

STATUS_SUCCEEDED: Final = "SUCCEEDED"
STATUS_FAILED: Final = "FAILED"


@dataclass(frozen=True)
class ExecutionContext:
    """The payload Step Functions passes to every Lambda stage (docs/design.md section 6).

    Attributes
    ----------
    execution_id : str
        ``$$.Execution.Name``; names the S3 folder of the execution.
    current_stage : str
        This stage's name; its output goes to ``executions/{id}/{current_stage}/output.json``.
    previous_stage : str or None
        The stage whose output is this stage's input; ``None`` for the first stage.
    workflow_bucket : str
        Bucket of the hand-off objects.
    initial_data : dict or None
        The request, given to the first stage only.
    """

    execution_id: str
    current_stage: str
    previous_stage: str | None
    workflow_bucket: str
    initial_data: dict[str, Any] | None = None

    @classmethod
    def from_payload(cls, payload: Any, default_bucket: str | None = None) -> ExecutionContext:
        """Validate a stage task payload.

        Parameters
        ----------
        payload : Any
            The Lambda event.
        default_bucket : str, optional
            ``WORKFLOW_BUCKET`` of the function; the payload's ``workflowBucket`` wins.

        Raises
        ------
        ContractError
            Naming the missing or malformed field.
        """
        obj = OBJECT.check(payload, "payload")
        execution_id = required(obj, "executionId", "", KEY_SEGMENT)
        current = required(obj, "currentStage", "", KEY_SEGMENT)
        if "previousStage" not in obj:
            raise ContractError("previousStage", "required (null for the first stage)")
        previous = None if obj["previousStage"] is None else required(obj, "previousStage", "", KEY_SEGMENT)
        bucket = obj.get("workflowBucket") or default_bucket
        if bucket is None:
            raise ContractError("workflowBucket", "required (or set WORKFLOW_BUCKET on the function)")
        check_bucket_name(bucket, "workflowBucket")
        initial: dict[str, Any] | None = None
        if previous is None:
            if obj.get("initialData") is None:
                raise ContractError("initialData", "required for the first stage (previousStage is null)")
            initial = OBJECT.check(obj["initialData"], "initialData")
        if previous == current:
            raise ContractError("previousStage", f"must differ from currentStage {current!r}")
        return cls(execution_id, current, previous, bucket, initial)

    @property
    def input_key(self) -> str | None:
        """Key of the input object, ``None`` for the first stage."""
        if self.previous_stage is None:
            return None
        return stage_output_key(self.execution_id, self.previous_stage)

    @property
    def output_key(self) -> str:
        return stage_output_key(self.execution_id, self.current_stage)

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "executionId": self.execution_id,
            "currentStage": self.current_stage,
            "previousStage": self.previous_stage,
            "workflowBucket": self.workflow_bucket,
        }
        if self.initial_data is not None:
            payload["initialData"] = self.initial_data
        return payload


@dataclass(frozen=True)
class StageResult:
    """What a stage handler returns (Step Functions discards it; logs and tests read it)."""

    status: str
    stage: str
    records_processed: int
    output_key: str | None
    error_message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "stage": self.stage,
            "recordsProcessed": self.records_processed,
            "outputKey": self.output_key,
            "errorMessage": self.error_message,
        }
