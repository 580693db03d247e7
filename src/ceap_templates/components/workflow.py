"""One configured workflow (seeds 002/004): SQS -> EventBridge Pipe -> state machine -> S3 hand-offs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from awacs import awslambda as lambda_actions
from awacs import glue as glue_actions
from awacs import logs as logs_actions
from awacs import s3 as s3_actions
from awacs import sqs as sqs_actions
from awacs import states as states_actions
from awacs.aws import Allow, Statement
from troposphere import GetAtt, Ref, Sub, events, glue, pipes, sqs

from ceap_templates import iam
from ceap_templates.asl import REQUEST_PATH, TaskStep, pipeline
from ceap_templates.code import CodeArtifacts
from ceap_templates.components.alerts import alert_topic, dead_letter_alarm
from ceap_templates.components.common import dead_letter_queue, log_group, stateful
from ceap_templates.components.events import TARGET_RETRY, execution_failed_pattern, target_dead_letter_queue
from ceap_templates.components.functions import (
    FunctionHandle,
    FunctionSpec,
    TableGrant,
    artifact_bucket_parameter,
    stage_function,
)
from ceap_templates.components.state_machines import machine_arn, state_machine
from ceap_templates.components.storage import BucketHandle, TableHandle, handoff_bucket
from ceap_templates.configuration import Environment, Workflow
from ceap_templates.constants import (
    EXECUTIONS_PREFIX,
    GLUE_TEMP_PREFIX,
    GLUE_TIMEOUT_MINUTES,
    GLUE_VERSION,
    GLUE_WORKER_TYPE,
    GLUE_WORKERS,
    MAX_RECEIVE_COUNT,
    SOURCES_PREFIX,
    STAGES,
)
from ceap_templates.naming import Naming
from ceap_templates.references import Scope
from ceap_templates.stage_access import STAGE_TABLES

REQUEST_RETENTION_SECONDS = 4 * 24 * 3600
#: A standard workflow's pipe only starts the execution; the queue message is done then.
STANDARD_VISIBILITY_SECONDS = 300
#: Margin over the express timeout: the pipe holds the message while the sync execution runs.
EXPRESS_VISIBILITY_MARGIN_SECONDS = 60


def normalise_input_states(first_step: str) -> dict[str, Any]:
    """Accept a pipe batch (one SQS record whose ``body`` is the request) or a direct request.

    Both land as ``$.request``. ``InputPath`` + ``States.StringToJson($.body)`` rather than
    ``States.StringToJson($[0].body)``: the latter trips the local emulator (TOOLING.md).
    """
    return {
        "NormaliseInput": {
            "Type": "Choice",
            "Choices": [{"Variable": "$[0].body", "IsPresent": True, "Next": "FromPipeBatch"}],
            "Default": "FromStartExecution",
        },
        "FromPipeBatch": {
            "Type": "Pass",
            "InputPath": "$[0]",
            "Parameters": {"request.$": "States.StringToJson($.body)"},
            "Next": first_step,
        },
        "FromStartExecution": {"Type": "Pass", "Parameters": {"request.$": "$"}, "Next": first_step},
    }


def workflow_definition(workflow: Workflow) -> dict[str, Any]:
    steps = [TaskStep(step.name, step.kind) for step in workflow.steps]
    return pipeline(
        steps,
        comment=f"CEAP workflow '{workflow.name}' ({workflow.type}): stages hand data over in S3 under "
        "executions/{executionId}/{stage}/",
        timeout_seconds=workflow.timeout_seconds,
        start_states=normalise_input_states(steps[0].name),
        start_at="NormaliseInput",
        request_path=REQUEST_PATH,
    )


def queue_visibility_seconds(workflow: Workflow) -> int:
    if workflow.is_express:
        return workflow.timeout_seconds + EXPRESS_VISIBILITY_MARGIN_SECONDS
    return STANDARD_VISIBILITY_SECONDS


def _glue_job(
    scope: Scope, env: Environment, code: CodeArtifacts, workflow: Workflow, step: str, bucket: BucketHandle
) -> glue.Job:
    """A Glue job whose role reads its script and writes only ``executions/`` and its temp prefix.

    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-glue-job.html
    """
    artifacts = Ref(artifact_bucket_parameter(scope, env))
    temp_prefix = f"{GLUE_TEMP_PREFIX}{step}/"
    job_name = Naming.glue_job(workflow.name, step)
    # Continuous logs go to a group of the job's own, with retention (Glue's shared default has none).
    logs = log_group(
        scope,
        f"{step}GlueLogGroup",
        Naming.glue_log_group(workflow.name, step),
        env.log_retention_days,
        env.retain_data,
    )
    bucket_arn = scope.use(bucket.arn)
    statements = [
        Statement(
            Sid="ReadScript",
            Effect=Allow,
            Action=[s3_actions.GetObject],
            Resource=[
                Sub(f"arn:${{AWS::Partition}}:s3:::${{Artifacts}}/{key}", Artifacts=artifacts)
                for key in (code.glue_script_key, code.glue_library_key)
            ],
        ),
        *iam.bucket_statements("HandOff", bucket_arn, [EXECUTIONS_PREFIX, temp_prefix], write=True),
        # Spark's S3 committer renames by copy + delete, only ever inside the job's temp folder.
        Statement(
            Sid="CleanScratch",
            Effect=Allow,
            Action=[s3_actions.DeleteObject],
            Resource=[Sub(f"${{BucketArn}}/{temp_prefix}*", BucketArn=bucket_arn)],
        ),
        Statement(
            Sid="GlueLogs",
            Effect=Allow,
            Action=[logs_actions.CreateLogGroup, logs_actions.CreateLogStream, logs_actions.PutLogEvents],
            Resource=[Sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws-glue/*")],
        ),
    ]
    role = scope.add(
        iam.service_role(f"{step}GlueJobRole", "glue.amazonaws.com", statements, policy_name="least-privilege")
    )
    security = scope.add(
        glue.SecurityConfiguration(
            f"{step}GlueSecurityConfiguration",
            Name=Naming.glue_security_configuration(workflow.name, step),
            EncryptionConfiguration=glue.EncryptionConfiguration(
                S3Encryptions=[glue.S3Encryption(S3EncryptionMode="SSE-S3")],
                CloudWatchEncryption=glue.CloudWatchEncryption(CloudWatchEncryptionMode="DISABLED"),
                JobBookmarksEncryption=glue.JobBookmarksEncryption(JobBookmarksEncryptionMode="DISABLED"),
            ),
        )
    )
    return scope.add(
        glue.Job(
            f"{step}GlueJob",
            Name=job_name,
            Description=f"{step} step of workflow {workflow.name} (PySpark, glue/heavy_etl.py)",
            Role=GetAtt(role, "Arn"),
            Command=glue.JobCommand(
                Name="glueetl",
                PythonVersion="3",
                ScriptLocation=Sub(f"s3://${{Artifacts}}/{code.glue_script_key}", Artifacts=artifacts),
            ),
            DefaultArguments={
                "--extra-py-files": Sub(f"s3://${{Artifacts}}/{code.glue_library_key}", Artifacts=artifacts),
                "--TempDir": Sub(f"s3://${{Bucket}}/{temp_prefix}", Bucket=scope.use(bucket.name)),
                "--job-language": "python",
                "--enable-continuous-cloudwatch-log": "true",
                "--continuous-log-logGroup": Ref(logs),
                "--enable-metrics": "true",
            },
            GlueVersion=GLUE_VERSION,
            WorkerType=GLUE_WORKER_TYPE,
            NumberOfWorkers=GLUE_WORKERS,
            Timeout=GLUE_TIMEOUT_MINUTES,
            # Retries belong to Step Functions (seed 004), which sees and logs them.
            MaxRetries=0,
            ExecutionProperty=glue.ExecutionProperty(MaxConcurrentRuns=10),
            SecurityConfiguration=Ref(security),
        )
    )


def workflow_stack(
    scope: Scope,
    env: Environment,
    code: CodeArtifacts,
    workflow: Workflow,
    tables: Mapping[str, TableHandle],
) -> None:
    """Every resource of ``CeapWorkflow-{name}``."""
    name = workflow.name
    bucket_resource = handoff_bucket(
        scope,
        "WorkflowBucket",
        Naming.workflow_bucket(name),
        env.retain_data,
        scratch_prefixes=(GLUE_TEMP_PREFIX,) if any(s.is_glue for s in workflow.steps) else (),
    )
    bucket = BucketHandle(
        logical_id=bucket_resource.title,
        name=scope.share("BucketName", Ref(bucket_resource), public=True),
        arn=scope.share("BucketArn", GetAtt(bucket_resource, "Arn")),
    )
    dlq = dead_letter_queue(scope, "WorkflowDeadLetterQueue", Naming.workflow_queue(name, "dlq"))
    queue = scope.add(
        stateful(
            sqs.Queue(
                "WorkflowQueue",
                QueueName=Naming.workflow_queue(name, "queue"),
                SqsManagedSseEnabled=True,
                # Requests wait at most 4 days; the redrive moves failures to the 14-day DLQ first.
                MessageRetentionPeriod=REQUEST_RETENTION_SECONDS,
                VisibilityTimeout=queue_visibility_seconds(workflow),
                RedrivePolicy=sqs.RedrivePolicy(
                    deadLetterTargetArn=GetAtt(dlq, "Arn"), maxReceiveCount=MAX_RECEIVE_COUNT
                ),
            ),
            False,
        )
    )
    functions: dict[str, FunctionHandle] = {}
    jobs: dict[str, glue.Job] = {}
    for step in workflow.steps:
        if step.is_glue:
            jobs[step.name] = _glue_job(scope, env, code, workflow, step.name, bucket)
            continue
        functions[step.name] = stage_function(
            scope,
            env,
            code,
            FunctionSpec(
                stage=STAGES[step.name],
                logical_id=f"{step.name}Function",
                prefix=step.name,
                purpose=step.name,
                tables=tuple(TableGrant(tables[t], access) for t, access in STAGE_TABLES[step.name]),
                bucket=bucket,
                bucket_prefixes=(EXECUTIONS_PREFIX, SOURCES_PREFIX) if step.name == "ETL" else (EXECUTIONS_PREFIX,),
                publishes_events=step.name == "Reactive",
            ),
        )
    substitutions: dict[str, Any] = {f"{s}FunctionArn": GetAtt(f.logical_id, "Arn") for s, f in functions.items()}
    substitutions.update({f"{s}JobName": Ref(job) for s, job in jobs.items()})
    substitutions["WorkflowBucket"] = Ref(bucket_resource)
    statements = []
    if functions:
        arns = [GetAtt(f.logical_id, "Arn") for f in functions.values()]
        statements.append(
            Statement(
                Sid="InvokeStages",
                Effect=Allow,
                Action=[lambda_actions.InvokeFunction],
                Resource=[*arns, *(Sub("${Arn}:*", Arn=a) for a in arns)],
            )
        )
    if jobs:
        statements.append(
            Statement(
                Sid="RunGlueJobs",
                Effect=Allow,
                Action=[
                    glue_actions.StartJobRun,
                    glue_actions.GetJobRun,
                    glue_actions.GetJobRuns,
                    glue_actions.BatchStopJobRun,
                ],
                Resource=[
                    Sub("arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:job/" + Naming.glue_job(name, s))
                    for s in jobs
                ],
            )
        )
    machine = state_machine(
        scope,
        env,
        title="WorkflowStateMachine",
        prefix="Workflow",
        name=Naming.workflow_machine(name),
        machine_type="EXPRESS" if workflow.is_express else "STANDARD",
        definition=workflow_definition(workflow),
        substitutions=substitutions,
        statements=statements,
    )
    _pipe(scope, env, workflow, queue, machine_arn(machine))
    alarm_publishers: list[Any] = []
    failure_rule = None
    if not workflow.is_express:
        failure_rule = events.Rule(
            "WorkflowFailureRule",
            Description=f"Executions of workflow {name} that failed, timed out or were aborted",
            EventPattern=execution_failed_pattern(machine_arn(machine)),
            State="ENABLED",
        )
        alarm_publishers.append(GetAtt(failure_rule, "Arn"))
    topic = alert_topic(scope, env, "Workflow", alarm_publishers)
    if failure_rule is not None:
        rule_dlq = target_dead_letter_queue(scope, "WorkflowFailureRule", [failure_rule])
        failure_rule.Targets = [
            events.Target(
                Id="alerts",
                Arn=Ref(topic),
                DeadLetterConfig=events.DeadLetterConfig(Arn=GetAtt(rule_dlq, "Arn")),
                RetryPolicy=TARGET_RETRY,
            )
        ]
        scope.add(failure_rule)
        dead_letter_alarm(
            scope,
            "WorkflowFailureRuleDeadLetterQueueAlarm",
            rule_dlq,
            topic,
            f"Failure alerts of workflow {name} could not be delivered",
        )
    dead_letter_alarm(
        scope,
        "WorkflowDeadLetterQueueAlarm",
        dlq,
        topic,
        f"Requests of workflow {name} failed 3 deliveries and wait in the DLQ",
    )
    scope.share("StateMachineArn", machine_arn(machine), public=True)
    scope.share("QueueUrl", Ref(queue), public=True)
    scope.share("DeadLetterQueueUrl", Ref(dlq), public=True)


def _pipe(scope: Scope, env: Environment, workflow: Workflow, queue: sqs.Queue, target_arn: Any) -> pipes.Pipe:
    """SQS -> state machine, one message per execution; invocation type follows the workflow type.

    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-pipes-pipe.html
    """
    start = states_actions.StartSyncExecution if workflow.is_express else states_actions.StartExecution
    group = log_group(scope, "WorkflowPipeLogGroup", None, env.log_retention_days, env.retain_data)
    role = scope.add(
        iam.service_role(
            "WorkflowPipeRole",
            "pipes.amazonaws.com",
            [
                Statement(
                    Sid="ConsumeQueue",
                    Effect=Allow,
                    Action=[sqs_actions.ReceiveMessage, sqs_actions.DeleteMessage, sqs_actions.GetQueueAttributes],
                    Resource=[GetAtt(queue, "Arn")],
                ),
                Statement(Sid="StartWorkflow", Effect=Allow, Action=[start], Resource=[target_arn]),
                Statement(
                    Sid="PipeLogs",
                    Effect=Allow,
                    Action=[logs_actions.CreateLogStream, logs_actions.PutLogEvents],
                    Resource=[GetAtt(group, "Arn")],
                ),
            ],
            policy_name="least-privilege",
            source_account_condition=True,
        )
    )
    return scope.add(
        pipes.Pipe(
            "WorkflowPipe",
            Name=Naming.workflow_queue(workflow.name, "pipe"),
            Description=f"Queue to state machine of workflow {workflow.name}",
            RoleArn=GetAtt(role, "Arn"),
            Source=GetAtt(queue, "Arn"),
            SourceParameters=pipes.PipeSourceParameters(
                SqsQueueParameters=pipes.PipeSourceSqsQueueParameters(BatchSize=1)
            ),
            Target=target_arn,
            TargetParameters=pipes.PipeTargetParameters(
                StepFunctionStateMachineParameters=pipes.PipeTargetStateMachineParameters(
                    InvocationType=workflow.invocation_type
                )
            ),
            LogConfiguration=pipes.PipeLogConfiguration(
                Level="ERROR",
                CloudwatchLogsLogDestination=pipes.CloudwatchLogsLogDestination(LogGroupArn=GetAtt(group, "Arn")),
            ),
        )
    )
