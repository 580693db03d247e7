"""Small CloudFormation templates for the emulator tests (an exporter and its importer)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def exporter(queue: str, *, extra_export: bool = False, export: bool = True, parameter: bool = False) -> dict[str, Any]:
    """A queue whose URL is exported as ``${AWS::StackName}-QueueUrl`` (optionally a second export,
    optionally a parameter with a default, which the CLI passes back as UsePreviousValue on updates)."""
    outputs: dict[str, Any] = {}
    if export:
        outputs["QueueUrl"] = {"Value": {"Ref": "Queue"}, "Export": {"Name": {"Fn::Sub": "${AWS::StackName}-QueueUrl"}}}
    if extra_export:
        outputs["QueueArn"] = {
            "Value": {"Fn::GetAtt": ["Queue", "Arn"]},
            "Export": {"Name": {"Fn::Sub": "${AWS::StackName}-QueueArn"}},
        }
    parameters = {"Parameters": {"Label": {"Type": "String", "Default": "unused"}}} if parameter else {}
    return {
        **parameters,
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": queue}}},
        **({"Outputs": outputs} if outputs else {}),
    }


def importer(exporter_stack: str, topic: str) -> dict[str, Any]:
    """A topic whose display name imports the exporter's queue URL (through a parameter, as the product does)."""
    imported = {"Fn::ImportValue": {"Fn::Sub": "${ExporterStackName}-QueueUrl"}}
    return {
        "Parameters": {"ExporterStackName": {"Type": "String", "Default": exporter_stack}},
        "Resources": {
            "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": topic, "DisplayName": imported}}
        },
        "Outputs": {"ImportedQueueUrl": {"Value": imported}},
    }


def write(folder: Path, name: str, template: dict[str, Any]) -> str:
    path = folder / f"{name}.template.json"
    path.write_text(json.dumps(template, indent=2))
    return str(path)
