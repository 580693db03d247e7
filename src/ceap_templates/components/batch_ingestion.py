"""The batch ingestion (docs/legacy-system.md "Orchestration"): STANDARD machine, schedule, failure alerts."""

from __future__ import annotations

import json
from collections.abc import Mapping

from troposphere import GetAtt, events

from ceap_templates import iam
from ceap_templates.asl import BUCKET_PLACEHOLDER, TaskStep, pipeline
from ceap_templates.components.alerts import AlertNames, failure_alerts
from ceap_templates.components.events import start_execution_role, target
from ceap_templates.components.functions import FunctionHandle
from ceap_templates.components.state_machines import MachineHandle, machine_arn, state_machine
from ceap_templates.components.storage import BucketHandle
from ceap_templates.configuration import Environment, ScheduledProgram
from ceap_templates.constants import BATCH_INGESTION_TIMEOUT_SECONDS
from ceap_templates.references import Scope
from ceap_templates.stages import BATCH_INGESTION_STAGES, STAGES

MACHINE_ID = "BatchIngestionWorkflow10186577"
SCHEDULE_ID = "BatchIngestionSchedule3D278ACF"
ALERTS = AlertNames(
    "BatchIngestion",
    "BatchIngestionFailureRule",
    "Batch ingestion executions that failed, timed out or were aborted",
    "BatchIngestionEvents",
    "Scheduled runs or failure alerts of the batch ingestion could not be delivered",
)


def batch_ingestion_definition() -> dict[str, object]:
    """ETL -> Filter -> Score -> Store on the scheduled request (direct StartExecution input)."""
    return pipeline(
        [TaskStep(stage, "lambda", STAGES[stage].timeout_seconds) for stage in BATCH_INGESTION_STAGES],
        comment="CEAP batch ingestion: stages hand data over in S3 under executions/{executionId}/{stage}/",
        timeout_seconds=BATCH_INGESTION_TIMEOUT_SECONDS,
        request_path="$",
    )


def schedule_input(program: ScheduledProgram) -> events.InputTransformer:
    """The program's request; the run's date range is the scheduled event's time (upstream sent none)."""
    template = json.dumps(
        {"programId": program.program_id, "marketplace": program.marketplace, "dateRange": {"start": "T", "end": "T"}},
        sort_keys=True,
    ).replace('"T"', "<time>")
    return events.InputTransformer(InputPathsMap={"time": "$.time"}, InputTemplate=template)


def batch_ingestion(
    scope: Scope,
    env: Environment,
    functions: Mapping[str, FunctionHandle],
    bucket: BucketHandle,
) -> MachineHandle:
    """State machine ``CeapBatchIngestion-{env}`` with its schedule and failure-detection rule."""
    arns = {stage: scope.use(functions[stage].arn) for stage in BATCH_INGESTION_STAGES}
    substitutions = {f"{stage}FunctionArn": arn for stage, arn in arns.items()}
    substitutions[BUCKET_PLACEHOLDER] = scope.use(bucket.name)
    machine = state_machine(
        scope,
        env,
        title=MACHINE_ID,
        prefix="BatchIngestion",
        name=env.naming.batch_ingestion_machine(),
        machine_type="STANDARD",
        definition=batch_ingestion_definition(),
        substitutions=substitutions,
        statements=[iam.allow("InvokeStages", "function", "invoke", list(arns.values()))],
    )
    scope.share("OrchestrationArn", machine_arn(machine), public=True)
    role = start_execution_role(scope, "BatchIngestionScheduleRole", [machine_arn(machine)])
    schedule = events.Rule(
        SCHEDULE_ID,
        Name=env.naming.batch_ingestion_schedule(),
        Description="Daily batch ingestion: one target per scheduled program, carrying its request",
        ScheduleExpression=env.schedule,
        State="ENABLED" if env.schedule_enabled else "DISABLED",
    )
    alerts = failure_alerts(scope, env, ALERTS, machine_arn(machine), other_rules=[schedule])
    schedule.Targets = [
        target(
            f"{program.program_id}-{program.marketplace}",
            machine_arn(machine),
            alerts.dead_letters,
            RoleArn=GetAtt(role, "Arn"),
            InputTransformer=schedule_input(program),
        )
        for program in env.programs
    ]
    scope.add(schedule)
    return machine
