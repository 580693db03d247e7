"""A state machine with its role, log group (level ALL with execution data) and X-Ray tracing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from awacs.aws import Statement
from troposphere import GetAtt, Ref, Tags, stepfunctions
from troposphere import iam as iam_resources

from ceap_templates import arns, iam
from ceap_templates.asl import placeholders
from ceap_templates.components.common import log_group
from ceap_templates.configuration import Environment
from ceap_templates.constants import EXECUTIONS_PREFIX
from ceap_templates.errors import CeapError
from ceap_templates.references import Scope


def distributed_map_statements(machine_name: str, bucket_arn: Any) -> list[Statement]:
    """What a machine with Distributed Maps needs besides its tasks' grants.

    It starts its own children, follows and stops them, and reads each Map's item list
    (https://docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html). The ARN
    is built from the name: a reference to the machine itself would be a circular dependency.
    """
    return [
        iam.allow("StartMapChildren", "state-machine", "start", [arns.state_machine(machine_name)]),
        iam.allow("FollowMapChildren", "executions", "follow", [arns.map_run_executions(machine_name)]),
        iam.allow("ReadPartLists", "objects", "read", [arns.objects_under(bucket_arn, EXECUTIONS_PREFIX)]),
    ]


@dataclass(frozen=True)
class MachineHandle:
    resource: stepfunctions.StateMachine
    role: iam_resources.Role


def state_machine(
    scope: Scope,
    env: Environment,
    *,
    title: str,
    prefix: str,
    name: str,
    machine_type: str,
    definition: dict[str, Any],
    substitutions: Mapping[str, Any],
    statements: Iterable[Statement],
    tags: Mapping[str, Any] | None = None,
) -> MachineHandle:
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-stepfunctions-statemachine.html"""
    missing = placeholders(definition) ^ set(substitutions)
    if missing:
        raise CeapError(f"{scope.stack_name}/{title}: placeholders and substitutions differ: {sorted(missing)}")
    group = log_group(scope, f"{prefix}LogGroup", scope.naming.state_machine_log_group(scope.stack_name, name))
    role = scope.add(
        iam.service_role(
            f"{prefix}Role",
            "states.amazonaws.com",
            [
                *statements,
                iam.allow("StateMachineLogDelivery", "log-delivery", "manage"),
                iam.allow("XRayTracing", "xray", "trace"),
            ],
            policy_name="least-privilege",
            source_account_condition=True,
        )
    )
    props: dict[str, Any] = {
        "StateMachineName": name,
        "StateMachineType": machine_type,
        "Definition": definition,
        "DefinitionSubstitutions": dict(substitutions),
        "RoleArn": GetAtt(role, "Arn"),
        "LoggingConfiguration": stepfunctions.LoggingConfiguration(
            Level="ALL",
            IncludeExecutionData=True,
            Destinations=[
                stepfunctions.LogDestination(
                    CloudWatchLogsLogGroup=stepfunctions.CloudWatchLogsLogGroup(LogGroupArn=GetAtt(group, "Arn"))
                )
            ],
        ),
        "TracingConfiguration": stepfunctions.TracingConfiguration(Enabled=True),
    }
    if tags:
        props["Tags"] = Tags(**dict(sorted(tags.items())))
    machine = scope.add(stepfunctions.StateMachine(title, **props))
    return MachineHandle(machine, role)


def machine_arn(handle: MachineHandle) -> Ref:
    """``Ref`` of a state machine is its ARN."""
    return Ref(handle.resource)
