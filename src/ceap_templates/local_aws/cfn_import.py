"""Resource import (``create-change-set --change-set-type IMPORT``) and ``DeletionPolicy: Retain`` on update.

moto 5.2.5: ``CreateChangeSet`` ignores ``ResourcesToImport`` and treats ``IMPORT`` like ``CREATE``:
it makes a new ``REVIEW_IN_PROGRESS`` stack (also when the stack exists), and executing the change
set creates every resource of the template, so a kept name fails with "already exists" or, for
an Events rule, silently replaces the live rule. An update that removes a resource deletes it
whatever its ``DeletionPolicy`` (only ``DeleteStack`` honours ``Retain``).

AWS (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/resource-import.html): an
IMPORT change set adds existing resources to a new or existing stack without creating them; each
resource to import needs a ``DeletionPolicy`` in the template, its identifier property
(``TableName`` of a table, ``Arn`` of an Events rule or a state machine), and must not belong to
another stack; the change set may add nothing else, and describe-change-set shows ``Action:
Import``. Executing it leaves the resources (a table's items) as they are and the stack
``IMPORT_COMPLETE``. An update that removes a resource whose previous template says
``DeletionPolicy: Retain`` leaves the resource in the account
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html).

Only the types the blue-green hand-over moves are importable here; any other type is refused
with a ValidationError.
"""

from __future__ import annotations

import json
import threading
from typing import Any, Final

from ceap_templates.local_aws.cfn_exports import add_event

#: Importable type -> its identifier property (the resource type schema's primaryIdentifier).
IDENTIFIERS: Final = {
    "AWS::DynamoDB::Table": "TableName",
    "AWS::Events::Rule": "Arn",
    "AWS::StepFunctions::StateMachine": "Arn",
}
RETAINING: Final = ("Retain", "RetainExceptOnCreate")

_request = threading.local()


def _find(account_id: str, region: str, kind: str, identifier: str) -> Any | None:
    """The live model object of an importable resource, or None."""
    if kind == "AWS::DynamoDB::Table":
        from moto.dynamodb.models import dynamodb_backends

        return dynamodb_backends[account_id][region].tables.get(identifier)
    if kind == "AWS::Events::Rule":
        from moto.events.models import events_backends

        # arn:aws:events:REGION:ACCOUNT:rule/[BUS/]NAME
        path = identifier.split(":rule/", 1)[-1]
        bus, _, name = path.rpartition("/")
        found = events_backends[account_id][region].event_buses.get(bus or "default")
        return None if found is None else found.rules.get(name)
    # The emulator executes machines with moto's parser backend (sfn_definition creates them there).
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    machines = stepfunctions_parser_backends[account_id][region].state_machines
    return next((m for m in machines if m.arn == identifier), None)


def _owner(backend: Any, target: Any) -> str | None:
    for stack in backend.stacks.values():
        if stack.status == "DELETE_COMPLETE":
            continue
        if any(parsed is target for parsed in stack.resource_map._parsed_resources.values()):
            return str(stack.name)
    return None


def _live_stack(backend: Any, name: str) -> Any | None:
    return next((s for s in backend.stacks.values() if s.name == name and s.status != "DELETE_COMPLETE"), None)


def _check(backend: Any, stack: Any | None, template: dict[str, Any], imports: list[dict[str, Any]]) -> list[Any]:
    """Validate the imports like CloudFormation; the live objects in order."""
    from moto.cloudformation.exceptions import ValidationError

    resources = template.get("Resources") or {}
    if not imports:
        raise ValidationError(message="ResourcesToImport must be specified for an IMPORT change set")
    found = []
    for entry in imports:
        logical, kind = entry.get("LogicalResourceId"), entry.get("ResourceType")
        identifier = entry.get("ResourceIdentifier") or {}
        if kind not in IDENTIFIERS:
            raise ValidationError(
                message=f"ResourceType {kind} is not supported for import here (supported: {', '.join(IDENTIFIERS)})"
            )
        declared = resources.get(logical)
        if declared is None or declared.get("Type") != kind:
            raise ValidationError(message=f"Resource {logical} of type {kind} is not in the template")
        if "DeletionPolicy" not in declared:
            raise ValidationError(message=f"Resource {logical} to import must have a DeletionPolicy attribute")
        key = IDENTIFIERS[kind]
        if set(identifier) != {key}:
            raise ValidationError(message=f"ResourceIdentifier of {logical} ({kind}) must be exactly {{{key}}}")
        target = _find(backend.account_id, backend.region_name, kind, identifier[key])
        if target is None:
            raise ValidationError(message=f"Resource {identifier[key]} of type {kind} does not exist")
        owner = _owner(backend, target)
        if owner is not None:
            raise ValidationError(message=f"Resource {identifier[key]} of type {kind} already belongs to stack {owner}")
        found.append(target)
    existing = set(stack.resource_map._resource_json_map) if stack is not None else set()
    added = set(resources) - existing
    imported = {entry["LogicalResourceId"] for entry in imports}
    if added != imported or existing - set(resources):
        raise ValidationError(
            message="An IMPORT change set may only add the resources to import: "
            f"adds {sorted(added - imported)}, removes {sorted(existing - set(resources))}"
        )
    return found


def apply() -> None:
    import yaml
    from moto.cloudformation import models, parsing, responses
    from moto.cloudformation.exceptions import ValidationError

    backend_class = models.CloudFormationBackend
    response_class = responses.CloudFormationResponse
    previous_response = response_class.create_change_set
    previous_create = backend_class.create_change_set
    previous_execute = backend_class.execute_change_set
    previous_update = parsing.ResourceMap.update

    def create_change_set_response(self: Any) -> Any:
        _request.imports = (
            self._get_param("ResourcesToImport", []) if self._get_param("ChangeSetType") == "IMPORT" else None
        )
        try:
            return previous_response(self)
        finally:
            _request.imports = None

    def create_change_set(self: Any, *args: Any, **kwargs: Any) -> tuple[str, str]:
        if kwargs.get("change_set_type") != "IMPORT":
            return previous_create(self, *args, **kwargs)
        imports = list(getattr(_request, "imports", None) or [])
        body = kwargs["template"]
        template = json.loads(body) if body.lstrip().startswith("{") else yaml.safe_load(body)
        stack = _live_stack(self, kwargs["stack_name"])
        _check(self, stack, template, imports)
        kwargs["change_set_type"] = "UPDATE" if stack is not None else "CREATE"
        change_set_id, stack_id = previous_create(self, *args, **kwargs)
        change_set = self.change_sets[change_set_id]
        change_set.change_set_type = "IMPORT"
        change_set.resources_to_import = imports
        change_set.status, change_set.execution_status, change_set.status_reason = "CREATE_COMPLETE", "AVAILABLE", None
        for change in change_set.changes:
            change.action = "Import"
        return change_set_id, stack_id

    def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        # Change set names are unique per stack, not per region: match the stack too.
        change_set = next(
            (
                cs
                for arn, cs in self.change_sets.items()
                if change_set_name in (arn, cs.change_set_name)
                and (not stack_name or stack_name in (cs.stack_name, cs.stack_id))
            ),
            None,
        )
        if change_set is None or change_set.change_set_type != "IMPORT":
            return previous_execute(self, change_set_name, stack_name)
        if change_set.execution_status != "AVAILABLE":
            raise ValidationError(
                message=f"ChangeSet [{change_set.change_set_id}] cannot be executed in its current status"
                f" of [{change_set.status}]"
            )
        stack = self.stacks[change_set.stack_id]
        targets = _check(
            self,
            stack if stack.status != "REVIEW_IN_PROGRESS" else None,
            change_set.template_dict,
            change_set.resources_to_import,
        )
        add_event(stack, "IMPORT_IN_PROGRESS", "User Initiated")
        resource_map = stack.resource_map
        for entry, target in zip(change_set.resources_to_import, targets, strict=True):
            target.logical_resource_id = entry["LogicalResourceId"]
            target.cf_resource_type = entry["ResourceType"]
            resource_map._parsed_resources[entry["LogicalResourceId"]] = target
        stack.template = change_set.template
        stack.template_dict = change_set.template_dict
        resource_map._template = change_set.template_dict
        resource_map._resource_json_map = change_set.template_dict["Resources"]
        add_event(stack, "IMPORT_COMPLETE")
        stack.status = "IMPORT_COMPLETE"
        change_set.execution_status = "EXECUTE_COMPLETE"
        return None

    def update(self: Any, template: dict[str, Any], parameters: dict[str, Any] | None = None) -> None:
        proposed = template.get("Resources") or {}
        kept = [
            name
            for name, resource in self._resource_json_map.items()
            if name not in proposed and resource.get("DeletionPolicy") in RETAINING
        ]
        if kept:  # forget them before moto's diff, which would delete them
            self._resource_json_map = {k: v for k, v in self._resource_json_map.items() if k not in kept}
            for name in kept:
                self._parsed_resources.pop(name, None)
        previous_update(self, template, parameters)

    response_class.create_change_set = create_change_set_response  # type: ignore[method-assign]
    backend_class.create_change_set = create_change_set  # type: ignore[method-assign]
    backend_class.execute_change_set = execute_change_set  # type: ignore[method-assign]
    parsing.ResourceMap.update = update  # type: ignore[method-assign]
