"""Every ARN shape the templates write, built in one place (``Fn::Sub`` on the pseudo parameters).

ARNs of resources in the same template come from ``GetAtt``/``Ref``; these builders cover the
rest: resources named deterministically elsewhere, sub-resources (indexes, versions, prefixes)
and AWS-owned resources (the default bus, the managed ``.sync`` rule, the Powertools layer).
"""

from __future__ import annotations

from typing import Any

from troposphere import Sub


def regional(service: str, resource: str) -> Sub:
    """``arn:{partition}:{service}:{region}:{account}:{resource}`` of this account and region."""
    return Sub(f"arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{resource}")


def account_root() -> Sub:
    """The account itself as a principal (key administration)."""
    return Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")


def event_bus(name: str) -> Sub:
    return regional("events", f"event-bus/{name}")


def event_rule(name: str) -> Sub:
    return regional("events", f"rule/{name}")


#: The rule Step Functions manages to wait for a nested ``.sync`` execution (AWS docs, "Run a Job (.sync)").
SYNC_MANAGED_RULE = "StepFunctionsGetEventsForStepFunctionsExecutionRule"


def state_machine(name: str) -> Sub:
    return regional("states", f"stateMachine:{name}")


def executions(machine_name: str) -> Sub:
    """Every execution of one state machine."""
    return regional("states", f"execution:{machine_name}:*")


def map_run_executions(machine_name: str) -> Sub:
    """The child executions of a machine's Distributed Map runs (``execution:{name}/{mapRun}:{id}``)."""
    return regional("states", f"execution:{machine_name}/*")


def glue_job(name: str) -> Sub:
    return regional("glue", f"job/{name}")


def log_groups(pattern: str) -> Sub:
    return regional("logs", f"log-group:{pattern}")


def alarms(pattern: str) -> Sub:
    return regional("cloudwatch", f"alarm:{pattern}")


def layer(account: str, name: str, version: int) -> Sub:
    """A Lambda layer version published by ``account`` in this region."""
    return Sub(f"arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:{account}:layer:{name}:{version}")


def object_of(bucket_name: Any, key: str) -> Sub:
    """One object, by bucket name (a ``Ref`` of a parameter or bucket) and key."""
    return Sub(f"arn:${{AWS::Partition}}:s3:::${{Artifacts}}/{key}", Artifacts=bucket_name)


def objects_under(bucket_arn: Any, prefix: str) -> Sub:
    """Every object under ``prefix`` of a bucket given by ARN."""
    return Sub(f"${{BucketArn}}/{prefix}*", BucketArn=bucket_arn)


def all_objects(bucket_title: str) -> Sub:
    """Every object of a bucket of the same template."""
    return Sub("${" + bucket_title + ".Arn}/*")


def table_indexes(table_arn: Any) -> Sub:
    """Every secondary index of a table (``Query`` on a GSI is authorised on this ARN)."""
    return Sub("${TableArn}/index/*", TableArn=table_arn)


def function_versions(function_arn: Any) -> Sub:
    """Every version and alias of a function (Step Functions may invoke qualified ARNs)."""
    return Sub("${Arn}:*", Arn=function_arn)
