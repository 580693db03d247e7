"""The compat patch lambda_public_layers: updating a function that names the public Powertools layer.

Expected: AWS accepts a layer version another account shares publicly; Powertools layers are
published by 017000801446 (https://docs.powertools.aws.dev/lambda/python/latest/#lambda-layer).
"""

from __future__ import annotations

import io
import uuid
import zipfile

import pytest
from botocore.exceptions import ClientError

from support.local_aws_server import LocalAws

pytestmark = pytest.mark.xdist_group("local_aws")

POWERTOOLS = "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-x86_64:18"


def _function(local_aws: LocalAws) -> str:
    iam, lam = local_aws.client("iam"), local_aws.client("lambda")
    name = f"f-{uuid.uuid4().hex[:8]}"
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("h.py", "def handler(event, context):\n    return event\n")
    lam.create_function(
        FunctionName=name, Runtime="python3.12", Role=role, Handler="h.handler", Code={"ZipFile": buffer.getvalue()}
    )
    return name


def test_update_with_the_public_powertools_layer__accepted(local_aws: LocalAws) -> None:
    lam = local_aws.client("lambda")
    name = _function(local_aws)
    lam.update_function_configuration(FunctionName=name, Layers=[POWERTOOLS])
    layers = lam.get_function_configuration(FunctionName=name)["Layers"]
    assert [layer["Arn"] for layer in layers] == [POWERTOOLS]


def test_update_with_an_unknown_layer_of_another_account__refused(local_aws: LocalAws) -> None:
    lam = local_aws.client("lambda")
    name = _function(local_aws)
    with pytest.raises(ClientError, match="LayerVersion does not exist"):
        lam.update_function_configuration(FunctionName=name, Layers=["arn:aws:lambda:us-east-1:999999999999:layer:x:1"])
