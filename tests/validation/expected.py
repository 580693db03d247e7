"""Expected values of the validation tests: literals, each with its source.

Never read from the generator (``ceap_templates.constants``, builders) nor from the template under
test: a wrong generator value must fail a test, not agree with it. ``docs/validation-policy.md``
and ``docs/legacy-system.md`` quote the same sources.
"""

from __future__ import annotations

# ---- Step Functions (AWS: https://docs.aws.amazon.com/step-functions/latest/dg/integrate-services.html)
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
GLUE_START_JOB_RUN_SYNC = "arn:aws:states:::glue:startJobRun.sync"  # seed 004: RUN_JOB pattern
STATES_START_EXECUTION_SYNC = "arn:aws:states:::states:startExecution.sync:2"  # seed 000 pattern 3

# seed 002 task 6.2: "2 attempts, 20s interval, 2x backoff"; the error names: AWS
# https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html + the handlers' own.
LAMBDA_RETRY = {
    "ErrorEquals": [
        "Lambda.ClientExecutionTimeoutException",
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
        "TransientStageError",
    ],
    "IntervalSeconds": 20,
    "MaxAttempts": 2,
    "BackoffRate": 2.0,
}
# docs/design.md "Time budgets": express workflows wait 1 s between attempts (20 s x 2 waits x 5
# stages would be the whole 300 s an express execution may live); errors and attempts as seed 002.
EXPRESS_LAMBDA_RETRY = {**LAMBDA_RETRY, "IntervalSeconds": 1}
# seed 004: "Retry logic: 2 attempts, 5 min interval, 2x backoff".
GLUE_RETRY = {
    "ErrorEquals": ["Glue.AWSGlueException", "Glue.ConcurrentRunsExceededException", "Glue.ThrottlingException"],
    "IntervalSeconds": 300,
    "MaxAttempts": 2,
    "BackoffRate": 2.0,
}
PERMANENT_ERROR = "PermanentStageError"  # lambdas/ceap_handlers/errors.py: never retried
EXPRESS_MAX_TIMEOUT_SECONDS = 300  # AWS: Express workflows run at most 5 minutes

# ---- Glue (seed 004: "2 DPUs (G.1X workers), 2-hour timeout")
GLUE_WORKER_TYPE = "G.1X"
GLUE_WORKERS = 2
GLUE_TIMEOUT_MINUTES = 120

# ---- S3 and SQS
EXECUTIONS_PREFIX = "executions/"  # seed 004
EXECUTIONS_EXPIRY_DAYS = 7  # seed 002 task 2.2
MAX_RECEIVE_COUNT = 3  # seed 002 task 12.1
DLQ_RETENTION_SECONDS = 1_209_600  # 14 days, the SQS maximum (AWS SetQueueAttributes)

# ---- IAM: actions without resource-level permissions (AWS Service Authorization Reference:
# X-Ray, and the CloudWatch Logs delivery API Step Functions logging uses).
UNSCOPED_ACTIONS = frozenset(
    {
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
    }
)
MAX_RESOURCES = 500  # AWS CloudFormation quotas

# ---- the legacy system (docs/legacy-system.md)
DATA_PLATFORM = "DataPlatform"
SERVING_API = "ServingAPI"
BATCH_INGESTION_MACHINE_ID = "BatchIngestionWorkflow10186577"
BATCH_INGESTION_SCHEDULE_ID = "BatchIngestionSchedule3D278ACF"
DATABASE_TABLE_IDS = ("CandidatesTableB438AE0C", "ProgramConfigTableE4B88D2D", "ScoreCacheTable789CCB88")
LEGACY_ONLY_STACKS = (
    "CeapEtlWorkflow",
    "CeapFilterWorkflow",
    "CeapScoreWorkflow",
    "CeapStoreWorkflow",
    "CeapReactiveWorkflow",
    "CeapOrchestration",
)
#: Legacy stack -> consolidated stack (docs/legacy-system.md, "Consolidation").
CONSOLIDATED_STACK = {
    "CeapEtlWorkflow": "CeapDataPlatform",
    "CeapFilterWorkflow": "CeapDataPlatform",
    "CeapScoreWorkflow": "CeapDataPlatform",
    "CeapStoreWorkflow": "CeapDataPlatform",
    "CeapOrchestration": "CeapDataPlatform",
    "CeapReactiveWorkflow": "CeapServingAPI",
}
#: Handler entry points of the stages (lambdas/ceap_handlers/handlers/).
HANDLERS = {
    "ETL": "ceap_handlers.handlers.etl.handler",
    "Filter": "ceap_handlers.handlers.filter.handler",
    "Score": "ceap_handlers.handlers.score.handler",
    "Store": "ceap_handlers.handlers.store.handler",
    "Reactive": "ceap_handlers.handlers.reactive.handler",
}
SERVING_REACTIVE_HANDLER = "ceap_handlers.handlers.customer_event.handler"


# ---- names (naming table of docs/validation-policy.md; seed 004 for workflow resources)
def glue_job_name(workflow: str, step: str) -> str:
    return f"ceap-workflow-{workflow}-{step.lower()}"


def workflow_bucket_name(workflow: str) -> str:
    return f"ceap-workflow-{workflow}-${{AWS::AccountId}}"


def workflow_queue_name(workflow: str, suffix: str) -> str:
    return f"ceap-workflow-{workflow}-{suffix}"


def stack_parameter(env: str, producer: str) -> str:
    """``CeapDatabase-dev`` -> ``DatabaseStackName`` (docs/design.md 5 convention)."""
    return producer.removesuffix(f"-{env}").removeprefix("Ceap").replace("-", "") + "StackName"


def template_json(template: object) -> str:
    """A template as the build writes it (sorted keys, 2-space indent, newline at the end)."""
    import json

    return json.dumps(template, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


#: The 12 deployed logical IDs (docs/legacy-system.md): id -> (legacy stack, consolidated stack), no env.
LEGACY_IDS = {
    "CandidatesTableB438AE0C": ("CeapDatabase", "CeapDatabase"),
    "ProgramConfigTableE4B88D2D": ("CeapDatabase", "CeapDatabase"),
    "ScoreCacheTable789CCB88": ("CeapDatabase", "CeapDatabase"),
    "ETLLambdaFunction49DD508A": ("CeapEtlWorkflow", "CeapDataPlatform"),
    "FilterLambdaFunction29040EBB": ("CeapFilterWorkflow", "CeapDataPlatform"),
    "ScoreLambdaFunction04AD330A": ("CeapScoreWorkflow", "CeapDataPlatform"),
    "StoreLambdaFunction7FC1576D": ("CeapStoreWorkflow", "CeapDataPlatform"),
    "DeduplicationTableAD30DFB7": ("CeapReactiveWorkflow", "CeapServingAPI"),
    "ReactiveLambdaFunction89310B25": ("CeapReactiveWorkflow", "CeapServingAPI"),
    "CustomerEventRuleC528982C": ("CeapReactiveWorkflow", "CeapServingAPI"),
    "BatchIngestionWorkflow10186577": ("CeapOrchestration", "CeapDataPlatform"),
    "BatchIngestionSchedule3D278ACF": ("CeapOrchestration", "CeapDataPlatform"),
}
#: Physical names as deployed (docs/legacy-system.md), ``{env}`` to fill in.
LEGACY_NAMES = {
    "CandidatesTableB438AE0C": "Candidates-{env}",
    "ProgramConfigTableE4B88D2D": "ProgramConfig-{env}",
    "ScoreCacheTable789CCB88": "ScoreCache-{env}",
    "DeduplicationTableAD30DFB7": "ceap-event-deduplication-{env}",
    "CustomerEventRuleC528982C": "ceap-customer-events-{env}",
    "BatchIngestionWorkflow10186577": "CeapBatchIngestion-{env}",
    "BatchIngestionSchedule3D278ACF": "CeapBatchIngestion-{env}",
}
# Seed 000 / docs/legacy-system.md: the batch ingestion runs these stages; the customer-event rule.
BATCH_INGESTION_STAGES = ("ETL", "Filter", "Score", "Store")
#: Issue 16 (docs/design.md "Sizing"): in a standard workflow and the batch ingestion, these stages
#: run once per part under a Distributed Map ``{Stage}`` when they are not the first step, followed
#: by their manifest Task ``{Stage}Manifest``; both catch into ``{Stage}Failed``.
PART_WISE_STAGES = ("Filter", "Score", "Store")
#: Children of one Distributed Map at once: at most 10,000
#: (https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html).
MAX_MAP_CONCURRENCY = 10_000
CUSTOMER_EVENT_SOURCE = "ceap.customer-events"
CUSTOMER_EVENT_TYPES = (
    "OrderDelivered",
    "ProductPurchased",
    "VideoWatched",
    "TrackPlayed",
    "ServiceCompleted",
    "EventAttended",
)

#: Actions without which a role of each service cannot do its job, when the role has them today:
#: Lambda logs + X-Ray (AWS Lambda execution role), Step Functions invoking stages / following Glue
#: runs and nested executions / log delivery (AWS Step Functions IAM pages), Glue logs, EventBridge start.
ROLE_NEEDS = {
    "lambda.amazonaws.com": ("logs:PutLogEvents", "xray:PutTraceSegments"),
    "states.amazonaws.com": (
        "lambda:InvokeFunction",
        "glue:GetJobRun",
        "states:DescribeExecution",
        "logs:CreateLogDelivery",
    ),
    "glue.amazonaws.com": ("logs:PutLogEvents",),
    "events.amazonaws.com": ("states:StartExecution",),
}
