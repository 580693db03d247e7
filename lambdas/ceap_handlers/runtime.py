"""The stage runner shared by the workflow stages (seed 002 ``WorkflowLambdaHandler``).

``run_stage`` validates the task payload, reads the input (``initialData`` for the first stage,
else ``executions/{executionId}/{previousStage}/output.json``), calls the stage function, writes
``executions/{executionId}/{currentStage}/output.json`` with one PutObject only after the stage
logic succeeded, logs executionId, stage and both S3 paths as structured JSON, and returns the
:class:`~ceap_handlers.contract.StageResult`.

Failures are raised, never swallowed (the upstream handlers returned FAILED normally, so Step
Functions never retried nor caught): ``TransientStageError`` for what a retry may fix,
``PermanentStageError`` for the rest, each message naming the s3:// path or the field.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from ceap_handlers import part_io
from ceap_handlers.contract import parts
from ceap_handlers.contract.execution import STATUS_FAILED, STATUS_SUCCEEDED, ExecutionContext, StageResult
from ceap_handlers.contract.fields import ContractError
from ceap_handlers.contract.paths import s3_uri
from ceap_handlers.errors import PermanentStageError, StageError, describe
from ceap_handlers.observability import count, logger, metrics


class ObjectStore(Protocol):
    """The S3 port of the runner (``S3ObjectStore`` in production)."""

    def get_json(self, bucket: str, key: str) -> Any: ...

    def put_json(self, bucket: str, key: str, value: Any) -> None: ...

    def list_keys(self, bucket: str, prefix: str) -> list[str]: ...

    def read_lines(self, bucket: str, prefix: str) -> Iterator[tuple[str, bytes]]: ...


@dataclass(frozen=True)
class StageOutput:
    """What a stage function returns.

    Attributes
    ----------
    envelope : dict
        The output object written to S3.
    records_processed : int
        ``StageResult.recordsProcessed``.
    counts : mapping
        Extra EMF count metrics of the stage (name → value).
    log_fields : mapping
        Extra fields of the "stage succeeded" log record.
    complete : callable, optional
        For a streaming stage (ETL), whose ``envelope["candidates"]`` is an iterator and whose
        figures are only known once it is consumed: the runner calls it after writing the output
        and uses the StageOutput it returns.
    """

    envelope: dict[str, Any]
    records_processed: int
    counts: Mapping[str, float] = field(default_factory=dict)
    log_fields: Mapping[str, Any] = field(default_factory=dict)
    complete: Callable[[], StageOutput] | None = None

    def completed(self) -> StageOutput:
        """The output with its final figures (itself unless it streams)."""
        return self.complete() if self.complete is not None else self


def single_object(envelope: dict[str, Any]) -> dict[str, Any]:
    """The envelope with a streamed ``candidates`` iterator collected into a list (one JSON object)."""
    candidates = envelope.get("candidates")
    if candidates is None or isinstance(candidates, list):
        return envelope
    return {**envelope, "candidates": list(candidates)}


#: A stage: ``(input data, context, store) -> StageOutput``; may raise ContractError / StageError.
StageFunction = Callable[[Any, ExecutionContext, ObjectStore], StageOutput]


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the stage's data work.

    A stage holds millions of parsed-JSON objects (no reference cycles); the collector would
    rescan them again and again while they are allocated, which more than doubles the time of
    ``json.loads`` and of the stage logic for 100,000 candidates. Reference counting still frees
    everything; the collector runs again once the stage is done.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


#: ``"output": "parts"`` in a standard workflow's first-stage payload: write parts + manifest.
OUTPUT_MODE_KEY: Final = "output"
OUTPUT_PARTS: Final = "parts"


def _candidate_count(data: Any) -> int:
    """Candidates (or inline request records) of a single-object input, for the express cap."""
    if not isinstance(data, dict):
        return 0
    for name in ("candidates", "records"):
        if isinstance(data.get(name), list):
            return len(data[name])
    return 0


def parse_context(event: Any, default_bucket: str | None) -> ExecutionContext:
    """Validate the task payload; a malformed one is a permanent error naming the field."""
    try:
        return ExecutionContext.from_payload(event, default_bucket)
    except ContractError as exc:
        raise PermanentStageError(f"invalid stage payload: {exc}") from None


def run_stage(event: Any, stage: StageFunction, *, store: ObjectStore, default_bucket: str | None) -> StageResult:
    """Run one workflow stage against the S3 hand-off convention.

    Parameters
    ----------
    event : Any
        The Lambda event: ``{executionId, currentStage, previousStage, workflowBucket,
        initialData?}``.
    stage : StageFunction
        The stage logic.
    store : ObjectStore
        S3 access.
    default_bucket : str, optional
        ``WORKFLOW_BUCKET``; the payload's ``workflowBucket`` wins.

    Raises
    ------
    PermanentStageError, TransientStageError
        See the module docstring. No output object exists after a failure.
    """
    try:
        context = parse_context(event, default_bucket)
    except PermanentStageError as exc:
        count("StageFailed")
        logger.error("stage payload rejected", extra=describe(exc))
        raise
    bucket = context.workflow_bucket
    input_path = "initialData" if context.input_key is None else s3_uri(bucket, context.input_key)
    output_path = s3_uri(bucket, context.output_key)
    logger.append_keys(executionId=context.execution_id, stage=context.current_stage)
    metrics.add_dimension(name="stage", value=context.current_stage)
    logger.info(
        "stage started",
        extra={"inputPath": input_path, "outputPath": output_path, "previousStage": context.previous_stage},
    )
    try:
        with _cyclic_gc_paused():
            data = context.initial_data if context.input_key is None else store.get_json(bucket, context.input_key)
            sharded = isinstance(event, dict) and event.get(OUTPUT_MODE_KEY) == OUTPUT_PARTS
            if sharded:
                # Read before the source: a malformed variable fails without extracting anything.
                size, limit = parts.part_size(os.environ), parts.max_candidates_per_run(os.environ)
            else:
                parts.check_express_size(_candidate_count(data), os.environ)
            try:
                output = stage(data, context, store)
            except ContractError as exc:
                raise PermanentStageError(f"{input_path}: {exc}") from None
            if sharded:
                # A streamed envelope (ETL) is extracted here, one part at a time.
                part_io.write_sharded(
                    store,  # type: ignore[arg-type]
                    bucket,
                    context.execution_id,
                    context.current_stage,
                    output.envelope,
                    size,
                    limit,
                )
            else:
                envelope = single_object(output.envelope)
                # Sources read by ETL (s3_jsonl) are only counted once extracted.
                parts.check_express_size(_candidate_count(envelope), os.environ)
                store.put_json(bucket, context.output_key, envelope)
            output = output.completed()
    except StageError as exc:
        failed = StageResult(STATUS_FAILED, context.current_stage, 0, None, str(exc))
        count("StageFailed")
        logger.error(
            "stage failed",
            extra={
                "inputPath": input_path,
                "outputPath": output_path,
                **describe(exc),
                "stageResult": failed.to_dict(),
            },
        )
        raise
    except Exception:
        # A defect, not a data problem: keep the traceback, let Step Functions catch it.
        count("StageFailed")
        logger.exception("stage crashed", extra={"inputPath": input_path, "outputPath": output_path})
        raise

    result = StageResult(STATUS_SUCCEEDED, context.current_stage, output.records_processed, context.output_key)
    count("StageSucceeded")
    count("RecordsProcessed", output.records_processed)
    for name, value in output.counts.items():
        count(name, value)
    logger.info(
        "stage succeeded",
        extra={
            "inputPath": input_path,
            "outputPath": output_path,
            "stageResult": result.to_dict(),
            **output.log_fields,
        },
    )
    return result
