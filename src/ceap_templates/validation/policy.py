"""What the platform requires, stated by the validator itself: every value with its source.

The rules check the templates against these values and nothing else. They never import the
generator's constants or builders: a wrong value in the generator must produce a finding, not a
second copy of itself. A deliberate change of a requirement is therefore two edits a reviewer
sees, one in the generator and one here (and in ``docs/validation-policy.md``, which lists them).

Sources, in :data:`SOURCES`: the seed requirement (``seed 002 task 6.2``), an AWS documentation
page, or the deployed legacy system (``docs/legacy-system.md``; its resources are recorded in
:mod:`ceap_templates.validation.legacy_system`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class RetryPolicy:
    """One ``Retry`` entry of Amazon States Language, as the platform requires it."""

    errors: tuple[str, ...]
    interval_seconds: int
    max_attempts: int
    backoff_rate: float

    def to_asl(self) -> dict[str, object]:
        return {
            "ErrorEquals": list(self.errors),
            "IntervalSeconds": self.interval_seconds,
            "MaxAttempts": self.max_attempts,
            "BackoffRate": self.backoff_rate,
        }


# ---- Step Functions -------------------------------------------------------------------------
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
GLUE_START_JOB_RUN_SYNC = "arn:aws:states:::glue:startJobRun.sync"
STATES_START_EXECUTION_SYNC = "arn:aws:states:::states:startExecution.sync:2"
KNOWN_INTEGRATIONS = frozenset({LAMBDA_INVOKE, GLUE_START_JOB_RUN_SYNC, STATES_START_EXECUTION_SYNC})

#: The error the handlers raise for trouble worth retrying (their class name is the ASL error).
TRANSIENT_ERROR = "TransientStageError"
#: Lambda's own transient errors, the ones AWS advises to retry (its Retry example lists the
#: first four; TooManyRequestsException is the throttling error it names).
LAMBDA_TRANSIENT_ERRORS = (
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
)
GLUE_TRANSIENT_ERRORS = ("Glue.AWSGlueException", "Glue.ConcurrentRunsExceededException", "Glue.ThrottlingException")
STATES_TRANSIENT_ERRORS = ("StepFunctions.SdkClientException", "StepFunctions.AWSStepFunctionsException")

LAMBDA_RETRY = RetryPolicy((*LAMBDA_TRANSIENT_ERRORS, TRANSIENT_ERROR), 20, 2, 2.0)
GLUE_RETRY = RetryPolicy(GLUE_TRANSIENT_ERRORS, 300, 2, 2.0)
STATES_RETRY = RetryPolicy(STATES_TRANSIENT_ERRORS, 20, 2, 2.0)
RETRY_BY_INTEGRATION: Mapping[str, RetryPolicy] = MappingProxyType(
    {LAMBDA_INVOKE: LAMBDA_RETRY, GLUE_START_JOB_RUN_SYNC: GLUE_RETRY, STATES_START_EXECUTION_SYNC: STATES_RETRY}
)

EXPRESS_MAX_TIMEOUT_SECONDS = 300
#: Express workflows retry Lambda stages after 1 s (not 20 s): five stages x two retries of waits
#: must leave room for the stages themselves inside 300 s (docs/design.md "Time budgets").
EXPRESS_LAMBDA_RETRY = RetryPolicy((*LAMBDA_TRANSIENT_ERRORS, TRANSIENT_ERROR), 1, 2, 2.0)
EXPRESS_RETRY_BY_INTEGRATION: Mapping[str, RetryPolicy] = MappingProxyType({LAMBDA_INVOKE: EXPRESS_LAMBDA_RETRY})

# ---- time budgets (ASL010) ------------------------------------------------------------------
#: Errors AWS raises when it REFUSES the work before it starts: a retry of one costs its wait only.
#: Any other retried error may come after the work ran, so it costs a whole attempt plus its wait.
REFUSED_AT_START: Mapping[str, str] = MappingProxyType(
    {
        "Lambda.TooManyRequestsException": "https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html",
        "Glue.ConcurrentRunsExceededException": "https://docs.aws.amazon.com/glue/latest/webapi/API_StartJobRun.html",
        "Glue.ThrottlingException": "https://docs.aws.amazon.com/glue/latest/webapi/CommonErrors.html",
        "StepFunctions.ExecutionLimitExceededException": "https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html",
        "StepFunctions.ThrottlingException": "https://docs.aws.amazon.com/step-functions/latest/apireference/CommonErrors.html",
    }
)
#: Retrier fields a definition may leave out take these values.
ASL_RETRY_DEFAULTS: Mapping[str, float] = MappingProxyType({"MaxAttempts": 3, "IntervalSeconds": 1, "BackoffRate": 2.0})
#: ``AWS::Lambda::Function`` ``Timeout`` when the template leaves it out.
LAMBDA_DEFAULT_TIMEOUT_SECONDS = 3
#: ``AWS::Glue::Job`` ``Timeout`` (minutes) of a Spark job when the template leaves it out.
GLUE_DEFAULT_TIMEOUT_MINUTES = 2880
#: Where an execution's id comes from: the context object, never the state input.
EXECUTION_NAME = "$$.Execution.Name"
#: Execution context of every Lambda task; the first stage also gets the request.
LAMBDA_PAYLOAD_KEYS = frozenset({"executionId.$", "currentStage", "previousStage", "workflowBucket"})
FIRST_STAGE_PAYLOAD_KEYS = LAMBDA_PAYLOAD_KEYS | {"initialData.$"}
#: Arguments of every Glue task (``.$``: resolved by Step Functions at run time).
GLUE_ARGUMENTS = frozenset(
    {
        "--execution-id.$",
        "--input-bucket",
        "--input-key.$",
        "--output-bucket",
        "--output-key.$",
        "--current-stage",
        "--previous-stage",
    }
)
GLUE_KEY_ARGUMENTS = ("--input-key.$", "--output-key.$")

# ---- sizing (CAP001) ------------------------------------------------------------------------
#: Measured cost of one candidate per stage handler, on one CPU: (bytes held, seconds of work).
#: Source: scripts/bench/bench_parts.py, 2026-12-03 (lambdas/README.md "Benchmarks"): traced peak of a
#: part invocation / PART_SIZE 10,000 and the slower of the 100k / 1M candidates per second.
#: Store's rate is bound by moto's in-process DynamoDB, an upper bound on the real cost. ETL streams
#: one source shard: 43.0 MB traced peak at 1,000,000 rows in shards of 64 MiB (42.8 MB at 100,000,
#: 2026-12-04); its rate stays the 7,023 candidates/s measured on a loaded machine (32,002/s quiet).
STAGE_COST: Mapping[str, tuple[float, float]] = MappingProxyType(
    {
        "ceap_handlers.handlers.etl.handler": (4_300.0, 1 / 7_000),
        "ceap_handlers.handlers.filter.handler": (5_090.0, 1 / 16_252),
        "ceap_handlers.handlers.score.handler": (8_210.0, 1 / 7_923),
        "ceap_handlers.handlers.store.handler": (10_000.0, 1 / 821),
    }
)
#: RSS of a handler process before any candidate: 72.4 MB measured (import + boto3 clients, Python
#: 3.11), rounded up for the Lambda runtime's own process.
LAMBDA_BASE_MB = 80
#: "At 1,769 MB, a function has the equivalent of one vCPU"; below it, CPU in proportion
#: (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html). The handlers use one thread.
LAMBDA_ONE_VCPU_MB = 1769
#: An estimate times this must fit the function's MemorySize and Timeout.
SIZING_HEADROOM = 1.5
#: Writes per second a new on-demand table serves at once (its initial warm throughput; it grows
#: with traffic): https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode.html
TABLE_WRITES_PER_SECOND = 4_000
#: The stage whose children share the Candidates table's write throughput.
TABLE_WRITER_HANDLER = "ceap_handlers.handlers.store.handler"
#: Sizing variables of the functions (lambdas/README.md "Sharded hand-off").
PART_SIZE_VARIABLE = "PART_SIZE"
RUN_LIMIT_VARIABLE = "MAX_CANDIDATES_PER_RUN"
EXPRESS_LIMIT_VARIABLE = "EXPRESS_MAX_CANDIDATES"
SHARD_BYTES_VARIABLE = "SOURCE_SHARD_BYTES"
#: The most source shards the plan step admits: the ETL Map's items (ASL011 checks the Maps reach it).
SOURCE_SHARDS_VARIABLE = "MAX_SOURCE_SHARDS"
#: The shortest JSON Lines row that can make a candidate: the four required fields (docs/data.md
#: ETL: customerId, subjectType, subjectId, eventDate) under one-letter source names through field
#: mappings, one-character values and an epoch-number date: ``{"a":"x","b":"y","c":"z","d":1}`` and
#: its newline, 32 bytes. A shard of SOURCE_SHARD_BYTES holds at most SOURCE_SHARD_BYTES / 32 candidates.
MIN_SOURCE_ROW_BYTES = 32

# ---- Distributed Map (ASL011) ---------------------------------------------------------------
#: What statelint 3.1.0 does not know yet, each with the AWS page that defines it: ASL001 ignores
#: these problems, ASL011 checks the fields. ``ReaderConfig.InputType`` is required to read a JSON
#: item file (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html).
STATELINT_GAPS = (r'Field "InputType" not allowed in .*\.ItemReader\.ReaderConfig$',)
#: ``InputType`` values of an ``s3:getObject`` ItemReader (same page).
ITEM_READER_INPUT_TYPES = frozenset({"CSV", "JSON", "JSONL", "PARQUET", "MANIFEST"})
ITEM_READER_GET_OBJECT = "arn:aws:states:::s3:getObject"
#: The Map item a child gets, and where the ItemSelector puts it (lambdas/README.md part event).
MAP_ITEM_VALUE = "$$.Map.Item.Value"
PART_ITEM_KEY = "part.$"
#: Where a first stage's source Map puts its item, a source shard (lambdas/README.md source event).
SOURCE_ITEM_KEY = "source.$"
#: The item list a stage writes beside its manifest (lambdas/README.md "Sharded hand-off").
PARTS_LIST_SUFFIX = "/parts.json"
#: The source shards the first stage's plan step writes (lambdas/README.md "Sharded hand-off").
SOURCES_LIST_SUFFIX = "/sources.json"
#: Children of one Distributed Map at once: at most 10,000
#: (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-asl-use-map-state-distributed.html).
MAX_MAP_CONCURRENCY = 10_000
#: A machine running Distributed Maps starts its own children and follows them
#: (https://docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html).
MAP_START_ACTION = "states:StartExecution"
MAP_FOLLOW_ACTIONS = frozenset({"states:DescribeExecution", "states:StopExecution"})

# ---- queues and pipes -----------------------------------------------------------------------
MAX_RECEIVE_COUNT = 3
DLQ_RETENTION_SECONDS = 14 * 24 * 3600
PIPE_BATCH_SIZE = 1
#: State machine type -> (pipe invocation type, action the pipe role needs on the machine).
PIPE_INVOCATION: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "EXPRESS": ("REQUEST_RESPONSE", "states:StartSyncExecution"),
        "STANDARD": ("FIRE_AND_FORGET", "states:StartExecution"),
    }
)
PIPE_QUEUE_ACTIONS = frozenset({"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"})

# ---- S3 hand-offs ---------------------------------------------------------------------------
EXECUTIONS_PREFIX = "executions/"
EXECUTIONS_EXPIRY_DAYS = 7

# ---- IAM ------------------------------------------------------------------------------------
#: Actions AWS defines without resource-level permissions: ``Resource: "*"`` is the only form.
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
#: Actions AWS defines without resource types but with a condition key that scopes them:
#: ``Resource: "*"`` is allowed only in a statement conditioned on that key.
CONDITION_SCOPED_ACTIONS: Mapping[str, str] = MappingProxyType({"cloudwatch:PutMetricData": "cloudwatch:namespace"})
_XRAY = frozenset({"xray:PutTraceSegments", "xray:PutTelemetryRecords"})
_LOG_DELIVERY = frozenset(
    {
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
#: Trust principal -> actions every role of that kind needs to do its job. Pipe roles are PIPE001's.
ROLE_ACTIONS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "lambda.amazonaws.com": frozenset({"logs:CreateLogStream", "logs:PutLogEvents"}) | _XRAY,
        "states.amazonaws.com": _LOG_DELIVERY | _XRAY,
        "glue.amazonaws.com": frozenset({"s3:GetObject", "logs:CreateLogStream", "logs:PutLogEvents"}),
        "events.amazonaws.com": frozenset({"states:StartExecution"}),
    }
)
#: Service integration -> actions the state machine's role needs to run it.
INTEGRATION_ACTIONS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        LAMBDA_INVOKE: frozenset({"lambda:InvokeFunction"}),
        GLUE_START_JOB_RUN_SYNC: frozenset(
            {"glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"}
        ),
        STATES_START_EXECUTION_SYNC: frozenset(
            {
                "states:StartExecution",
                "states:DescribeExecution",
                "states:StopExecution",
                "events:PutTargets",
                "events:PutRule",
                "events:DescribeRule",
            }
        ),
    }
)

# ---- names and quotas -----------------------------------------------------------------------
#: AWS physical-name limits, by kind of name.
NAME_LIMITS: Mapping[str, int] = MappingProxyType(
    {
        "stack": 128,
        "lambda": 64,
        "bucket": 63,
        "state_machine": 80,
        "role": 64,
        "table": 255,
        "rule": 64,
        "queue": 80,
        "pipe": 64,
        "topic": 256,
        "log_group": 512,
        "glue_job": 255,
        "export": 255,
        "alarm": 255,
    }
)
#: Worst-case length of a pseudo parameter once CloudFormation resolves it (others: 64).
RESOLVED_TOKEN_LENGTH: Mapping[str, int] = MappingProxyType({"${AWS::AccountId}": 12, "${AWS::Region}": 14})
MAX_RESOURCES = 500
MAX_OUTPUTS = 200
MAX_PARAMETERS = 200
MAX_TEMPLATE_BYTES = 1_000_000
MAX_INLINE_TEMPLATE_BYTES = 51_200

#: Where each value above comes from (``docs/validation-policy.md`` quotes the same).
SOURCES: Mapping[str, str] = MappingProxyType(
    {
        "LAMBDA_INVOKE": "https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html",
        "GLUE_START_JOB_RUN_SYNC": "seed 004 (RUN_JOB integration pattern); https://docs.aws.amazon.com/step-functions/latest/dg/connect-glue.html",
        "STATES_START_EXECUTION_SYNC": "seed 000 pattern 3; "
        "https://docs.aws.amazon.com/step-functions/latest/dg/connect-stepfunctions.html",
        "KNOWN_INTEGRATIONS": "the three integrations above; https://docs.aws.amazon.com/step-functions/latest/dg/integrate-services.html",
        "TRANSIENT_ERROR": "seed 002 task 12.3 (S3 throttling / 5xx are transient); the handler package's "
        "error types (lambdas/ceap_handlers)",
        "LAMBDA_TRANSIENT_ERRORS": "https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html",
        "GLUE_TRANSIENT_ERRORS": "https://docs.aws.amazon.com/glue/latest/dg/glue-api-jobs-runs.html (errors)",
        "STATES_TRANSIENT_ERRORS": "https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html",
        "LAMBDA_RETRY": "seed 002 task 6.2 (2 attempts, 20 s interval, 2x backoff), Property 16",
        "GLUE_RETRY": "seed 004 (Glue: 2 attempts, 5 min interval, 2x backoff); seed 002 task 8, Property 24",
        "STATES_RETRY": "as LAMBDA_RETRY for the nested execution (seed 000 pattern 3)",
        "RETRY_BY_INTEGRATION": "seed 002 task 6.2 and seed 004 (Lambda and Glue steps); permanent errors not retried",
        "EXPRESS_MAX_TIMEOUT_SECONDS": "seed 002 Property 12; "
        "https://docs.aws.amazon.com/step-functions/latest/dg/choosing-workflow-type.html",
        "EXPRESS_LAMBDA_RETRY": "docs/design.md Time budgets (departure from seed 002 task 6.2's 20 s: "
        "express machines end within 300 s)",
        "EXPRESS_RETRY_BY_INTEGRATION": "docs/design.md Time budgets (express workflows: Lambda stages only)",
        "REFUSED_AT_START": "the AWS page of each error (docs/validation-policy.md ASL010): "
        "https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html, "
        "https://docs.aws.amazon.com/glue/latest/webapi/API_StartJobRun.html, "
        "https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html",
        "ASL_RETRY_DEFAULTS": "https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html "
        "(MaxAttempts 3, IntervalSeconds 1, BackoffRate 2.0)",
        "LAMBDA_DEFAULT_TIMEOUT_SECONDS": "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/"
        "aws-resource-lambda-function.html (Timeout, default 3)",
        "GLUE_DEFAULT_TIMEOUT_MINUTES": "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/"
        "aws-resource-glue-job.html (Timeout, default 2,880 minutes)",
        "EXECUTION_NAME": "seed 002 Req. 2.1; legacy defect ($.Execution.Name), docs/legacy-system.md",
        "LAMBDA_PAYLOAD_KEYS": "seed 002 task 3.1 / Req. 2.1 (executionId, currentStage, previousStage, "
        "workflowBucket)",
        "FIRST_STAGE_PAYLOAD_KEYS": "seed 002 task 3.1 / Req. 2.1 (initialData for the first stage)",
        "GLUE_ARGUMENTS": "seed 002 task 9.1 (execution-id, input-bucket/key, output-bucket/key); "
        "docs/legacy-system.md defects",
        "GLUE_KEY_ARGUMENTS": "legacy defect (literal ${...} keys), docs/legacy-system.md",
        "STAGE_COST": 'scripts/bench/bench_parts.py, 2026-12-03 (lambdas/README.md "Performance notes"); '
        "docs/validation-policy.md CAP001",
        "LAMBDA_BASE_MB": "scripts/bench/bench_parts.py (72.4 MB measured); docs/validation-policy.md CAP001",
        "LAMBDA_ONE_VCPU_MB": "https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html",
        "SIZING_HEADROOM": "docs/design.md Sizing; docs/validation-policy.md CAP001",
        "TABLE_WRITES_PER_SECOND": "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/"
        "on-demand-capacity-mode.html (initial throughput)",
        "TABLE_WRITER_HANDLER": "docs/data.md Store (writes Candidates)",
        "PART_SIZE_VARIABLE": "lambdas/README.md Sharded hand-off",
        "RUN_LIMIT_VARIABLE": "lambdas/README.md Sharded hand-off",
        "EXPRESS_LIMIT_VARIABLE": "lambdas/README.md Sharded hand-off",
        "SHARD_BYTES_VARIABLE": "lambdas/README.md Sharded hand-off (source shards)",
        "SOURCE_SHARDS_VARIABLE": "lambdas/README.md Sharded hand-off (source shards)",
        "MIN_SOURCE_ROW_BYTES": "docs/data.md ETL (required fields, field mappings, epoch dates); "
        "docs/validation-policy.md CAP001",
        "STATELINT_GAPS": "https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html",
        "ITEM_READER_INPUT_TYPES": "https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html",
        "ITEM_READER_GET_OBJECT": "https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html",
        "MAP_ITEM_VALUE": "https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html; "
        "lambdas/README.md Sharded hand-off (part event)",
        "PART_ITEM_KEY": "lambdas/README.md Sharded hand-off (part event)",
        "SOURCE_ITEM_KEY": "lambdas/README.md Sharded hand-off (source event)",
        "SOURCES_LIST_SUFFIX": "lambdas/README.md Sharded hand-off (source shards)",
        "PARTS_LIST_SUFFIX": "lambdas/README.md Sharded hand-off; docs/design.md Sizing",
        "MAX_MAP_CONCURRENCY": "https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html",
        "MAP_START_ACTION": "https://docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html",
        "MAP_FOLLOW_ACTIONS": "https://docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html",
        "MAX_RECEIVE_COUNT": "seed 002 task 12.1 (Req. 8.5); seed 004 (3 attempts)",
        "DLQ_RETENTION_SECONDS": "14 days, the SQS maximum: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html",
        "PIPE_BATCH_SIZE": "seed 002 tasks 6.3 and 8.2 (batch size = 1)",
        "PIPE_INVOCATION": "seed 002 tasks 6.3, 8.2 and 10.2 (REQUEST_RESPONSE for Express, FIRE_AND_FORGET for "
        "Standard); legacy defect (pipe role lacked StartSyncExecution); "
        "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-permissions.html",
        "PIPE_QUEUE_ACTIONS": "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-sqs.html",
        "EXECUTIONS_PREFIX": "seed 004 (executions/{executionId}/{stage}/output.json)",
        "EXECUTIONS_EXPIRY_DAYS": "seed 002 task 2.2 (delete objects under executions/ after 7 days); seed 004",
        "UNSCOPED_ACTIONS": "https://docs.aws.amazon.com/service-authorization/latest/reference/"
        "list_awsx-ray.html and list_amazoncloudwatchlogs.html (no resource types); "
        "https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html",
        "CONDITION_SCOPED_ACTIONS": "https://docs.aws.amazon.com/service-authorization/latest/reference/"
        "list_amazoncloudwatch.html (condition key cloudwatch:namespace); "
        "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/iam-cw-condition-keys-namespace.html",
        "ROLE_ACTIONS": "https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html; "
        "https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html; "
        "https://docs.aws.amazon.com/glue/latest/dg/create-an-iam-role.html; "
        "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-identity-based.html",
        "INTEGRATION_ACTIONS": "https://docs.aws.amazon.com/step-functions/latest/dg/lambda-iam.html, "
        "glue-iam.html, stepfunctions-iam.html",
        "NAME_LIMITS": "https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html, "
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html, "
        "https://docs.aws.amazon.com/step-functions/latest/apireference/API_CreateStateMachine.html, "
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html",
        "RESOLVED_TOKEN_LENGTH": "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/pseudo-parameter-reference.html",
        "MAX_RESOURCES": "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html",
        "MAX_OUTPUTS": "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html",
        "MAX_PARAMETERS": "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html",
        "MAX_TEMPLATE_BYTES": "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html",
        "MAX_INLINE_TEMPLATE_BYTES": "TemplateBody 51,200 bytes: "
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html",
    }
)
