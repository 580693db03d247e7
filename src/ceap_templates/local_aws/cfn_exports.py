"""Exports and imports between stacks, enforced the way CloudFormation enforces them.

moto 5.2.5: ``ListImports`` is not implemented (HTTP 500); ``DeleteStack`` of a stack whose
export another stack imports deletes it and drops the export; ``UpdateStack`` registers no export
it adds and drops none it removes (the region's export list keeps the creation-time exports).

AWS: ``ListImports`` lists the stacks importing an export ("Export 'X' is not imported by any
stack." when none does); deleting such a stack ends ``DELETE_FAILED`` with "Export X cannot be
deleted as it is in use by Y" and keeps the stack; an update removing such an export ends
``UPDATE_ROLLBACK_COMPLETE`` with the same reason and keeps the old template; an update adding
exports registers them (names unique per region).

:func:`update_with_exports` is the one update path, used by ``UpdateStack`` here and by executed
change sets (:mod:`ceap_templates.local_aws.cfn_change_sets`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

_SUB = re.compile(r"\$\{([A-Za-z0-9_.:]+)\}")
_INACTIVE = {"DELETE_COMPLETE", "REVIEW_IN_PROGRESS", "ROLLBACK_COMPLETE"}


def pseudo_parameters(stack_name: str, region: str, account_id: str) -> dict[str, str]:
    partition = "aws-cn" if region.startswith("cn-") else "aws"
    return {
        "AWS::StackName": stack_name,
        "AWS::Region": region,
        "AWS::AccountId": account_id,
        "AWS::Partition": partition,
        "AWS::URLSuffix": "amazonaws.com",
    }


def effective_parameters(template: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """Template defaults overlaid with the given values (only the template's parameters)."""
    declared = template.get("Parameters") or {}
    values = {name: slot.get("Default") for name, slot in declared.items()}
    values.update({name: value for name, value in given.items() if name in declared})
    return values


def resolve_name(expression: Any, values: Mapping[str, Any]) -> str | None:
    """Value of an export-name expression (string, Ref, Fn::Sub, Fn::Join); None if not static."""
    if isinstance(expression, str):
        return expression
    if not isinstance(expression, dict) or len(expression) != 1:
        return None
    ((function, argument),) = expression.items()
    if function == "Ref":
        value = values.get(argument)
        return value if isinstance(value, str) else None
    if function == "Fn::Sub":
        text, local = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
        scope = dict(values)
        for key, sub_expression in local.items():
            scope[key] = resolve_name(sub_expression, values)
        parts = _SUB.findall(text)
        if any(not isinstance(scope.get(part), str) for part in parts):
            return None
        return _SUB.sub(lambda match: str(scope[match.group(1)]), text)
    if function == "Fn::Join":
        separator, items = argument
        resolved = [resolve_name(item, values) for item in items]
        return None if any(item is None for item in resolved) else separator.join(str(item) for item in resolved)
    return None


def _import_expressions(node: Any) -> Iterator[Any]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Fn::ImportValue":
                yield value
            else:
                yield from _import_expressions(value)
    elif isinstance(node, list):
        for item in node:
            yield from _import_expressions(item)


def imported_names(template: Mapping[str, Any], values: Mapping[str, Any]) -> set[str]:
    """Names of every export ``template`` imports (expressions that are not static are skipped)."""
    names = {resolve_name(e, values) for e in _import_expressions(template.get("Resources", {}))}
    names |= {resolve_name(e, values) for e in _import_expressions(template.get("Outputs", {}))}
    return {name for name in names if name}


def export_names(template: Mapping[str, Any], values: Mapping[str, Any]) -> set[str]:
    """Names of the exports ``template`` declares."""
    names = set()
    for output in (template.get("Outputs") or {}).values():
        export = output.get("Export") if isinstance(output, dict) else None
        if export:
            name = resolve_name(export.get("Name"), values)
            if name:
                names.add(name)
    return names


def stack_values(
    stack: Any, template: Mapping[str, Any] | None = None, given: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Parameter and pseudo-parameter values of ``stack`` (or of a proposed template for it)."""
    template = stack.template_dict if template is None else template
    given = stack.stack_parameters if given is None else given
    return {
        **effective_parameters(template, given),
        **pseudo_parameters(stack.name, stack.region_name, stack.account_id),
    }


def importers(backend: Any, export_name: str, excluding: str | None = None) -> list[str]:
    """Names of the live stacks whose template imports ``export_name``, in creation order."""
    names = []
    for stack in backend.stacks.values():
        if stack.status in _INACTIVE or stack.stack_id == excluding or not stack.template_dict:
            continue
        if export_name in imported_names(stack.template_dict, stack_values(stack)):
            names.append(stack.name)
    return names


def in_use_reason(backend: Any, stack: Any, removed: set[str]) -> str | None:
    """The AWS refusal for removing ``removed`` exports of ``stack``, or None if none is imported."""
    for name in sorted(removed):
        users = importers(backend, name, excluding=stack.stack_id)
        if users:
            return f"Export {name} cannot be deleted as it is in use by {', '.join(users)}"
    return None


def add_event(stack: Any, status: str, reason: str | None = None, logical_id: str | None = None) -> None:
    """Append a stack event (a resource event when ``logical_id`` names a resource)."""
    from moto.cloudformation.models import Event

    if logical_id is None:
        stack._add_stack_event(status, resource_status_reason=reason)
        return
    resource = stack.template_dict.get("Resources", {}).get(logical_id, {})
    stack.events.append(
        Event(
            stack_id=stack.stack_id,
            stack_name=stack.name,
            logical_resource_id=logical_id,
            physical_resource_id="",
            resource_type=resource.get("Type", "AWS::CloudFormation::Stack"),
            resource_status=status,
            resource_status_reason=reason,
            resource_properties=None,
        )
    )


def register_exports(backend: Any, stack: Any, previous: set[str]) -> None:
    """Make the region's exports match ``stack``'s outputs (``previous``: names it had before)."""
    from moto.cloudformation.exceptions import ValidationError

    current = {export.name: export for export in stack.exports}
    for name in current:
        owner = backend.exports.get(name)
        if owner is not None and name not in previous:
            raise ValidationError(stack.stack_id, message="Export names must be unique across a given region")
    for name in previous - set(current):
        backend.exports.pop(name, None)
    backend.exports.update(current)


def update_with_exports(
    backend: Any,
    stack: Any,
    template: str,
    role_arn: str | None,
    parameters: dict[str, Any],
    tags: dict[str, str] | None,
) -> None:
    """Update ``stack`` like CloudFormation: refuse removing imported exports, register new ones."""
    proposed = stack.parse_template(template)
    previous = {export.name for export in stack.exports}
    keep = export_names(proposed, stack_values(stack, proposed, parameters or stack.stack_parameters))
    reason = in_use_reason(backend, stack, previous - keep)
    if reason is not None:
        add_event(stack, "UPDATE_IN_PROGRESS", "User Initiated")
        add_event(stack, "UPDATE_ROLLBACK_IN_PROGRESS", reason)
        add_event(stack, "UPDATE_ROLLBACK_COMPLETE")
        stack.status = "UPDATE_ROLLBACK_COMPLETE"
        return
    # Stacks created while the region had no export hold a private, empty map: share the region's.
    stack.cross_stack_resources = stack.resource_map.cross_stack_resources = backend.exports
    try:
        stack.update(template, role_arn, parameters=parameters, tags=tags)
    except Exception as error:  # any failure of moto's update is an update rollback in AWS
        add_event(stack, "UPDATE_ROLLBACK_IN_PROGRESS", failure_reason(error))
        add_event(stack, "UPDATE_ROLLBACK_COMPLETE")
        stack.status = "UPDATE_ROLLBACK_COMPLETE"
        return
    register_exports(backend, stack, previous)


def failure_reason(error: Exception) -> str:
    """A resource failure as one line (moto raises some as ``ValueError(code, message)``)."""
    message = getattr(error, "message", None)
    if message:
        return str(message)
    if len(error.args) > 1 and all(isinstance(arg, str) for arg in error.args):
        return ": ".join(error.args)
    return str(error)


def apply() -> None:
    from moto.cloudformation import models, responses
    from moto.cloudformation.exceptions import ValidationError
    from moto.core.responses import ActionResult

    backend_class = models.CloudFormationBackend
    original_delete = backend_class.delete_stack

    def delete_stack(self: Any, name_or_stack_id: str) -> None:
        stack = next(
            (s for s in self.stacks.values() if name_or_stack_id in (s.stack_id, s.name)),
            None,
        )
        if stack is not None:
            reason = in_use_reason(self, stack, {export.name for export in stack.exports})
            if reason is not None:
                add_event(stack, "DELETE_IN_PROGRESS", "User Initiated")
                add_event(stack, "DELETE_FAILED", reason)
                stack.status = "DELETE_FAILED"
                return
            for export in stack.exports:  # a stack created by stock change sets registered none
                self.exports.setdefault(export.name, export)
        original_delete(self, name_or_stack_id)

    def update_stack(
        self: Any,
        name: str,
        template: str,
        role_arn: str | None,
        parameters: list[dict[str, Any]],
        tags: dict[str, str] | None,
    ) -> Any:
        stack = self.get_stack(name)
        resolved = self._resolve_update_parameters(instance=stack, incoming_params=parameters)
        update_with_exports(self, stack, template, role_arn, resolved, tags)
        return stack

    def list_imports(self: Any) -> ActionResult:
        name = self._get_param("ExportName")
        users = importers(self.cloudformation_backend, name)
        if not users:
            raise ValidationError(message=f"Export '{name}' is not imported by any stack.")
        return ActionResult({"Imports": users})

    backend_class.delete_stack = delete_stack  # type: ignore[method-assign]
    backend_class.update_stack = update_stack  # type: ignore[method-assign]
    responses.CloudFormationResponse.list_imports = list_imports  # type: ignore[attr-defined]
