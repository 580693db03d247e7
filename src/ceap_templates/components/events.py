"""EventBridge plumbing shared by the schedule, failure and customer-event rules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from awacs.aws import ArnEquals, Condition
from troposphere import GetAtt, Ref, events, sqs
from troposphere import iam as iam_resources

from ceap_templates import iam
from ceap_templates.components.common import dead_letter_queue
from ceap_templates.references import Scope

#: EventBridge retries a failed delivery this long, then parks the event in the DLQ.
TARGET_RETRY = events.RetryPolicy(MaximumRetryAttempts=8, MaximumEventAgeInSeconds=3600)
EVENTS_SERVICE = "events.amazonaws.com"


def target_dead_letter_queue(scope: Scope, prefix: str, rules: Sequence[events.Rule]) -> sqs.Queue:
    """A DLQ for rule targets, writable by EventBridge only on behalf of ``rules``."""
    queue = dead_letter_queue(scope, f"{prefix}DeadLetterQueue")
    from_rules = Condition(ArnEquals("aws:SourceArn", [GetAtt(rule, "Arn") for rule in rules]))
    scope.add(
        sqs.QueuePolicy(
            f"{prefix}DeadLetterQueuePolicy",
            Queues=[Ref(queue)],
            PolicyDocument=iam.policy(
                [
                    iam.allow(
                        "EventBridgeDeadLetters",
                        "queue",
                        "send",
                        [GetAtt(queue, "Arn")],
                        service=EVENTS_SERVICE,
                        condition=from_rules,
                    )
                ]
            ),
        )
    )
    return queue


def start_execution_role(scope: Scope, title: str, machine_arns: Sequence[Any]) -> iam_resources.Role:
    """The role EventBridge assumes to start exactly these state machines."""
    role: iam_resources.Role = scope.add(
        iam.service_role(
            title,
            EVENTS_SERVICE,
            [iam.allow("StartExecution", "state-machine", "start", machine_arns)],
            policy_name="start-execution",
            source_account_condition=True,
        )
    )
    return role


def target(target_id: str, arn: Any, dead_letters: sqs.Queue, **extra: Any) -> events.Target:
    """A rule target that is retried, then parks undeliverable events in ``dead_letters``."""
    return events.Target(
        Id=target_id,
        Arn=arn,
        DeadLetterConfig=events.DeadLetterConfig(Arn=GetAtt(dead_letters, "Arn")),
        RetryPolicy=TARGET_RETRY,
        **extra,
    )


def execution_failed_pattern(machine_arn: Any) -> dict[str, Any]:
    """Executions of one machine that ended FAILED, TIMED_OUT or ABORTED (seed 002 Req. 8.7)."""
    return {
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {"status": ["FAILED", "TIMED_OUT", "ABORTED"], "stateMachineArn": [machine_arn]},
    }
