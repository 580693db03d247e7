"""The batch ingestion (docs/legacy-system.md "Orchestration"): STANDARD machine, schedule, failure alerts."""

from __future__ import annotations

import json
from collections.abc import Mapping

from troposphere import GetAtt, events

from ceap_templates import iam
from ceap_templates.asl import BUCKET_PLACEHOLDER, Sharding, TaskStep, pipeline
from ceap_templates.components.alerts import AlertNames, failure_alerts
from ceap_templates.components.events import start_execution_role, target
from ceap_templates.components.functions import FunctionHandle
from ceap_templates.components.state_machines import (
    MachineHandle,
    distributed_map_statements,
    machine_arn,
    state_machine,
)
from ceap_templates.components.storage import BucketHandle
from ceap_templates.configuration import Environment, ScheduledProgram, Step, task_steps
from ceap_templates.constants import BATCH_INGESTION_TIMEOUT_SECONDS
from ceap_templates.references import Scope
from ceap_templates.sizing import Sizing
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


def batch_ingestion_steps(sizing: Sizing) -> list[TaskStep]:
    """ETL, then Filter, Score and Store each once per part (the stages as ``sizing`` gives them)."""
    return task_steps([Step.of(sizing.sized(STAGES[stage])) for stage in BATCH_INGESTION_STAGES], sizing)


def batch_ingestion_sharding(sizing: Sizing) -> Sharding:
    return sizing.sharding(sizing.batch_ingestion_max_candidates, STAGES[BATCH_INGESTION_STAGES[0]])


def batch_ingestion_variables(sizing: Sizing, stage: str) -> dict[str, str]:
    """The hand-off sizing a batch ingestion function reads (lambdas/README.md "Sharded hand-off")."""
    return sizing.handoff_variables(STAGES[BATCH_INGESTION_STAGES[0]], stage, sizing.batch_ingestion_max_candidates)


def batch_ingestion_definition(sizing: Sizing) -> dict[str, object]:
    """ETL -> Filter -> Score -> Store on the scheduled request (direct StartExecution input)."""
    return pipeline(
        batch_ingestion_steps(sizing),
        comment="CEAP batch ingestion: stages hand data over in S3 under executions/{executionId}/{stage}/",
        timeout_seconds=BATCH_INGESTION_TIMEOUT_SECONDS,
        request_path="$",
        sharding=batch_ingestion_sharding(sizing),
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
        definition=batch_ingestion_definition(env.sizing),
        substitutions=substitutions,
        statements=[
            iam.allow("InvokeStages", "function", "invoke", list(arns.values())),
            *distributed_map_statements(env.naming.batch_ingestion_machine(), scope.use(bucket.arn)),
        ],
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
