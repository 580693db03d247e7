"""The generator's and the validator's name limits are AWS's (issue 14 item 13)."""

from __future__ import annotations

import pytest
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from ceap_templates.constants import NAME_LIMITS as GENERATOR_LIMITS
from ceap_templates.errors import NamingError
from ceap_templates.naming import check_name
from ceap_templates.validation.names import limit_problem
from ceap_templates.validation.policy import NAME_LIMITS as VALIDATOR_LIMITS
from support.aws_limits import AWS_NAME_LIMITS, LIMIT

#: Kind -> (CloudFormation type, name property): the AWS resource schema cfn-lint ships states the
#: same maximum (DynamoDB's schema admits a table ARN, so tables are checked against the API page only).
SCHEMA_PROPERTY = {
    "state_machine": ("AWS::StepFunctions::StateMachine", "StateMachineName"),
    "bucket": ("AWS::S3::Bucket", None),
    "role": ("AWS::IAM::Role", "RoleName"),
    "log_group": ("AWS::Logs::LogGroup", "LogGroupName"),
    "topic": ("AWS::SNS::Topic", "TopicName"),
    "rule": ("AWS::Events::Rule", "Name"),
    "glue_job": ("AWS::Glue::Job", "Name"),
    "pipe": ("AWS::Pipes::Pipe", "Name"),
}


@pytest.mark.parametrize("kind", sorted(AWS_NAME_LIMITS))
def test_generator_and_validator__use_aws_limit(kind: str) -> None:
    assert GENERATOR_LIMITS[kind] == LIMIT[kind], AWS_NAME_LIMITS[kind].source
    assert VALIDATOR_LIMITS[kind] == LIMIT[kind], AWS_NAME_LIMITS[kind].source


@pytest.mark.parametrize("kind", sorted(AWS_NAME_LIMITS))
def test_check_name__accepts_the_limit_and_refuses_one_more(kind: str) -> None:
    name = "a" * LIMIT[kind]
    assert check_name(kind, name) == name
    assert limit_problem(kind, name) is None
    with pytest.raises(NamingError, match=f"AWS allows at most {LIMIT[kind]}$"):
        check_name(kind, name + "a")
    assert limit_problem(kind, name + "a") is not None


@pytest.mark.parametrize("kind", sorted(SCHEMA_PROPERTY))
def test_literal__agrees_with_the_cloudformation_resource_schema(kind: str) -> None:
    type_, prop = SCHEMA_PROPERTY[kind]
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", type_).schema
    prop = prop or "BucketName"
    assert schema["properties"][prop].get("maxLength", LIMIT[kind]) == LIMIT[kind]
