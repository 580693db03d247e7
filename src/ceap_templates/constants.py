"""Every fixed value of the platform in one place: limits, runtimes, retry policies.

Stages have their own catalogue (:mod:`ceap_templates.stages`).

Values come from docs/design.md, docs/legacy-system.md and seed 002; each group says where.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

#: Stack roles of the consolidated layout (docs/design.md 4.1), in deploy-friendly order.
DATABASE = "Database"
DATA_PLATFORM = "DataPlatform"
SERVING_API = "ServingAPI"

#: AWS physical-name limits (docs/design.md 3).
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

#: CloudFormation template limits (docs/design.md 9).
MAX_RESOURCES = 500
MAX_OUTPUTS = 200
MAX_PARAMETERS = 200
MAX_TEMPLATE_BYTES = 1_000_000
MAX_INLINE_TEMPLATE_BYTES = 51_200

#: Lambda runtime defaults; the configuration may choose another supported one.
SUPPORTED_RUNTIMES = ("python3.11", "python3.12", "python3.13")
HANDLER_PACKAGE = "ceap_handlers"
LAMBDA_ARCHITECTURE = "x86_64"
#: aws-lambda-powertools ships as AWS's public layer (account 017000801446), so the handler
#: zip holds only our sources and its hash changes exactly when they do.
POWERTOOLS_LAYER_ACCOUNT = "017000801446"
POWERTOOLS_LAYER_VERSION = 18


def powertools_layer_name(runtime: str) -> str:
    """Name of the public Powertools v3 layer for a Python runtime, e.g. ``python312``."""
    return f"AWSLambdaPowertoolsPythonV3-{runtime.replace('.', '')}-{LAMBDA_ARCHITECTURE}"


#: Glue (seed 004): G.1X, 2 workers, 120 minutes; retries belong to Step Functions.
GLUE_VERSION = "5.0"
GLUE_WORKER_TYPE = "G.1X"
GLUE_WORKERS = 2
GLUE_TIMEOUT_MINUTES = 120

#: S3 conventions (seed 004): stage hand-offs live under executions/ for 7 days.
EXECUTIONS_PREFIX = "executions/"
SOURCES_PREFIX = "sources/"
GLUE_TEMP_PREFIX = "glue-temp/"
EXECUTIONS_EXPIRY_DAYS = 7

#: Queues (seed 002 Req. 8.5).
MAX_RECEIVE_COUNT = 3
DLQ_RETENTION_SECONDS = 14 * 24 * 3600
EXPRESS_MAX_TIMEOUT_SECONDS = 300

#: Error names the handlers raise (lambdas/ceap_handlers): Step Functions matches class names.
TRANSIENT_ERROR = "TransientStageError"
PERMANENT_ERROR = "PermanentStageError"


@dataclass(frozen=True)
class RetryPolicy:
    """One ``Retry`` entry of Amazon States Language."""

    errors: tuple[str, ...]
    interval_seconds: int
    max_attempts: int
    backoff_rate: float

    def to_asl(self) -> dict[str, object]:
        """The ASL form (``BackoffRate`` stays a float: States Language requires a number >= 1)."""
        return {
            "ErrorEquals": list(self.errors),
            "IntervalSeconds": self.interval_seconds,
            "MaxAttempts": self.max_attempts,
            "BackoffRate": self.backoff_rate,
        }


#: Seed 002: Lambda tasks 2 attempts, 20 s, x2 on transient errors only. The Lambda service errors
#: are AWS's list (Step Functions Developer Guide, "Handle Lambda service exceptions",
#: https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html) plus the
#: throttling error the same page names.
LAMBDA_RETRY = RetryPolicy(
    errors=(
        "Lambda.ClientExecutionTimeoutException",
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
        TRANSIENT_ERROR,
    ),
    interval_seconds=20,
    max_attempts=2,
    backoff_rate=2.0,
)
#: Seed 002: Glue tasks 2 attempts, 300 s, x2. Glue reports transient trouble as these.
GLUE_RETRY = RetryPolicy(
    errors=("Glue.AWSGlueException", "Glue.ConcurrentRunsExceededException", "Glue.ThrottlingException"),
    interval_seconds=300,
    max_attempts=2,
    backoff_rate=2.0,
)
#: A nested `startExecution.sync:2` can hit Step Functions throttling; nothing else is retried.
STATES_RETRY = RetryPolicy(
    errors=("StepFunctions.SdkClientException", "StepFunctions.AWSStepFunctionsException"),
    interval_seconds=20,
    max_attempts=2,
    backoff_rate=2.0,
)

#: Express workflows wait 1 s (not 20 s) before retrying a stage: five stages x two retries of 20 s
#: and 40 s would take 300 s, the whole express limit (docs/design.md "Time budgets").
EXPRESS_LAMBDA_RETRY = RetryPolicy(
    errors=LAMBDA_RETRY.errors,
    interval_seconds=1,
    max_attempts=2,
    backoff_rate=2.0,
)

#: Customer event rule (docs/legacy-system.md "Orchestration").
CUSTOMER_EVENT_SOURCE = "ceap.customer-events"
CUSTOMER_EVENT_TYPES = (
    "OrderDelivered",
    "ProductPurchased",
    "VideoWatched",
    "TrackPlayed",
    "ServiceCompleted",
    "EventAttended",
)
#: The Reactive state machine of seed 000 pattern 3 reacts to this event.
PROGRAM_CONFIG_SOURCE = "ceap.program-config"
PROGRAM_CONFIG_UPDATED = "ProgramConfigUpdated"
#: What a workflow's Reactive stage puts on the default bus when a run ends (seed 000 pattern 2).
WORKFLOW_EVENT_SOURCE = "ceap.workflow"
WORKFLOW_COMPLETED = "WorkflowCompleted"
METRICS_NAMESPACE = "Ceap"

#: Legacy schedule (docs/legacy-system.md "Orchestration") and timeout of the batch ingestion machine.
BATCH_INGESTION_TIMEOUT_SECONDS = 4 * 3600
#: The Reactive machine waits on the batch ingestion (at most 4 h) and may start it three times
#: (STATES_RETRY): 3 x 14,400 s + 60 s waits = 43,260 s; 13.5 h leaves 11% (docs/design.md "Time budgets").
REACTIVE_TIMEOUT_SECONDS = 48_600
