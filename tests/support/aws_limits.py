"""AWS physical-name limits as AWS documents them: literals, each with its page.

Tests compare the generator (``ceap_templates.constants.NAME_LIMITS``) and the validator
(``ceap_templates.validation.policy.NAME_LIMITS``) with these, never the other way round: a wrong
limit in the code must fail a test, not agree with it. The CloudFormation resource schemas cfn-lint
ships (``maxLength`` of the name property) state the same numbers.
"""

from __future__ import annotations

from typing import NamedTuple


class Limit(NamedTuple):
    characters: int
    source: str


AWS_NAME_LIMITS: dict[str, Limit] = {
    "lambda": Limit(
        64,
        "https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html "
        "(FunctionName: a function name alone is limited to 64 characters)",
    ),
    "state_machine": Limit(
        80,
        "https://docs.aws.amazon.com/step-functions/latest/apireference/API_CreateStateMachine.html "
        "(name: Maximum length of 80)",
    ),
    "bucket": Limit(
        63,
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html "
        "(between 3 (min) and 63 (max) characters long)",
    ),
    "role": Limit(
        64,
        "https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html (RoleName: Maximum length of 64); "
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html",
    ),
    "log_group": Limit(
        512,
        "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html "
        "(between 1 and 512 characters long)",
    ),
    "queue": Limit(
        80,
        "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html "
        "(a queue name can have up to 80 characters)",
    ),
    "topic": Limit(
        256,
        "https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html (between 1 and 256 characters long)",
    ),
    "rule": Limit(
        64,
        "https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html (Name: Maximum length of 64)",
    ),
    "table": Limit(
        255,
        "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html "
        "(table names between 3 and 255 characters long)",
    ),
    "glue_job": Limit(
        255,
        "https://docs.aws.amazon.com/glue/latest/webapi/API_CreateJob.html (Name: Maximum length of 255)",
    ),
    "pipe": Limit(
        64,
        "https://docs.aws.amazon.com/eventbridge/latest/pipes-reference/API_CreatePipe.html "
        "(Name: Maximum length of 64)",
    ),
    "stack": Limit(
        128,
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html "
        "(stack name: 128 characters)",
    ),
}

#: The limit of each kind, for tests that only need the number.
LIMIT: dict[str, int] = {kind: limit.characters for kind, limit in AWS_NAME_LIMITS.items()}
