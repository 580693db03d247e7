"""One configured workflow (seeds 002/004): SQS -> EventBridge Pipe -> state machine -> S3 hand-offs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from awacs.aws import ArnEquals, Condition, StringEquals
from troposphere import GetAtt, Ref, Sub, events, glue, pipes, sns, sqs

from ceap_templates import arns, iam
from ceap_templates.asl import REQUEST_PATH, entry_state, pipeline
from ceap_templates.code import CodeArtifacts
from ceap_templates.components.alerts import AlertNames, alert_topic, dead_letter_alarm, failure_alerts
from ceap_templates.components.common import dead_letter_queue, log_group
from ceap_templates.components.events import EVENTS_SERVICE, execution_failed_pattern, target
from ceap_templates.components.functions import FunctionHandle, artifact_bucket_parameter, stage_function
from ceap_templates.components.state_machines import distributed_map_statements, machine_arn, state_machine
from ceap_templates.components.storage import BucketHandle, TableHandle, handoff_bucket
from ceap_templates.configuration import Environment, Workflow
from ceap_templates.constants import (
    EXECUTIONS_PREFIX,
    GLUE_TEMP_PREFIX,
    GLUE_TIMEOUT_MINUTES,
    GLUE_VERSION,
    GLUE_WORKER_TYPE,
    MAX_RECEIVE_COUNT,
)
from ceap_templates.naming import Naming
from ceap_templates.references import Scope
from ceap_templates.sizing import EXPRESS_MAX_CANDIDATES_ENV

#: The log groups Glue 5.0 writes under ``--custom-logGroup-prefix``.
GLUE_LOG_GROUP_SUFFIXES = ("output", "error")
REQUEST_RETENTION_SECONDS = 4 * 24 * 3600
#: A standard workflow's pipe only starts the execution; the queue message is done then.
STANDARD_VISIBILITY_SECONDS = 300
#: Margin over the express timeout: the pipe holds the message while the sync execution runs.
EXPRESS_VISIBILITY_MARGIN_SECONDS = 60


def normalise_input_states(first_step: str) -> dict[str, Any]:
    """Accept a pipe batch (one SQS record whose ``body`` is the request) or a direct request.

    Both land as ``$.request``. ``InputPath`` + ``States.StringToJson($.body)`` rather than
    ``States.StringToJson($[0].body)``: the latter trips the local emulator (docs/tools.md moto).
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
    steps = workflow.task_steps
    return pipeline(
        steps,
        comment=f"CEAP workflow '{workflow.name}' ({workflow.type}): stages hand data over in S3 under "
        "executions/{executionId}/{stage}/",
        timeout_seconds=workflow.timeout_seconds,
        start_states=normalise_input_states(entry_state(steps, workflow.sharding)),
        start_at="NormaliseInput",
        request_path=REQUEST_PATH,
        express=workflow.is_express,
        sharding=workflow.sharding,
    )


def handoff_variables(env: Environment, workflow: Workflow, stage: str) -> dict[str, str]:
    """What a workflow function needs to size its hand-off (lambdas/README.md "Sharded hand-off")."""
    sizing = env.sizing
    if workflow.is_express:
        return {EXPRESS_MAX_CANDIDATES_ENV: str(sizing.express_max_candidates)}
    return sizing.handoff_variables(workflow.steps[0].stage, stage, sizing.max_candidates_per_run)


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
    # Glue 5.0 writes to {prefix}/output (stdout, stderr) and {prefix}/error (driver, Spark, Glue
    # logger); without a prefix it uses the shared /aws-glue/jobs/* groups, which have no retention
    # and no owner (https://docs.aws.amazon.com/glue/latest/dg/monitor-continuous-logging.html).
    # The 4.0 arguments --enable-continuous-cloudwatch-log / --continuous-log-logGroup do not apply.
    prefix = Naming.glue_log_group(workflow.name, step)
    groups = [
        log_group(scope, f"{step}Glue{kind.title()}LogGroup", f"{prefix}/{kind}") for kind in GLUE_LOG_GROUP_SUFFIXES
    ]
    bucket_arn = scope.use(bucket.arn)
    script = [arns.object_of(artifacts, key) for key in (code.glue_script_key, code.glue_library_key)]
    statements = [
        iam.allow("ReadScript", "objects", "read", script),
        *iam.prefix_access("HandOff", bucket_arn, [EXECUTIONS_PREFIX, temp_prefix], "write"),
        # Spark's S3 committer renames by copy + delete, only ever inside the job's temp folder.
        iam.allow("CleanScratch", "objects", "delete", [arns.objects_under(bucket_arn, temp_prefix)]),
        # --enable-metrics publishes job metrics to the "Glue" namespace, and nowhere else.
        iam.allow("Metrics", "metrics", "put", condition=Condition(StringEquals("cloudwatch:namespace", "Glue"))),
        iam.allow("GlueLogs", "log-group", "write", [GetAtt(group, "Arn") for group in groups]),
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
                "--custom-logGroup-prefix": prefix,
                "--enable-metrics": "true",
            },
            GlueVersion=GLUE_VERSION,
            WorkerType=GLUE_WORKER_TYPE,
            NumberOfWorkers=env.sizing.glue_workers,
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
    bucket = handoff_bucket(
        scope,
        "WorkflowBucket",
        Naming.workflow_bucket(name),
        share_as="Bucket",
        public=True,
        scratch_prefixes=(GLUE_TEMP_PREFIX,) if any(s.is_glue for s in workflow.steps) else (),
    )
    dlq = dead_letter_queue(scope, "WorkflowDeadLetterQueue", Naming.workflow_queue(name, "dlq"))
    queue = scope.discard(
        sqs.Queue(
            "WorkflowQueue",
            QueueName=Naming.workflow_queue(name, "queue"),
            SqsManagedSseEnabled=True,
            # Requests wait at most 4 days; the redrive moves failures to the 14-day DLQ first.
            MessageRetentionPeriod=REQUEST_RETENTION_SECONDS,
            VisibilityTimeout=queue_visibility_seconds(workflow),
            RedrivePolicy=sqs.RedrivePolicy(deadLetterTargetArn=GetAtt(dlq, "Arn"), maxReceiveCount=MAX_RECEIVE_COUNT),
        )
    )
    functions: dict[str, FunctionHandle] = {}
    jobs: dict[str, glue.Job] = {}
    for step in workflow.steps:
        if step.stage is None:
            jobs[step.name] = _glue_job(scope, env, code, workflow, step.name, bucket)
        else:
            functions[step.name] = stage_function(
                scope, env, code, step.stage, tables, bucket=bucket, sizing=handoff_variables(env, workflow, step.name)
            )
    substitutions: dict[str, Any] = {f"{s}FunctionArn": GetAtt(f.function, "Arn") for s, f in functions.items()}
    substitutions.update({f"{s}JobName": Ref(job) for s, job in jobs.items()})
    substitutions["WorkflowBucket"] = Ref(bucket.bucket)
    statements = []
    if functions:
        invoked = [GetAtt(f.function, "Arn") for f in functions.values()]
        statements.append(iam.allow("InvokeStages", "function", "invoke", invoked, by_shape=True))
    if jobs:
        job_arns = [arns.glue_job(Naming.glue_job(name, s)) for s in jobs]
        statements.append(iam.allow("RunGlueJobs", "glue-job", "run", job_arns))
    if any(step.mapped for step in workflow.task_steps):
        statements += distributed_map_statements(Naming.workflow_machine(name), scope.use(bucket.arn))
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
    _pipe(scope, workflow, queue, machine_arn(machine))
    if workflow.is_express:
        # Express executions emit no status-change events: alarms only.
        topic = alert_topic(scope, env, "Workflow", [])
    else:
        names = AlertNames(
            "Workflow",
            "WorkflowFailureRule",
            f"Executions of workflow {name} that failed, timed out or were aborted",
            "WorkflowFailureRule",
            f"Failure alerts of workflow {name} could not be delivered",
        )
        failed_rule = events.Rule(
            "WorkflowFailedRequestsRule",
            Description=f"Keeps the request of every failed execution of workflow {name} for scripts/redrive.sh",
            EventPattern=execution_failed_pattern(machine_arn(machine)),
            State="ENABLED",
        )
        alerts = failure_alerts(scope, env, names, machine_arn(machine), other_rules=[failed_rule])
        topic = alerts.topic
        _failed_requests(scope, name, failed_rule, alerts.dead_letters, topic)
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


def _failed_requests(
    scope: Scope, name: str, rule: events.Rule, dead_letters: sqs.Queue, topic: sns.Topic
) -> sqs.Queue:
    """The failed-request queue of a standard workflow: its pipe deletes the message once the
    execution starts (FIRE_AND_FORGET), so the request of a failed execution survives only in the
    status-change event (``detail.input``) this rule parks here for ``scripts/redrive.sh``.

    Express workflows have no such queue: Step Functions sends status-change events for standard
    workflows only (https://docs.aws.amazon.com/step-functions/latest/dg/eventbridge-integration.html);
    their pipe waits for the execution (REQUEST_RESPONSE), so a failure returns the message to the
    queue and, after the redrive policy's receives, to the workflow DLQ (docs/design.md "No request lost").
    """
    queue = dead_letter_queue(scope, "WorkflowFailedQueue", Naming.workflow_queue(name, "failed"))
    from_rule = Condition(ArnEquals("aws:SourceArn", [GetAtt(rule, "Arn")]))
    scope.add(
        sqs.QueuePolicy(
            "WorkflowFailedQueuePolicy",
            Queues=[Ref(queue)],
            PolicyDocument=iam.policy(
                [
                    iam.allow(
                        "EventBridgeFailedRequests",
                        "queue",
                        "send",
                        [GetAtt(queue, "Arn")],
                        service=EVENTS_SERVICE,
                        condition=from_rule,
                    )
                ]
            ),
        )
    )
    rule.Targets = [target("failed-requests", GetAtt(queue, "Arn"), dead_letters)]
    scope.add(rule)
    dead_letter_alarm(
        scope,
        "WorkflowFailedQueueAlarm",
        queue,
        topic,
        f"Requests of workflow {name} failed their execution and wait for scripts/redrive.sh",
    )
    scope.share("FailedQueueUrl", Ref(queue), public=True)
    return queue


def _pipe(scope: Scope, workflow: Workflow, queue: sqs.Queue, target_arn: Any) -> pipes.Pipe:
    """SQS -> state machine, one message per execution; invocation type follows the workflow type.

    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-pipes-pipe.html
    """
    start = "start-sync" if workflow.is_express else "start"
    group = log_group(scope, "WorkflowPipeLogGroup", None)
    role = scope.add(
        iam.service_role(
            "WorkflowPipeRole",
            "pipes.amazonaws.com",
            [
                iam.allow("ConsumeQueue", "queue", "consume", [GetAtt(queue, "Arn")]),
                iam.allow("StartWorkflow", "state-machine", start, [target_arn]),
                iam.allow("PipeLogs", "log-group", "write", [GetAtt(group, "Arn")]),
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
