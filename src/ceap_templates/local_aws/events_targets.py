"""EventBridge rules deliver to Lambda, Step Functions and SNS targets.

moto 5.2.5 delivers a matching event only to log groups, archives, SQS and event buses; for any
other target ``PutEvents`` itself fails with HTTP 500 ("Expr not defined for Rule"), so a handler
publishing an event (the Reactive stage's ``WorkflowCompleted``) fails. AWS accepts the event
(``PutEvents`` never fails because of a target) and delivers it asynchronously to each target: a
Lambda function is invoked asynchronously, a state machine gets a ``StartExecution``, a topic a
``Publish``; ``Input`` (constant JSON) and ``InputTransformer`` shape what the target receives.
moto also matches every event against a schedule-only rule (no ``EventPattern``: an empty pattern
matches all); in AWS such a rule runs only on its schedule, never on ``PutEvents``.
"""

from __future__ import annotations

import json
import sys
import threading
import uuid
from collections.abc import Mapping
from typing import Any

_OWN = ("lambda", "states", "sns")


def _payload(target: Mapping[str, Any], event: Any) -> str:
    from moto.events.utils import EventTemplateParser

    if "Input" in target:
        return str(target["Input"])
    if "InputPath" in target:
        node: Any = event
        for part in str(target["InputPath"]).lstrip("$").strip(".").split("."):
            node = node.get(part) if part and isinstance(node, dict) else node
        return json.dumps(node)
    if "InputTransformer" in target:
        transformer = target["InputTransformer"]
        parsed: Any = EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap", {}),
            event=event,
        )
        return parsed if isinstance(parsed, str) else json.dumps(parsed)
    return json.dumps(event)


def deliver(target: Mapping[str, Any], event: dict[str, Any]) -> None:
    """Send ``event`` to one Lambda, Step Functions or SNS target (errors are logged, as AWS would retry)."""
    from moto.awslambda.utils import get_backend as lambda_backend
    from moto.sns.models import sns_backends
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends
    from moto.utilities.arns import parse_arn

    arn = parse_arn(target["Arn"])
    try:
        body = _payload(target, event)
        if arn.service == "lambda":
            from ceap_templates.local_aws.lambda_runtime import invoke_function

            function = lambda_backend(arn.account, arn.region).get_function(target["Arn"], None)
            invoke_function(function, json.loads(body))
        elif arn.service == "states":
            backend = stepfunctions_parser_backends[arn.account][arn.region]
            backend.start_execution(target["Arn"], uuid.uuid4().hex, body)
        else:
            sns_backends[arn.account][arn.region].publish(body, arn=target["Arn"])
    except Exception as error:  # delivery is asynchronous in AWS: PutEvents has already succeeded
        print(f"local-aws: event target {target['Arn']}: {type(error).__name__}: {error}", file=sys.stderr)


def apply() -> None:
    from moto.events import models
    from moto.utilities.arns import parse_arn

    original = models.Rule.send_to_targets

    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        if self.scheduled_expression and not self.event_pattern.get_pattern():
            return  # a schedule-only rule
        if not self.event_pattern.matches_event(original_event):
            return
        own = [t for t in self.targets if parse_arn(t["Arn"]).service in _OWN]
        others = [t for t in self.targets if t not in own]
        if others:
            targets, self.targets = self.targets, others
            try:
                original(self, original_event, transform_input)
            finally:
                self.targets = targets
        for target in own:
            threading.Thread(target=deliver, args=(target, dict(original_event)), daemon=True).start()

    models.Rule.send_to_targets = send_to_targets  # type: ignore[method-assign]
