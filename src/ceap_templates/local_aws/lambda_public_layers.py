"""Function updates that name AWS's public Powertools layer, as AWS accepts them.

moto 5.2.5: ``UpdateFunctionConfiguration`` (and a CloudFormation update of an
``AWS::Lambda::Function``) checks every layer ARN against the layers published in the emulator
and fails with "One or more LayerVersion does not exist" for a layer another account publishes,
though creating the function with the same ARN succeeds.

AWS: a function may use a layer version another account shares publicly; the Powertools for AWS
Lambda layers are published by account 017000801446
(https://docs.powertools.aws.dev/lambda/python/latest/#lambda-layer), so an update naming one
succeeds. Here such an ARN is accepted with code size 0 (lambda_runtime serves Powertools from the
emulator's own environment); unknown layers of other accounts are still refused.
"""

from __future__ import annotations

from typing import Any, Final

#: The account that publishes the Powertools for AWS Lambda layers.
POWERTOOLS_ACCOUNT: Final = "017000801446"


def apply() -> None:
    from moto.awslambda import models

    previous = models.LambdaFunction._get_layers_data

    def get_layers_data(self: Any, layers_versions_arns: list[str]) -> Any:
        public = [a for a in layers_versions_arns if a.split(":")[4:5] == [POWERTOOLS_ACCOUNT]]
        own = [a for a in layers_versions_arns if a not in public]
        return [*(previous(self, own) if own else []), *({"Arn": a, "CodeSize": 0} for a in public)]

    models.LambdaFunction._get_layers_data = get_layers_data  # type: ignore[method-assign]
