"""Observability and failure handling: log retention, tracing, logging, DLQs, failure alerts."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ceap_templates.validation.model import Build, Stack
from ceap_templates.validation.policy import DLQ_RETENTION_SECONDS, MAX_RECEIVE_COUNT
from ceap_templates.validation.rule import Hit, Rule, hit
from ceap_templates.validation.rules._util import as_list, props, target, target_of_type

LOG_GROUP = "AWS::Logs::LogGroup"
QUEUE = "AWS::SQS::Queue"
MACHINE = "AWS::StepFunctions::StateMachine"
FUNCTION = "AWS::Lambda::Function"
#: Services that invoke Lambda asynchronously: failed events need a DLQ.
ASYNC_INVOKERS = {"events.amazonaws.com", "sns.amazonaws.com", "s3.amazonaws.com"}
FAILED_STATUSES = {"FAILED", "TIMED_OUT", "ABORTED"}


# ---- OPS001 ---------------------------------------------------------------------------------
def _log_group_named(stack: Stack, name: Any) -> bool:
    return any(props(g).get("LogGroupName") == f"/aws/lambda/{name}" for _, g in stack.of_type(LOG_GROUP))


def check_log_retention(build: Build) -> Iterator[Hit]:
    for stack in build.stacks():
        for logical_id, group in stack.of_type(LOG_GROUP):
            days = props(group).get("RetentionInDays")
            if not isinstance(days, int) or isinstance(days, bool) or days <= 0:
                yield hit(stack, logical_id, f"RetentionInDays is {days!r}; logs would be kept forever")
        for logical_id, function in stack.of_type(FUNCTION):
            p = props(function)
            explicit = target_of_type(stack, (p.get("LoggingConfig") or {}).get("LogGroup"), LOG_GROUP)
            if explicit is None and not _log_group_named(stack, p.get("FunctionName")):
                yield hit(
                    stack, logical_id, "logs to a group Lambda creates without retention; set LoggingConfig.LogGroup"
                )
        for logical_id, pipe in stack.of_type("AWS::Pipes::Pipe"):
            destination = (props(pipe).get("LogConfiguration") or {}).get("CloudwatchLogsLogDestination")
            if destination and target_of_type(stack, destination.get("LogGroupArn"), LOG_GROUP) is None:
                yield hit(stack, logical_id, "pipe logs to a group this stack does not define (no retention)")


# ---- OPS002 ---------------------------------------------------------------------------------
def check_tracing(build: Build) -> Iterator[Hit]:
    for stack in build.stacks():
        for logical_id, function in stack.of_type(FUNCTION):
            mode = (props(function).get("TracingConfig") or {}).get("Mode")
            if mode != "Active":
                yield hit(stack, logical_id, f"TracingConfig.Mode is {mode!r}; expected 'Active' (X-Ray)")
        for logical_id, machine in stack.of_type(MACHINE):
            if (props(machine).get("TracingConfiguration") or {}).get("Enabled") is not True:
                yield hit(stack, logical_id, "TracingConfiguration.Enabled is not true (X-Ray)")


# ---- OPS003 ---------------------------------------------------------------------------------
def check_machine_logging(build: Build) -> Iterator[Hit]:
    for stack in build.stacks():
        for logical_id, machine in stack.of_type(MACHINE):
            logging = props(machine).get("LoggingConfiguration") or {}
            if logging.get("Level") != "ALL" or logging.get("IncludeExecutionData") is not True:
                yield hit(
                    stack,
                    logical_id,
                    f"logging Level {logging.get('Level')!r}, IncludeExecutionData "
                    f"{logging.get('IncludeExecutionData')!r}; expected ALL with execution data",
                )
            destinations = as_list(logging.get("Destinations"))
            groups = [
                target_of_type(stack, (d.get("CloudWatchLogsLogGroup") or {}).get("LogGroupArn"), LOG_GROUP)
                for d in destinations
                if isinstance(d, dict)
            ]
            if not groups or None in groups:
                yield hit(stack, logical_id, "logs to no log group of this stack (explicit group with retention)")


# ---- OPS004 ---------------------------------------------------------------------------------
def dead_letter_queues(stack: Stack) -> dict[str, str]:
    """Queue logical id -> what it catches (``redrive`` for queue redrive, else ``target``)."""
    found: dict[str, str] = {}
    for _, queue in stack.of_type(QUEUE):
        dlq = target((props(queue).get("RedrivePolicy") or {}).get("deadLetterTargetArn"))
        if dlq:
            found[dlq] = "redrive"
    for _, rule in stack.of_type("AWS::Events::Rule"):
        for t in as_list(props(rule).get("Targets")):
            dlq = target((t.get("DeadLetterConfig") or {}).get("Arn"))
            if dlq:
                found.setdefault(dlq, "target")
    for _, function in stack.of_type(FUNCTION):
        dlq = target((props(function).get("DeadLetterConfig") or {}).get("TargetArn"))
        if dlq:
            found.setdefault(dlq, "target")
    return found


def _async_functions(stack: Stack) -> dict[str, str]:
    """Functions of ``stack`` a service invokes asynchronously -> the permission granting it."""
    found: dict[str, str] = {}
    for logical_id, permission in stack.of_type("AWS::Lambda::Permission"):
        p = props(permission)
        function = target_of_type(stack, p.get("FunctionName"), FUNCTION)
        if function and p.get("Principal") in ASYNC_INVOKERS:
            found[function[0]] = logical_id
    return found


def check_dead_letters(build: Build) -> Iterator[Hit]:
    for stack in build.stacks():
        dlqs = dead_letter_queues(stack)
        for logical_id, queue in stack.of_type(QUEUE):
            p = props(queue)
            if logical_id in dlqs:
                if p.get("MessageRetentionPeriod") != DLQ_RETENTION_SECONDS:
                    yield hit(
                        stack,
                        logical_id,
                        f"dead-letter queue keeps messages {p.get('MessageRetentionPeriod')!r} s; "
                        f"expected {DLQ_RETENTION_SECONDS}",
                    )
                continue
            redrive = p.get("RedrivePolicy") or {}
            if target_of_type(stack, redrive.get("deadLetterTargetArn"), QUEUE) is None:
                yield hit(stack, logical_id, "queue without a RedrivePolicy to a dead-letter queue of this stack")
            elif redrive.get("maxReceiveCount") != MAX_RECEIVE_COUNT:
                yield hit(
                    stack,
                    logical_id,
                    f"maxReceiveCount is {redrive.get('maxReceiveCount')!r}; expected {MAX_RECEIVE_COUNT}",
                )
        for logical_id, rule in stack.of_type("AWS::Events::Rule"):
            for t in as_list(props(rule).get("Targets")):
                if target_of_type(stack, (t.get("DeadLetterConfig") or {}).get("Arn"), QUEUE) is None:
                    yield hit(
                        stack, logical_id, f"target {t.get('Id')!r} has no DeadLetterConfig to a queue of this stack"
                    )
        for function_id, permission in _async_functions(stack).items():
            p = props(stack.resources[function_id])
            if target_of_type(stack, (p.get("DeadLetterConfig") or {}).get("TargetArn"), QUEUE) is None:
                yield hit(stack, function_id, f"invoked asynchronously ({permission}) without a DeadLetterConfig")


# ---- OPS005 ---------------------------------------------------------------------------------
def _watches(rule: Mapping[str, Any], machine_id: str) -> bool:
    p = props(rule)
    pattern = p.get("EventPattern") or {}
    detail = pattern.get("detail") or {}
    return (
        p.get("State", "ENABLED") == "ENABLED"
        and "aws.states" in as_list(pattern.get("source"))
        and set(as_list(detail.get("status"))) >= FAILED_STATUSES
        and any(target(arn) == machine_id for arn in as_list(detail.get("stateMachineArn")))
        and bool(as_list(p.get("Targets")))
    )


def check_failure_detection(build: Build) -> Iterator[Hit]:
    """Every STANDARD machine alerts on FAILED/TIMED_OUT/ABORTED (Express ones emit no such events)."""
    for stack in build.stacks():
        for logical_id, machine in stack.of_type(MACHINE):
            if props(machine).get("StateMachineType", "STANDARD") != "STANDARD":
                continue
            if not any(_watches(rule, logical_id) for _, rule in stack.of_type("AWS::Events::Rule")):
                yield hit(
                    stack, logical_id, "no enabled rule with a target on its FAILED, TIMED_OUT and ABORTED executions"
                )


# ---- OPS006 ---------------------------------------------------------------------------------
def _alarms_on(stack: Stack, queue_id: str) -> bool:
    for _, alarm in stack.of_type("AWS::CloudWatch::Alarm"):
        p = props(alarm)
        dimensions = [d for d in as_list(p.get("Dimensions")) if d.get("Name") == "QueueName"]
        if (
            p.get("Namespace") == "AWS/SQS"
            and p.get("MetricName") == "ApproximateNumberOfMessagesVisible"
            and any(target(d.get("Value")) == queue_id for d in dimensions)
            and p.get("ComparisonOperator") == "GreaterThanThreshold"
            and p.get("Threshold") == 0
            and as_list(p.get("AlarmActions"))
            # Recovery goes where the alarm went (issue 14 item 8).
            and as_list(p.get("OKActions")) == as_list(p.get("AlarmActions"))
        ):
            return True
    return False


def check_dlq_alarms(build: Build) -> Iterator[Hit]:
    for stack in build.stacks():
        for queue_id in sorted(dead_letter_queues(stack)):
            if not _alarms_on(stack, queue_id):
                yield hit(stack, queue_id, "no alarm on its depth > 0 notifying ALARM and OK to the same actions")


RULES = (
    Rule(
        "OPS001",
        "every log group has a retention; functions and pipes log to an explicit group of their stack",
        "docs/design.md 4.1, 4.3; docs/legacy-system.md (Custom::LogRetention replaced by explicit groups); cfn-lint "
        "I3013",
        check_log_retention,
        per_template=True,
    ),
    Rule(
        "OPS002",
        "X-Ray tracing on every Lambda function (Active) and state machine",
        "docs/design.md 4.3, 6; seed 002 Property 35",
        check_tracing,
        per_template=True,
    ),
    Rule(
        "OPS003",
        "every state machine logs level ALL with execution data to a log group of its stack",
        "docs/design.md 4.3, 6; seed 002 Property 35",
        check_machine_logging,
        per_template=True,
    ),
    Rule(
        "OPS004",
        "queues redrive to a DLQ after 3 receives; DLQs keep 14 days; rule targets and async-invoked functions "
        "have DLQs",
        "docs/design.md 4.3; seed 002 Property 32; policy.MAX_RECEIVE_COUNT, DLQ_RETENTION_SECONDS",
        check_dead_letters,
        per_template=True,
    ),
    Rule(
        "OPS005",
        "every STANDARD state machine has a rule alerting on FAILED/TIMED_OUT/ABORTED executions",
        "docs/design.md 4.1, 4.3; seed 002 Property 34",
        check_failure_detection,
        per_template=True,
    ),
    Rule(
        "OPS006",
        "every dead-letter queue (redrive, event target, async invoke) has an alarm on depth > 0 with an action, "
        "and OK actions equal to it (recovery is notified)",
        "docs/design.md 4.3",
        check_dlq_alarms,
        per_template=True,
    ),
)
