"""Change sets (``aws cloudformation deploy``) that create and update stacks like CloudFormation.

moto 5.2.5: executing a CREATE change set applies the resources to a stack built from an empty
template, so ``Fn::ImportValue`` finds no export, and the stack gets no Outputs and registers no
Export; an UPDATE change set registers no new export; a change set identical to the stack is
refused at ``CreateChangeSet`` with "No updates are to be performed." (the CLI exits 255 even with
``--no-fail-on-empty-changeset``), or, with a ``TemplateURL``, accepted as a change.

AWS: a CREATE change set whose template imports a missing export ends ``FAILED`` with "No export
named X found"; executing one creates the stack from the template (imports resolved against the
region's exports, Outputs and Exports registered; a resource failure rolls back to
``ROLLBACK_COMPLETE`` with the reason in the stack events); an UPDATE change set goes through the
same export rules as ``UpdateStack``; a change set without changes ends ``FAILED`` with "The
submitted information didn't contain changes. Submit different information to create a change
set." and cannot be executed.
"""

from __future__ import annotations

from typing import Any, Final

from ceap_templates.local_aws.cfn_exports import (
    add_event,
    effective_parameters,
    failure_reason,
    imported_names,
    pseudo_parameters,
    register_exports,
    update_with_exports,
)

NO_CHANGES: Final = (
    "The submitted information didn't contain changes. Submit different information to create a change set."
)


def _fail(change_set: Any, reason: str) -> None:
    change_set.status = "FAILED"
    change_set.execution_status = "UNAVAILABLE"
    change_set.status_reason = reason


def _is_empty(stack: Any, change_set: Any) -> bool:
    if change_set.template_dict != stack.template_dict:
        return False
    proposed = effective_parameters(change_set.template_dict, change_set.parameters)
    if proposed != effective_parameters(stack.template_dict, stack.stack_parameters):
        return False
    return change_set.tags is None or not change_set.tags or change_set.tags == stack.tags


def _missing_import(backend: Any, stack: Any, change_set: Any) -> str | None:
    values = {
        **effective_parameters(change_set.template_dict, change_set.parameters),
        **pseudo_parameters(stack.name, backend.region_name, backend.account_id),
    }
    for name in sorted(imported_names(change_set.template_dict, values)):
        if name not in backend.exports:
            return f"No export named {name} found"
    return None


def _create_from(backend: Any, review: Any, change_set: Any) -> None:
    """Replace the REVIEW_IN_PROGRESS placeholder with a stack created from the change set."""
    from moto.cloudformation import models

    stack_class: Any = models.Stack
    add_event(review, "CREATE_IN_PROGRESS", "User Initiated")
    try:
        stack = stack_class(
            stack_id=review.stack_id,
            name=review.name,
            template=change_set.template,
            parameters=change_set.parameters,
            account_id=backend.account_id,
            region_name=backend.region_name,
            notification_arns=change_set.notification_arns,
            tags=change_set.tags or review.tags,
            role_arn=change_set.role_arn,
            cross_stack_resources=backend.exports,
        )
    except Exception as error:  # an invalid template or parameter: AWS rolls the creation back
        _roll_back(review, error)
        return
    stack.events = review.events
    stack.cross_stack_resources = stack.resource_map.cross_stack_resources = backend.exports
    backend.stacks[stack.stack_id] = stack
    try:
        stack.create_resources()
        register_exports(backend, stack, set())
    except Exception as error:
        _roll_back(stack, error)


def _roll_back(stack: Any, error: Exception) -> None:
    reason = failure_reason(error)
    add_event(stack, "CREATE_FAILED", reason)
    add_event(stack, "ROLLBACK_IN_PROGRESS", f"The following resource(s) failed to create: {reason}")
    add_event(stack, "ROLLBACK_COMPLETE")
    stack.status = "ROLLBACK_COMPLETE"


def apply() -> None:
    from moto.cloudformation import models, responses
    from moto.cloudformation.exceptions import ValidationError

    backend_class = models.CloudFormationBackend
    response_class = responses.CloudFormationResponse
    original_create = backend_class.create_change_set
    original_response = response_class.create_change_set

    def create_change_set_response(self: Any) -> Any:
        # Whether a change set is empty is the backend's answer (a FAILED change set), never an error.
        self._validate_different_update = lambda *args, **kwargs: None
        return original_response(self)

    def create_change_set(self: Any, *args: Any, **kwargs: Any) -> tuple[str, str]:
        change_set_id, stack_id = original_create(self, *args, **kwargs)
        change_set = self.change_sets[change_set_id]
        stack = self.stacks[stack_id]
        if change_set.change_set_type == "UPDATE" and _is_empty(stack, change_set):
            _fail(change_set, NO_CHANGES)
        else:
            change_set.status, change_set.execution_status, change_set.status_reason = (
                "CREATE_COMPLETE",
                "AVAILABLE",
                None,
            )
            missing = _missing_import(self, stack, change_set)
            if missing:
                _fail(change_set, missing)
        return change_set_id, stack_id

    def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        change_set = next(
            (
                cs
                for arn, cs in self.change_sets.items()
                if change_set_name in (arn, cs.change_set_name)
                and (not stack_name or stack_name in (cs.stack_name, cs.stack_id))
            ),
            None,
        )
        if change_set is None:
            raise ValidationError(message=f"ChangeSet [{change_set_name}] does not exist")
        if change_set.execution_status != "AVAILABLE":
            raise ValidationError(
                message=f"ChangeSet [{change_set.change_set_id}] cannot be executed in its current status"
                f" of [{change_set.status}]"
            )
        stack = self.stacks[change_set.stack_id]
        if change_set.change_set_type == "CREATE":
            _create_from(self, stack, change_set)
        else:
            update_with_exports(
                self, stack, change_set.template, change_set.role_arn, change_set.parameters, change_set.tags or None
            )
        change_set.execution_status = "EXECUTE_COMPLETE"

    backend_class.create_change_set = create_change_set  # type: ignore[method-assign]
    backend_class.execute_change_set = execute_change_set  # type: ignore[method-assign]
    response_class.create_change_set = create_change_set_response  # type: ignore[method-assign]
