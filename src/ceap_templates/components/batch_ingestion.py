"""The batch ingestion (LEGACY.md orchestration): STANDARD machine, schedule, failure alerts."""

from __future__ import annotations

import json
from collections.abc import Mapping

from awacs import awslambda as lambda_actions
from awacs.aws import Allow, Statement
from troposphere import GetAtt, Ref, Sub, events

from ceap_templates.asl import BUCKET_PLACEHOLDER, TaskStep, pipeline
from ceap_templates.components.alerts import alert_topic, dead_letter_alarm
from ceap_templates.components.events import (
    TARGET_RETRY,
    dead_letter,
    execution_failed_pattern,
    start_execution_role,
    target_dead_letter_queue,
)
from ceap_templates.components.functions import FunctionHandle
from ceap_templates.components.state_machines import MachineHandle, machine_arn, state_machine
from ceap_templates.components.storage import BucketHandle
from ceap_templates.configuration import Environment, ScheduledProgram
from ceap_templates.constants import BATCH_INGESTION_STAGES, BATCH_INGESTION_TIMEOUT_SECONDS
from ceap_templates.references import Scope

MACHINE_ID = "BatchIngestionWorkflow10186577"
SCHEDULE_ID = "BatchIngestionSchedule3D278ACF"


def batch_ingestion_definition() -> dict[str, object]:
    """ETL -> Filter -> Score -> Store on the scheduled request (direct StartExecution input)."""
    return pipeline(
        [TaskStep(stage, "lambda") for stage in BATCH_INGESTION_STAGES],
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
    invoke = Statement(
        Sid="InvokeStages",
        Effect=Allow,
        Action=[lambda_actions.InvokeFunction],
        Resource=[a for stage in BATCH_INGESTION_STAGES for a in (arns[stage], Sub("${Arn}:*", Arn=arns[stage]))],
    )
    machine = state_machine(
        scope,
        env,
        title=MACHINE_ID,
        prefix="BatchIngestion",
        name=env.naming.batch_ingestion_machine(),
        machine_type="STANDARD",
        definition=batch_ingestion_definition(),
        substitutions=substitutions,
        statements=[invoke],
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
    failure = events.Rule(
        "BatchIngestionFailureRule",
        Description="Batch ingestion executions that failed, timed out or were aborted",
        EventPattern=execution_failed_pattern(machine_arn(machine)),
        State="ENABLED",
    )
    queue = target_dead_letter_queue(scope, "BatchIngestionEvents", [schedule, failure])
    schedule.Targets = [
        events.Target(
            Id=f"{program.program_id}-{program.marketplace}",
            Arn=machine_arn(machine),
            RoleArn=GetAtt(role, "Arn"),
            InputTransformer=schedule_input(program),
            DeadLetterConfig=dead_letter(queue),
            RetryPolicy=TARGET_RETRY,
        )
        for program in env.programs
    ]
    scope.add(schedule)
    topic = alert_topic(scope, env, "BatchIngestion", [GetAtt(failure, "Arn")])
    failure.Targets = [
        events.Target(Id="alerts", Arn=Ref(topic), DeadLetterConfig=dead_letter(queue), RetryPolicy=TARGET_RETRY)
    ]
    scope.add(failure)
    dead_letter_alarm(
        scope,
        "BatchIngestionEventsDeadLetterQueueAlarm",
        queue,
        topic,
        "Scheduled runs or failure alerts of the batch ingestion could not be delivered",
    )
    return machine
