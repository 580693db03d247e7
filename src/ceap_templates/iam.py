"""Least-privilege IAM as data: (resource kind, access level) -> actions and ARN shapes (awacs).

Components ask for a grant (:func:`allow`, :func:`prefix_access`) and never write a statement
themselves, so every action the platform grants is listed in :data:`GRANTS`. ``Resource: "*"``
appears only for the grants AWS defines without resource scoping (:data:`UNSCOPED_ACTIONS`:
X-Ray segments and the log-delivery API of Step Functions).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from awacs import awslambda as lambda_
from awacs import cloudwatch, dynamodb, events, glue, kms, logs, s3, sns, sqs, states, xray
from awacs.aws import Action, Allow, Bool, Condition, Deny, Policy, Principal, Statement, StringEquals, StringLike
from troposphere import Sub, iam

from ceap_templates import arns

#: Turns the ARN a component names into the ARNs a statement lists.
Shape = Callable[[Any], Any]


def _itself(arn: Any) -> Any:
    return arn


@dataclass(frozen=True)
class Grant:
    """The actions of one access level and the ARN shapes each named resource expands to."""

    actions: tuple[Action, ...]
    shapes: tuple[Shape, ...] = (_itself,)
    #: AWS allows no resource scoping for these actions: the statement names ``*``.
    unscoped: bool = False
    #: Condition key the statement must carry instead of a resource (its value narrows the grant).
    condition_key: str | None = None


#: DynamoDB access levels used by the stages (docs/legacy-system.md "Functions", narrowed).
_TABLE_ACCESS: Mapping[str, tuple[Action, ...]] = {
    "read": (dynamodb.GetItem, dynamodb.Query),
    "get": (dynamodb.GetItem,),
    "cache": (dynamodb.GetItem, dynamodb.PutItem, dynamodb.BatchGetItem),
    "write": (dynamodb.BatchWriteItem, dynamodb.PutItem),
    "dedup": (dynamodb.PutItem,),
}


def _tables() -> dict[tuple[str, str], Grant]:
    """A Query on a table with GSIs also needs ``/index/*``; other access stays on the table."""
    grants: dict[tuple[str, str], Grant] = {}
    for access, actions in _TABLE_ACCESS.items():
        grants[("table", access)] = Grant(actions)
        queries = dynamodb.Query in actions
        grants[("indexed-table", access)] = Grant(actions, (_itself, arns.table_indexes) if queries else (_itself,))
    return grants


GRANTS: Mapping[tuple[str, str], Grant] = MappingProxyType(
    {
        **_tables(),
        ("objects", "read"): Grant((s3.GetObject,)),
        ("objects", "write"): Grant((s3.GetObject, s3.PutObject)),
        # Spark's S3 committer renames by copy + delete.
        ("objects", "delete"): Grant((s3.DeleteObject,)),
        ("bucket", "list"): Grant((s3.ListBucket,)),
        ("queue", "send"): Grant((sqs.SendMessage,)),
        ("queue", "consume"): Grant((sqs.ReceiveMessage, sqs.DeleteMessage, sqs.GetQueueAttributes)),
        ("topic", "publish"): Grant((sns.Publish,)),
        ("key", "administer"): Grant((kms.Action("*"),), unscoped=True),
        ("key", "encrypt"): Grant((kms.Decrypt, kms.GenerateDataKey), unscoped=True),
        ("function", "invoke"): Grant((lambda_.InvokeFunction,), (_itself, arns.function_versions)),
        ("state-machine", "start"): Grant((states.StartExecution,)),
        ("state-machine", "start-sync"): Grant((states.StartSyncExecution,)),
        ("executions", "follow"): Grant((states.DescribeExecution, states.StopExecution)),
        ("glue-job", "run"): Grant((glue.StartJobRun, glue.GetJobRun, glue.GetJobRuns, glue.BatchStopJobRun)),
        ("event-bus", "put"): Grant((events.PutEvents,)),
        # `.sync:2` waits through a rule Step Functions manages (AWS docs, "Run a Job (.sync)").
        ("managed-rule", "manage"): Grant((events.PutTargets, events.PutRule, events.DescribeRule)),
        ("log-group", "write"): Grant((logs.CreateLogStream, logs.PutLogEvents)),
        # Step Functions logging goes through the log-delivery API, which takes no resource.
        ("log-delivery", "manage"): Grant(
            (
                logs.CreateLogDelivery,
                logs.GetLogDelivery,
                logs.UpdateLogDelivery,
                logs.DeleteLogDelivery,
                logs.ListLogDeliveries,
                logs.PutResourcePolicy,
                logs.DescribeResourcePolicies,
                logs.DescribeLogGroups,
            ),
            unscoped=True,
        ),
        # PutMetricData has no resource type; the namespace condition is its only scope (AWS Service
        # Authorization Reference, CloudWatch: condition key cloudwatch:namespace).
        ("metrics", "put"): Grant((cloudwatch.PutMetricData,), unscoped=True, condition_key="cloudwatch:namespace"),
        ("xray", "trace"): Grant(
            (xray.PutTraceSegments, xray.PutTelemetryRecords, xray.GetSamplingRules, xray.GetSamplingTargets),
            unscoped=True,
        ),
    }
)

#: Identity-policy actions AWS does not allow to scope to a resource (key policies aside).
UNSCOPED_ACTIONS = frozenset(
    action.JSONrepr()
    for (kind, _), grant in GRANTS.items()
    if grant.unscoped and kind != "key" and grant.condition_key is None
    for action in grant.actions
)


def allow(
    sid: str,
    kind: str,
    access: str,
    resources: Sequence[Any] = (),
    *,
    service: str | Sequence[str] | None = None,
    principal: Principal | None = None,
    condition: Condition | None = None,
    by_shape: bool = False,
) -> Statement:
    """The statement granting ``access`` on resources of ``kind`` (each expanded by its shapes).

    ``service`` (or ``principal``) makes it a resource-policy statement for that principal.
    ``by_shape`` lists all resources in one shape, then in the next (the order the workflow
    stacks have always been deployed with; IAM itself ignores the order).
    """
    grant = GRANTS[(kind, access)]
    if grant.condition_key is not None and grant.condition_key not in str(condition and condition.JSONrepr()):
        raise ValueError(f"grant {kind}/{access} needs a {grant.condition_key} condition")
    if grant.unscoped:
        listed: list[Any] = ["*"]
    elif by_shape:
        listed = [shape(arn) for shape in grant.shapes for arn in resources]
    else:
        listed = [shape(arn) for arn in resources for shape in grant.shapes]
    extra: dict[str, Any] = {}
    if service is not None:
        extra["Principal"] = Principal("Service", [service] if isinstance(service, str) else list(service))
    elif principal is not None:
        extra["Principal"] = principal
    if condition is not None:
        extra["Condition"] = condition
    return Statement(Sid=sid, Effect=Allow, Action=list(grant.actions), Resource=listed, **extra)


def prefix_access(sid: str, bucket_arn: Any, prefixes: Sequence[str], access: str) -> list[Statement]:
    """Object ``access`` under ``prefixes`` only, and listing restricted to the same prefixes."""
    return [
        allow(f"{sid}Objects", "objects", access, [arns.objects_under(bucket_arn, p) for p in prefixes]),
        allow(
            f"{sid}List",
            "bucket",
            "list",
            [bucket_arn],
            condition=Condition(StringLike("s3:prefix", [f"{prefix}*" for prefix in prefixes])),
        ),
    ]


def deny_insecure_transport(sid: str, resources: Sequence[Any]) -> Statement:
    """Refuse every request on ``resources`` that does not use TLS (bucket policies)."""
    return Statement(
        Sid=sid,
        Effect=Deny,
        Principal=Principal("*"),
        Action=[s3.Action("*")],
        Resource=list(resources),
        Condition=Condition(Bool("aws:SecureTransport", "false")),
    )


def policy(statements: Iterable[Statement]) -> Policy:
    return Policy(Version="2012-10-17", Statement=list(statements))


def service_role(
    title: str,
    service: str,
    statements: Iterable[Statement],
    *,
    policy_name: str,
    source_account_condition: bool = False,
) -> iam.Role:
    """A role assumable by one AWS service, with one inline least-privilege policy.

    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-iam-role.html
    """
    trust_condition = (
        Condition([StringEquals("aws:SourceAccount", Sub("${AWS::AccountId}"))]) if source_account_condition else None
    )
    trust_statement = Statement(
        Effect=Allow,
        Principal=Principal("Service", [service]),
        Action=[Action("sts", "AssumeRole")],
        **({"Condition": trust_condition} if trust_condition else {}),
    )
    return iam.Role(
        title,
        AssumeRolePolicyDocument=policy([trust_statement]),
        Policies=[iam.Policy(PolicyName=policy_name, PolicyDocument=policy(statements))],
    )
