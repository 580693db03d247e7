"""Faults in the generator's source, as data: the file, the exact text, its replacement, the rule.

Each fault is applied to a copy of ``src/``; the copy builds (``ceap-templates build``) and
``ceap-templates validate`` must exit 1 naming the rule. ``test_source_faults`` also asserts
that every ``old`` text occurs exactly once in today's source: when the generator is refactored
a stale fault fails loudly instead of silently testing nothing.

Grouped by rule group, like the rules and the template mutations (``mutations/``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SourceFault:
    """``old`` -> ``new`` in ``path`` (relative to ``src/ceap_templates``); ``rule`` must report it."""

    name: str
    path: str
    old: str
    new: str
    rule: str

    @property
    def id(self) -> str:
        return f"{self.rule}:{self.name.replace(' ', '-')}"


_STORAGE = "components/storage.py"
_SERVING = "components/serving.py"
_BATCH = "components/batch_ingestion.py"
_WORKFLOW = "components/workflow.py"
_CONSTANTS = "constants.py"


def _id_fault(what: str, path: str, assignment: str, logical_id: str) -> SourceFault:
    """The most likely mistake with a deployed ID: its CDK hash suffix dropped or changed."""
    return SourceFault(
        f"legacy id of the {what} changed",
        path,
        f'{assignment}"{logical_id}"',
        f'{assignment}"{logical_id[:-8]}"',
        "LEG001",
    )


# ---- LEG: every deployed logical ID (docs/legacy-system.md) ----------------------------------
LEGACY_ID_FAULTS = (
    _id_fault("Candidates table", _STORAGE, "CANDIDATES_ID = ", "CandidatesTableB438AE0C"),
    _id_fault("ProgramConfig table", _STORAGE, "PROGRAM_CONFIG_ID = ", "ProgramConfigTableE4B88D2D"),
    _id_fault("ScoreCache table", _STORAGE, "SCORE_CACHE_ID = ", "ScoreCacheTable789CCB88"),
    _id_fault("dedup table", _STORAGE, "DEDUP_ID = ", "DeduplicationTableAD30DFB7"),
    _id_fault("ETL function", "layouts.py", '"ETL": ', "ETLLambdaFunction49DD508A"),
    _id_fault("Filter function", "layouts.py", '"Filter": ', "FilterLambdaFunction29040EBB"),
    _id_fault("Score function", "layouts.py", '"Score": ', "ScoreLambdaFunction04AD330A"),
    _id_fault("Store function", "layouts.py", '"Store": ', "StoreLambdaFunction7FC1576D"),
    _id_fault("Reactive function", _SERVING, "REACTIVE_FUNCTION_ID = ", "ReactiveLambdaFunction89310B25"),
    _id_fault("customer event rule", _SERVING, "CUSTOMER_EVENT_RULE_ID = ", "CustomerEventRuleC528982C"),
    _id_fault("batch ingestion machine", _BATCH, "MACHINE_ID = ", "BatchIngestionWorkflow10186577"),
    _id_fault("daily schedule", _BATCH, "SCHEDULE_ID = ", "BatchIngestionSchedule3D278ACF"),
    SourceFault(
        "legacy table name without the environment dash",
        "naming.py",
        'f"{base}-{self.env}"',
        'f"{base}{self.env}"',
        "LEG001",
    ),
)

# ---- ASL: retry policies (seed 002 task 6.2, seed 004), integrations, context ----------------
_LAMBDA_RETRY_TAIL = "    interval_seconds=20,\n    max_attempts=2,\n    backoff_rate=2.0,\n)\n#: Seed 002: Glue"
_GLUE_RETRY = "    interval_seconds=300,\n    max_attempts=2,\n    backoff_rate=2.0,\n"
ASL_FAULTS = (
    SourceFault(
        "Lambda retry interval 2 s",
        _CONSTANTS,
        "    TRANSIENT_ERROR,\n    ),\n    interval_seconds=20,",
        "    TRANSIENT_ERROR,\n    ),\n    interval_seconds=2,",
        "ASL006",
    ),
    SourceFault(
        "Lambda retry attempts 3",
        _CONSTANTS,
        _LAMBDA_RETRY_TAIL,
        _LAMBDA_RETRY_TAIL.replace("max_attempts=2", "max_attempts=3"),
        "ASL006",
    ),
    SourceFault(
        "Lambda retry backoff 1.5",
        _CONSTANTS,
        _LAMBDA_RETRY_TAIL,
        _LAMBDA_RETRY_TAIL.replace("backoff_rate=2.0", "backoff_rate=1.5"),
        "ASL006",
    ),
    SourceFault(
        "Lambda throttling not retried",
        _CONSTANTS,
        '        "Lambda.TooManyRequestsException",\n',
        "",
        "ASL006",
    ),
    SourceFault(
        "handlers' transient error not retried",
        _CONSTANTS,
        "        TRANSIENT_ERROR,\n    ),",
        "    ),",
        "ASL006",
    ),
    SourceFault(
        "Glue retry interval 30 s",
        _CONSTANTS,
        _GLUE_RETRY,
        _GLUE_RETRY.replace("=300", "=30"),
        "ASL006",
    ),
    SourceFault(
        "Glue retry attempts 1",
        _CONSTANTS,
        _GLUE_RETRY,
        _GLUE_RETRY.replace("max_attempts=2", "max_attempts=1"),
        "ASL006",
    ),
    SourceFault(
        "Glue retry backoff 1.0",
        _CONSTANTS,
        _GLUE_RETRY,
        _GLUE_RETRY.replace("backoff_rate=2.0", "backoff_rate=1.0"),
        "ASL006",
    ),
    SourceFault(
        "Glue throttling not retried",
        _CONSTANTS,
        '"Glue.ConcurrentRunsExceededException", "Glue.ThrottlingException")',
        '"Glue.ConcurrentRunsExceededException")',
        "ASL006",
    ),
    SourceFault(
        "nested execution without .sync:2",
        "asl.py",
        '"arn:aws:states:::states:startExecution.sync:2"',
        '"arn:aws:states:::states:startExecution.sync"',
        "ASL002",
    ),
    SourceFault(
        "Glue integration without .sync",
        "asl.py",
        '"arn:aws:states:::glue:startJobRun.sync"',
        '"arn:aws:states:::glue:startJobRun"',
        "ASL002",
    ),
    SourceFault(
        "execution id from the state input (legacy defect)",
        "asl.py",
        '"executionId.$": "$$.Execution.Name",',
        '"executionId.$": "$.Execution.Name",',
        "ASL009",
    ),
    SourceFault("stage payload key renamed", "asl.py", '"currentStage": step.name,', '"stage": step.name,', "ASL009"),
    *(
        SourceFault(f"Glue argument {name} renamed", "asl.py", f'"{name}', f'"{name.replace("-", "_")}', "ASL009")
        for name in (
            "--execution-id.$",
            "--input-bucket",
            "--input-key.$",
            "--output-bucket",
            "--output-key.$",
            "--current-stage",
            "--previous-stage",
        )
    ),
)

# ---- ASL010: time budgets (docs/design.md "Time budgets") -------------------------------------
# A raised stage timeout or a short configured timeoutSeconds is refused by the loader first
# (tests/templates/test_configuration.py); these faults sit behind it, where only ASL010 can see them.
BUDGET_FAULTS = (
    SourceFault(
        "Reactive machine keeps the seed's 5 h below its 43,260 s worst case",
        _CONSTANTS,
        "REACTIVE_TIMEOUT_SECONDS = 48_600",
        "REACTIVE_TIMEOUT_SECONDS = 5 * 3600",
        "ASL010",
    ),
    SourceFault(
        "stage function timeout raised past its Task's",
        "components/functions.py",
        '"Timeout": stage.timeout_seconds,',
        '"Timeout": stage.timeout_seconds * 4,',
        "ASL010",
    ),
)

# ---- ASL011 / ASL010: Distributed Maps of the sharded machines (issue 16) ----------------------
_MACHINES = "components/state_machines.py"
MAP_FAULTS = (
    SourceFault(
        "Map runs INLINE",
        "asl.py",
        '"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},',
        '"ProcessorConfig": {"Mode": "INLINE"},',
        "ASL011",
    ),
    SourceFault(
        "Map without MaxItems",
        "asl.py",
        '"ReaderConfig": {"InputType": "JSON", "MaxItems": max_items},',
        '"ReaderConfig": {"InputType": "JSON"},',
        "ASL011",
    ),
    SourceFault(
        "Map reads the previous stage's manifest, not its part list",
        "asl.py",
        "key = f\"States.Format('{EXECUTIONS_PREFIX}{{}}/{owner}/{item_list}', $$.Execution.Name)\"",
        "key = f\"States.Format('{EXECUTIONS_PREFIX}{{}}/{owner}/output.json', $$.Execution.Name)\"",
        "ASL011",
    ),
    SourceFault(
        "Map tolerates 5% failed parts",
        "asl.py",
        '"ToleratedFailureCount": 0,',
        '"ToleratedFailurePercentage": 5,',
        "ASL011",
    ),
    SourceFault(
        "Map children return their results",
        "asl.py",
        '    child["OutputPath"] = None\n',
        "",
        "ASL011",
    ),
    SourceFault(
        "machine role cannot start its Map children",
        _MACHINES,
        '        iam.allow("StartMapChildren", "state-machine", "start", [arns.state_machine(machine_name)]),\n',
        "",
        "ASL011",
    ),
    SourceFault(
        "machine role follows its machine, not its children's executions",
        _MACHINES,
        "[arns.map_run_executions(machine_name)]",
        "[arns.state_machine(machine_name)]",
        "ASL011",
    ),
    # The loader's budget check (configuration.py) counts max_parts items; the template below
    # counts candidates: 1,100 parts x 10,000 = 11,000,000 items in waves of 100, far past 72,000 s.
    SourceFault(
        "Map MaxItems counts candidates, not parts",
        "asl.py",
        "PARTS_LIST, sharding.max_parts, selector, comment)",
        "PARTS_LIST, sharding.max_parts * sharding.part_size, selector, comment)",
        "ASL010",
    ),
)

# ---- CAP001: sizing (config/environments.yaml "sizing", docs/design.md "Sizing") ----------------
SIZING_FAULTS = (
    # ETL then runs at 1,024 MB, 0.58 of a vCPU, over a shard of 64 MiB, at most 2,097,152 rows of 32
    # bytes: 2,097,152 / 7,000 x 1,769 / 1,024 = 518 s, x 1.5 = 776 > 600.
    SourceFault(
        "configured memoryMb ignored",
        "sizing.py",
        "memory_mb=own.memory_mb or stage.memory_mb,",
        "memory_mb=stage.memory_mb,",
        "CAP001",
    ),
    # ETL then keeps its catalogue 300 s for a shard of 449 s (2,097,152 / 7,000 x 1.5); Store 60 s for a
    # part of 62.5 s.
    SourceFault(
        "configured timeoutSeconds ignored",
        "sizing.py",
        "timeout_seconds=own.timeout_seconds or stage.timeout_seconds,",
        "timeout_seconds=stage.timeout_seconds,",
        "CAP001",
    ),
    # Store's Map then runs 100 children: 10,000 x 100 / 4,000 writes/s = 250 s, x 1.5 > 120.
    SourceFault(
        "a stage's own mapConcurrency ignored",
        "sizing.py",
        "return self.of_stage(stage).map_concurrency or self.map_concurrency",
        "return self.map_concurrency",
        "CAP001",
    ),
    # Filter then holds 100,000 candidates: (80 + 485) MB x 1.5 = 848 MB of its 512.
    SourceFault(
        "workflow functions told ten times the part size",
        "sizing.py",
        "variables = {PART_SIZE_ENV: str(self.part_size)}",
        "variables = {PART_SIZE_ENV: str(self.part_size * 10)}",
        "CAP001",
    ),
)

# ---- DATA / OPS / PIPE: hand-off expiry, queues, pipes -----------------------------------------
OPERATIONS_FAULTS = (
    SourceFault(
        "executions/ expire after 30 days",
        _CONSTANTS,
        "EXECUTIONS_EXPIRY_DAYS = 7",
        "EXECUTIONS_EXPIRY_DAYS = 30",
        "DATA003",
    ),
    SourceFault("maxReceiveCount 5", _CONSTANTS, "MAX_RECEIVE_COUNT = 3", "MAX_RECEIVE_COUNT = 5", "OPS004"),
    SourceFault(
        "DLQ keeps 4 days",
        _CONSTANTS,
        "DLQ_RETENTION_SECONDS = 14 * 24 * 3600",
        "DLQ_RETENTION_SECONDS = 4 * 24 * 3600",
        "OPS004",
    ),
    SourceFault(
        "pipe invocation types swapped",
        "configuration.py",
        'return "REQUEST_RESPONSE" if self.is_express else "FIRE_AND_FORGET"',
        'return "FIRE_AND_FORGET" if self.is_express else "REQUEST_RESPONSE"',
        "PIPE001",
    ),
    SourceFault(
        "Express pipe role lacks StartSyncExecution (legacy defect)",
        _WORKFLOW,
        'start = "start-sync" if workflow.is_express else "start"',
        'start = "start"',
        "PIPE001",
    ),
    SourceFault(
        "pipe role cannot delete queue messages",
        "iam.py",
        "Grant((sqs.ReceiveMessage, sqs.DeleteMessage, sqs.GetQueueAttributes))",
        "Grant((sqs.ReceiveMessage, sqs.GetQueueAttributes))",
        "PIPE001",
    ),
)

# ---- IAM: one action per role kind ------------------------------------------------------------
IAM_FAULTS = (
    SourceFault(
        "Lambda role cannot write its logs",
        "components/functions.py",
        'iam.allow("WriteOwnLogGroup", "log-group", "write", [GetAtt(group, "Arn")])',
        'iam.allow("WriteOwnLogGroup", "bucket", "list", [GetAtt(group, "Arn")])',
        "IAM005",
    ),
    SourceFault(
        "workflow machine role cannot invoke its stages",
        _WORKFLOW,
        'iam.allow("InvokeStages", "function", "invoke", invoked, by_shape=True)',
        'iam.allow("InvokeStages", "state-machine", "start", invoked, by_shape=True)',
        "IAM005",
    ),
    SourceFault(
        "batch ingestion role cannot invoke its stages",
        _BATCH,
        'iam.allow("InvokeStages", "function", "invoke", list(arns.values()))',
        'iam.allow("InvokeStages", "state-machine", "start", list(arns.values()))',
        "IAM005",
    ),
    SourceFault(
        "machine role cannot follow its Glue runs (.sync)",
        "iam.py",
        "Grant((glue.StartJobRun, glue.GetJobRun, glue.GetJobRuns, glue.BatchStopJobRun))",
        "Grant((glue.StartJobRun, glue.GetJobRuns, glue.BatchStopJobRun))",
        "IAM005",
    ),
    SourceFault(
        "Reactive machine role cannot follow the nested execution (.sync:2)",
        "iam.py",
        "Grant((states.DescribeExecution, states.StopExecution))",
        "Grant((states.StopExecution,))",
        "IAM005",
    ),
    SourceFault(
        "Glue job role cannot write its logs",
        "components/workflow.py",
        'iam.allow("GlueLogs", "log-group", "write",',
        'iam.allow("GlueLogs", "objects", "read",',
        "IAM005",
    ),
    SourceFault(
        "EventBridge role cannot start the machine",
        "components/events.py",
        'iam.allow("StartExecution", "state-machine", "start", machine_arns)',
        'iam.allow("StartExecution", "executions", "follow", machine_arns)',
        "IAM005",
    ),
    SourceFault(
        "Glue metrics grant's namespace a pattern, not an exact match",
        "components/workflow.py",
        "from awacs.aws import ArnEquals, Condition, StringEquals",
        "from awacs.aws import ArnEquals, Condition, StringLike as StringEquals",
        "IAM002",
    ),
    SourceFault(
        "Lambda log grant widened to Resource '*'",
        "components/functions.py",
        'iam.allow("WriteOwnLogGroup", "log-group", "write", [GetAtt(group, "Arn")])',
        'iam.allow("WriteOwnLogGroup", "log-group", "write", ["*"])',
        "IAM002",
    ),
)

# ---- NAME ---------------------------------------------------------------------------------------
NAMING_FAULTS = (
    SourceFault(
        "workflow queue name off the pattern",
        "naming.py",
        'f"ceap-workflow-{workflow}-{suffix}"',
        'f"ceap-{workflow}-{suffix}"',
        "NAME001",
    ),
    SourceFault(
        "batch bucket name not qualified by its stack",
        "naming.py",
        'f"{stack_name.lower()}-batch-${{AWS::AccountId}}-${{AWS::Region}}"',
        'f"ceap-batch-ingestion-{self.env}-${{AWS::AccountId}}-${{AWS::Region}}"',
        "COL001",
    ),
)

SOURCE_FAULTS: tuple[SourceFault, ...] = (
    *LEGACY_ID_FAULTS,
    *ASL_FAULTS,
    *BUDGET_FAULTS,
    *MAP_FAULTS,
    *SIZING_FAULTS,
    *OPERATIONS_FAULTS,
    *IAM_FAULTS,
    *NAMING_FAULTS,
)
