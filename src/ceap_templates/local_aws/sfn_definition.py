"""State machines of stacks: ``Definition`` objects that run, with their type, logging and tracing.

moto 5.2.5: ``AWS::StepFunctions::StateMachine`` reads only ``DefinitionString`` (a ``Definition``
object becomes an empty definition), ignores ``DefinitionSubstitutions``, ``StateMachineType``,
``LoggingConfiguration`` and ``TracingConfiguration``, and registers the machine in the
non-executing backend, so with ``execute_state_machine`` on, ``StartExecution`` cannot find it
(and without it, an execution runs a stand-in Pass state).

moto also drops every JSON ``null`` while resolving a template (``"ResultPath": null`` vanishes,
which changes what a state outputs): the ``Definition`` object is read as the template wrote it
when it holds no intrinsic function.

AWS: the machine's definition is ``Definition`` (an object) or ``DefinitionString`` (or
``DefinitionS3Location``) with every ``${Key}`` of ``DefinitionSubstitutions`` replaced; the type
(STANDARD by default), logging and tracing are the resource's; executions run that definition.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_.:-]+)\}")


def definition_text(properties: Mapping[str, Any], read_s3: Any = None) -> str:
    """The definition a state machine resource declares, substitutions applied."""
    if isinstance(properties.get("Definition"), dict):
        text = json.dumps(properties["Definition"])
    elif isinstance(properties.get("DefinitionString"), str):
        text = properties["DefinitionString"]
    elif properties.get("DefinitionS3Location") and read_s3 is not None:
        location = properties["DefinitionS3Location"]
        text = read_s3(location["Bucket"], location["Key"])
    else:
        raise ValueError("the state machine declares no Definition, DefinitionString or DefinitionS3Location")
    values = {key: str(value) for key, value in (properties.get("DefinitionSubstitutions") or {}).items()}
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)).replace('"', '\\"'), text)


def _has_intrinsics(node: Any) -> bool:
    if isinstance(node, dict):
        return any(k == "Ref" or k.startswith("Fn::") or _has_intrinsics(v) for k, v in node.items())
    if isinstance(node, list):
        return any(_has_intrinsics(item) for item in node)
    return False


def template_definition(template: Mapping[str, Any], logical_id: str) -> dict[str, Any] | None:
    """The ``Definition`` object exactly as the template declares it (None if absent or not static)."""
    resource = (template.get("Resources") or {}).get(logical_id) or {}
    definition = (resource.get("Properties") or {}).get("Definition")
    return definition if isinstance(definition, dict) and not _has_intrinsics(definition) else None


def _camel(node: Any) -> Any:
    """CloudFormation's PascalCase configuration keys as the Step Functions API's camelCase."""
    if isinstance(node, dict):
        return {key[:1].lower() + key[1:]: _camel(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_camel(item) for item in node]
    return node


def apply() -> None:
    from moto.cloudformation.models import cloudformation_backends
    from moto.s3.models import s3_backends
    from moto.stepfunctions import models
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends
    from moto.utilities.utils import get_partition

    machine_class: Any = models.StateMachine

    def create(
        cls: Any, /, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        properties = dict(cloudformation_json["Properties"])
        stack = cloudformation_backends[account_id][region_name].stacks.get(kwargs.get("StackId", ""))
        raw = template_definition(stack.template_dict, kwargs.get("LogicalId", "")) if stack is not None else None
        if raw is not None:
            properties["Definition"] = raw

        def read_s3(bucket: str, key: str) -> str:
            found: Any = s3_backends[account_id][get_partition(region_name)].get_object(bucket, key)
            return str(found.value.decode())

        backend = stepfunctions_parser_backends[account_id][region_name]
        return backend.create_state_machine(
            properties.get("StateMachineName", resource_name),
            definition_text(properties, read_s3),
            properties.get("RoleArn", ""),
            tags=[{"key": t["Key"], "value": t["Value"]} for t in properties.get("Tags", [])],
            loggingConfiguration=_camel(properties.get("LoggingConfiguration")),
            tracingConfiguration=_camel(properties.get("TracingConfiguration")),
            sm_type=properties.get("StateMachineType", "STANDARD"),
        )

    def delete(cls: Any, /, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str) -> None:
        backend = stepfunctions_parser_backends[account_id][region_name]
        for machine in list(backend.state_machines):
            if resource_name in (machine.arn, machine.name):
                backend.delete_state_machine(machine.arn)

    def update(
        cls: Any,
        /,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> Any:
        logical_id = getattr(original_resource, "logical_resource_id", "")
        owner = next(
            (
                s
                for s in cloudformation_backends[account_id][region_name].stacks.values()
                if s.resource_map._parsed_resources.get(logical_id) is original_resource
            ),
            None,
        )
        delete(cls, original_resource.arn, cloudformation_json, account_id, region_name)
        where = {"StackId": owner.stack_id, "LogicalId": logical_id} if owner is not None else {}
        return create(cls, new_resource_name, cloudformation_json, account_id, region_name, **where)

    machine_class.create_from_cloudformation_json = classmethod(create)
    machine_class.delete_from_cloudformation_json = classmethod(delete)
    machine_class.update_from_cloudformation_json = classmethod(update)
