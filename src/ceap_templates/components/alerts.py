"""Alerting: a KMS-encrypted SNS topic that EventBridge and CloudWatch may publish to."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from awacs import kms as kms_actions
from awacs import sns as sns_actions
from awacs.aws import Allow, ArnEquals, ArnLike, Condition, Policy, Principal, Statement
from troposphere import GetAtt, Ref, Sub, cloudwatch, kms, sns, sqs

from ceap_templates.configuration import Environment
from ceap_templates.references import Scope


def alert_topic(scope: Scope, env: Environment, prefix: str, publisher_arns: Sequence[Any]) -> sns.Topic:
    """Topic + customer-managed key (the AWS-managed SNS key cannot be used by EventBridge).

    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-sns-topic.html
    """
    key = scope.add(
        kms.Key(
            f"{prefix}AlertsKey",
            Description=Sub("Encrypts the alert topic of ${AWS::StackName}"),
            EnableKeyRotation=True,
            PendingWindowInDays=7,
            KeyPolicy=Policy(
                Version="2012-10-17",
                Statement=[
                    Statement(
                        Sid="AccountAdministers",
                        Effect=Allow,
                        Principal=Principal("AWS", Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")),
                        Action=[kms_actions.Action("*")],
                        Resource=["*"],
                    ),
                    Statement(
                        Sid="ServicesPublishEncrypted",
                        Effect=Allow,
                        Principal=Principal("Service", ["events.amazonaws.com", "cloudwatch.amazonaws.com"]),
                        Action=[kms_actions.Decrypt, kms_actions.GenerateDataKey],
                        Resource=["*"],
                    ),
                ],
            ),
            DeletionPolicy="Delete",
            UpdateReplacePolicy="Delete",
        )
    )
    topic = scope.add(sns.Topic(f"{prefix}AlertsTopic", KmsMasterKeyId=Ref(key)))
    scope.add(
        sns.TopicPolicy(
            f"{prefix}AlertsTopicPolicy",
            Topics=[Ref(topic)],
            PolicyDocument=Policy(
                Version="2012-10-17",
                Statement=[
                    *_eventbridge_publishes(topic, publisher_arns),
                    Statement(
                        Sid="CloudWatchAlarmsPublish",
                        Effect=Allow,
                        Principal=Principal("Service", ["cloudwatch.amazonaws.com"]),
                        Action=[sns_actions.Publish],
                        Resource=[Ref(topic)],
                        Condition=Condition(
                            ArnLike(
                                "aws:SourceArn",
                                Sub("arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*"),
                            )
                        ),
                    ),
                ],
            ),
        )
    )
    if env.alarm_email:
        scope.add(
            sns.SubscriptionResource(
                f"{prefix}AlertsEmail", TopicArn=Ref(topic), Protocol="email", Endpoint=env.alarm_email
            )
        )
    return topic


def _eventbridge_publishes(topic: sns.Topic, publisher_arns: Sequence[Any]) -> list[Statement]:
    """EventBridge may publish on behalf of exactly these rules (none: no statement)."""
    if not publisher_arns:
        return []
    return [
        Statement(
            Sid="EventBridgePublishes",
            Effect=Allow,
            Principal=Principal("Service", ["events.amazonaws.com"]),
            Action=[sns_actions.Publish],
            Resource=[Ref(topic)],
            Condition=Condition(ArnEquals("aws:SourceArn", list(publisher_arns))),
        )
    ]


def dead_letter_alarm(scope: Scope, title: str, queue: sqs.Queue, topic: sns.Topic, description: str) -> None:
    """Alarm as soon as one message waits in ``queue`` (seed 002 Req. 8.5: DLQ depth > 0)."""
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
        )
    )
