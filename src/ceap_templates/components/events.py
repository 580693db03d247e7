"""EventBridge plumbing shared by the schedule, failure and customer-event rules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from awacs import sqs as sqs_actions
from awacs import states as states_actions
from awacs.aws import Allow, ArnEquals, Condition, Policy, Principal, Statement
from troposphere import GetAtt, Ref, events, sqs

from ceap_templates import iam
from ceap_templates.components.common import dead_letter_queue
from ceap_templates.references import Scope

#: EventBridge retries a failed delivery this long, then parks the event in the DLQ.
TARGET_RETRY = events.RetryPolicy(MaximumRetryAttempts=8, MaximumEventAgeInSeconds=3600)


def target_dead_letter_queue(scope: Scope, prefix: str, rules: Sequence[Any]) -> sqs.Queue:
    """A DLQ for rule targets, writable by EventBridge only on behalf of ``rules``."""
    queue = dead_letter_queue(scope, f"{prefix}DeadLetterQueue")
    scope.add(
        sqs.QueuePolicy(
            f"{prefix}DeadLetterQueuePolicy",
            Queues=[Ref(queue)],
            PolicyDocument=Policy(
                Version="2012-10-17",
                Statement=[
                    Statement(
                        Sid="EventBridgeDeadLetters",
                        Effect=Allow,
                        Principal=Principal("Service", ["events.amazonaws.com"]),
                        Action=[sqs_actions.SendMessage],
                        Resource=[GetAtt(queue, "Arn")],
                        Condition=Condition(ArnEquals("aws:SourceArn", [GetAtt(rule, "Arn") for rule in rules])),
                    )
                ],
            ),
        )
    )
    return queue


def start_execution_role(scope: Scope, title: str, machine_arns: Sequence[Any]) -> Any:
    """The role EventBridge assumes to start exactly these state machines."""
    return scope.add(
        iam.service_role(
            title,
            "events.amazonaws.com",
            [
                Statement(
                    Sid="StartExecution",
                    Effect=Allow,
                    Action=[states_actions.StartExecution],
                    Resource=list(machine_arns),
                )
            ],
            policy_name="start-execution",
            source_account_condition=True,
        )
    )


def dead_letter(queue: sqs.Queue) -> events.DeadLetterConfig:
    return events.DeadLetterConfig(Arn=GetAtt(queue, "Arn"))


def execution_failed_pattern(machine_arn: Any) -> dict[str, Any]:
    """Executions of one machine that ended FAILED, TIMED_OUT or ABORTED (seed 002 Req. 8.7)."""
    return {
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {"status": ["FAILED", "TIMED_OUT", "ABORTED"], "stateMachineArn": [machine_arn]},
    }
