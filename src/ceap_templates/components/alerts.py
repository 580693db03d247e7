"""Failure alerts: failed executions -> EventBridge rule -> KMS-encrypted SNS topic, with alarmed DLQs.

Written once for every state machine that reports failures (batch ingestion, serving, workflows).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from awacs.aws import ArnEquals, ArnLike, Condition, Principal, StringEquals
from troposphere import GetAtt, Ref, Sub, cloudwatch, events, kms, sns, sqs

from ceap_templates import arns, iam
from ceap_templates.components.events import (
    EVENTS_SERVICE,
    execution_failed_pattern,
    target,
    target_dead_letter_queue,
)
from ceap_templates.configuration import Environment
from ceap_templates.references import Scope

CLOUDWATCH_SERVICE = "cloudwatch.amazonaws.com"


@dataclass(frozen=True)
class AlertNames:
    """Titles and texts of one machine's failure alerts (its logical IDs are deployed: keep them)."""

    #: Prefix of the topic, its key and policy (``{prefix}AlertsTopic``).
    prefix: str
    rule: str
    rule_description: str
    #: Prefix of the target DLQ (``{dead_letters}DeadLetterQueue``) and its alarm.
    dead_letters: str
    dead_letters_description: str


@dataclass(frozen=True)
class FailureAlerts:
    """The topic alarms publish to, and the DLQ of the rules' targets."""

    topic: sns.Topic
    dead_letters: sqs.Queue


def failure_alerts(
    scope: Scope,
    env: Environment,
    names: AlertNames,
    machine_arn: Any,
    other_rules: Sequence[events.Rule] = (),
) -> FailureAlerts:
    """Alert on executions of ``machine_arn`` that failed, timed out or were aborted (seed 002 Req. 8.7).

    The rule's target is retried and parks undeliverable alerts in the DLQ, which also takes the
    undeliverable events of ``other_rules`` (their targets are the caller's) and alarms on the topic.
    """
    rule = events.Rule(
        names.rule,
        Description=names.rule_description,
        EventPattern=execution_failed_pattern(machine_arn),
        State="ENABLED",
    )
    queue = target_dead_letter_queue(scope, names.dead_letters, [*other_rules, rule])
    topic = alert_topic(scope, env, names.prefix, [GetAtt(rule, "Arn")])
    rule.Targets = [target("alerts", Ref(topic), queue)]
    scope.add(rule)
    alarm = f"{names.dead_letters}DeadLetterQueueAlarm"
    dead_letter_alarm(scope, alarm, queue, topic, names.dead_letters_description)
    return FailureAlerts(topic, queue)


def alert_topic(scope: Scope, env: Environment, prefix: str, publisher_arns: Sequence[Any]) -> sns.Topic:
    """Topic + customer-managed key (the AWS-managed SNS key cannot be used by EventBridge).

    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-sns-topic.html
    """
    key = scope.discard(
        kms.Key(
            f"{prefix}AlertsKey",
            Description=Sub("Encrypts the alert topic of ${AWS::StackName}"),
            EnableKeyRotation=True,
            PendingWindowInDays=7,
            KeyPolicy=iam.policy(
                [
                    iam.allow(
                        "AccountAdministers", "key", "administer", principal=Principal("AWS", arns.account_root())
                    ),
                    # Confused deputy: CloudWatch may use the key only for alarms of this account.
                    iam.allow(
                        "CloudWatchAlarmsPublishEncrypted",
                        "key",
                        "encrypt",
                        service=CLOUDWATCH_SERVICE,
                        condition=Condition(
                            [
                                StringEquals("aws:SourceAccount", Sub("${AWS::AccountId}")),
                                ArnLike("aws:SourceArn", arns.alarms("*")),
                            ]
                        ),
                    ),
                    # No aws:SourceAccount / aws:SourceArn here: AWS does not support them in a key
                    # policy for EventBridge publishing to an encrypted topic (the request carries
                    # neither, so every alert would be dropped). The topic policy pins the rules.
                    # https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html
                    iam.allow("EventBridgePublishesEncrypted", "key", "encrypt", service=EVENTS_SERVICE),
                ]
            ),
        )
    )
    topic = scope.add(sns.Topic(f"{prefix}AlertsTopic", KmsMasterKeyId=Ref(key)))
    publishers = []
    if publisher_arns:
        # EventBridge may publish on behalf of exactly these rules.
        from_rules = Condition(ArnEquals("aws:SourceArn", list(publisher_arns)))
        publishers.append(
            iam.allow(
                "EventBridgePublishes", "topic", "publish", [Ref(topic)], service=EVENTS_SERVICE, condition=from_rules
            )
        )
    from_alarms = Condition(ArnLike("aws:SourceArn", arns.alarms("*")))
    publishers.append(
        iam.allow(
            "CloudWatchAlarmsPublish",
            "topic",
            "publish",
            [Ref(topic)],
            service=CLOUDWATCH_SERVICE,
            condition=from_alarms,
        )
    )
    scope.add(sns.TopicPolicy(f"{prefix}AlertsTopicPolicy", Topics=[Ref(topic)], PolicyDocument=iam.policy(publishers)))
    if env.alarm_email:
        scope.add(
            sns.SubscriptionResource(
                f"{prefix}AlertsEmail", TopicArn=Ref(topic), Protocol="email", Endpoint=env.alarm_email
            )
        )
    return topic


def dead_letter_alarm(scope: Scope, title: str, queue: sqs.Queue, topic: sns.Topic, description: str) -> None:
    """Alarm as soon as one message waits in ``queue`` (seed 002 Req. 8.5: DLQ depth > 0), and say so
    again when it is empty: CloudWatch notifies on state changes only, so the alarm stays in ALARM,
    silent, while messages wait (README "Alerts")."""
    scope.add(
        cloudwatch.Alarm(
            title,
            AlarmDescription=description,
            Namespace="AWS/SQS",
            MetricName="ApproximateNumberOfMessagesVisible",
            Dimensions=[cloudwatch.MetricDimension(Name="QueueName", Value=GetAtt(queue, "QueueName"))],
            Statistic="Maximum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
            TreatMissingData="notBreaching",
            AlarmActions=[Ref(topic)],
            # On-call also hears when the queue is empty again (ALARM -> OK), not only the start.
            OKActions=[Ref(topic)],
        )
    )
