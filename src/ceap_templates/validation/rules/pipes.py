"""EventBridge Pipes from the workflow queue to its state machine (docs/design.md 4.3, seed 002 Property 41)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ceap_templates.validation.model import Build, Stack
from ceap_templates.validation.policy import PIPE_BATCH_SIZE, PIPE_INVOCATION, PIPE_QUEUE_ACTIONS
from ceap_templates.validation.rule import Hit, Rule, hit
from ceap_templates.validation.rules._util import as_list, props, target, target_of_type


def _role_grants(stack: Stack, role: Mapping[str, Any]) -> list[tuple[set[str], set[str | None]]]:
    """(actions, targeted logical ids) of each Allow statement of a role's inline policies."""
    grants = []
    for policy in as_list(props(role).get("Policies")):
        for statement in as_list((policy.get("PolicyDocument") or {}).get("Statement")):
            if statement.get("Effect") == "Allow":
                actions = {str(a) for a in as_list(statement.get("Action"))}
                grants.append((actions, {target(r) for r in as_list(statement.get("Resource"))}))
    return grants


def _pipe_problems(stack: Stack, pipe: Mapping[str, Any]) -> Iterator[str]:
    p = props(pipe)
    queue = target_of_type(stack, p.get("Source"), "AWS::SQS::Queue")
    machine = target_of_type(stack, p.get("Target"), "AWS::StepFunctions::StateMachine")
    role = target_of_type(stack, p.get("RoleArn"), "AWS::IAM::Role")
    if queue is None or machine is None or role is None:
        yield "source, target and role must be a queue, a state machine and a role of this stack"
        return
    batch = (p.get("SourceParameters") or {}).get("SqsQueueParameters", {}).get("BatchSize")
    if batch != PIPE_BATCH_SIZE:
        yield f"BatchSize is {batch!r}; one message per execution ({PIPE_BATCH_SIZE})"
    machine_type = str(props(machine[1]).get("StateMachineType", "STANDARD"))
    invocation, action = PIPE_INVOCATION.get(machine_type, ("?", "?"))
    given = ((p.get("TargetParameters") or {}).get("StepFunctionStateMachineParameters") or {}).get("InvocationType")
    if given != invocation:
        yield f"InvocationType {given!r} for a {machine_type} machine; expected {invocation!r}"
    grants = _role_grants(stack, role[1])
    if not any(action in actions and machine[0] in targets for actions, targets in grants):
        yield f"role {role[0]} may not {action} on {machine[0]}"
    if not any(actions >= PIPE_QUEUE_ACTIONS and queue[0] in targets for actions, targets in grants):
        yield f"role {role[0]} may not {', '.join(sorted(PIPE_QUEUE_ACTIONS))} on {queue[0]}"
    if machine_type == "EXPRESS":
        visibility = props(queue[1]).get("VisibilityTimeout", 30)
        timeout = (props(machine[1]).get("Definition") or {}).get("TimeoutSeconds", 300)
        if not isinstance(visibility, int) or not isinstance(timeout, int) or visibility <= timeout:
            yield (
                f"queue VisibilityTimeout {visibility!r} s does not exceed the machine timeout {timeout!r} s: "
                "a message would reappear and start a second execution while the first runs"
            )


def check_pipes(build: Build) -> Iterator[Hit]:
    for stack in build.stacks():
        for logical_id, pipe in stack.of_type("AWS::Pipes::Pipe"):
            for problem in _pipe_problems(stack, pipe):
                yield hit(stack, logical_id, problem)


RULES = (
    Rule(
        "PIPE001",
        "pipes: queue -> machine of the stack, batch size 1, invocation type by machine type "
        "(REQUEST_RESPONSE/StartSyncExecution for EXPRESS, FIRE_AND_FORGET/StartExecution for STANDARD), "
        "visibility timeout above the EXPRESS timeout",
        "docs/design.md 4.3; seed 002 Properties 13, 19, 33, 41; docs/legacy-system.md (pipe role lacked "
        "StartSyncExecution)",
        check_pipes,
        per_template=True,
    ),
)
