"""EventBridge Pipes from SQS to Step Functions: created by stacks, and moving messages.

moto 5.2.5 has a Pipes API that only stores pipes, and no CloudFormation support for
``AWS::Pipes::Pipe`` (the resource is skipped), so a message sent to a workflow queue stays there.

AWS: a pipe with an SQS source polls the queue and sends each batch (a JSON array of SQS records:
``messageId``, ``receiptHandle``, ``body``, ``attributes``, ``eventSourceARN``...) to its target; a
Step Functions target with ``InvocationType`` REQUEST_RESPONSE runs a synchronous (Express)
execution and deletes the messages when it succeeds (a failure leaves them to the queue's
visibility timeout and redrive policy); FIRE_AND_FORGET starts an asynchronous execution and
deletes the messages once started.

Here the resource creates the pipe in moto's Pipes backend (so ``aws pipes describe-pipe``
answers) and a poller thread of the emulator moves messages every 0.2 s.
"""

from __future__ import annotations

import json
import sys
import threading
import uuid
from typing import Any, Final

POLL_SECONDS: Final = 0.2


def sqs_record(message: Any, queue_arn: str, region: str) -> dict[str, Any]:
    """One SQS message as a pipe delivers it."""
    return {
        "messageId": message.id,
        "receiptHandle": message.receipt_handle,
        "body": message.body,
        "attributes": {
            "ApproximateReceiveCount": str(message.approximate_receive_count),
            "SentTimestamp": str(message.sent_timestamp),
        },
        "messageAttributes": message.message_attributes or {},
        "md5OfBody": message.body_md5,
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


class _PipeResource:
    """What CloudFormation keeps of a pipe: Ref is its name, GetAtt Arn its ARN."""

    def __init__(self, pipe: Any) -> None:
        self.pipe = pipe

    @property
    def physical_resource_id(self) -> str:
        return str(self.pipe.name)

    def is_created(self) -> bool:
        return True

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "Arn":
            return self.pipe.arn
        if attribute_name in ("CurrentState", "State"):
            return self.pipe.current_state
        raise KeyError(attribute_name)

    def delete(self, account_id: str, region_name: str) -> None:
        from moto.pipes.models import pipes_backends

        pipes_backends[account_id][region_name].pipes.pop(self.pipe.name, None)


def _define_model() -> None:
    from moto.cloudformation import parsing
    from moto.core.common_models import CloudFormationModel
    from moto.pipes.models import pipes_backends

    class PipeModel(CloudFormationModel):
        @staticmethod
        def cloudformation_name_type() -> str:
            return "Name"

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::Pipes::Pipe"

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr in ("Arn", "CurrentState", "State")

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
        ) -> Any:
            p = cloudformation_json["Properties"]
            pipe = pipes_backends[account_id][region_name].create_pipe(
                name=p.get("Name", resource_name),
                description=p.get("Description"),
                desired_state=p.get("DesiredState"),
                source=p["Source"],
                source_parameters=p.get("SourceParameters"),
                enrichment=p.get("Enrichment"),
                enrichment_parameters=p.get("EnrichmentParameters"),
                target=p["Target"],
                target_parameters=p.get("TargetParameters"),
                role_arn=p["RoleArn"],
                tags=p.get("Tags"),
                log_configuration=p.get("LogConfiguration"),
                kms_key_identifier=p.get("KmsKeyIdentifier"),
            )
            pipe.status = "RUNNING" if pipe.desired_state == "RUNNING" else "STOPPED"
            return _PipeResource(pipe)

        @classmethod
        def update_from_cloudformation_json(
            cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str,
            region_name: str,
        ) -> Any:  # fmt: skip
            original_resource.delete(account_id, region_name)
            return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

        @classmethod
        def delete_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
        ) -> None:
            pipes_backends[account_id][region_name].pipes.pop(resource_name, None)

    PipeModel.__module__ = __name__
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()


def _deliver(pipe: Any, queue: Any, messages: list[Any], busy: set[str]) -> None:
    """Send one batch to the pipe's state machine; delete the messages as AWS would."""
    from moto.sqs.models import sqs_backends
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    from ceap_templates.local_aws.sfn_sync_execution import run_sync

    region, account = pipe.region_name, pipe.account_id
    try:
        batch = json.dumps([sqs_record(m, queue.queue_arn, region) for m in messages])
        backend = stepfunctions_parser_backends[account][region]
        parameters = (pipe.target_parameters or {}).get("StepFunctionStateMachineParameters") or {}
        if parameters.get("InvocationType", "FIRE_AND_FORGET") == "REQUEST_RESPONSE":
            succeeded = run_sync(backend, pipe.target, None, batch)["status"] == "SUCCEEDED"
        else:
            backend.start_execution(pipe.target, uuid.uuid4().hex, batch)
            succeeded = True
        if succeeded:
            for message in messages:
                sqs_backends[account][region].delete_message(queue.name, message.receipt_handle)
    except Exception as error:  # a broken target must not stop the poller: the messages stay queued
        print(f"local-aws: pipe {pipe.name}: {type(error).__name__}: {error}", file=sys.stderr)
    finally:
        busy.discard(pipe.arn)


def poll_once(busy: set[str]) -> None:
    """Hand the visible messages of every running SQS-sourced pipe to its target (one batch per pipe)."""
    from moto.pipes.models import pipes_backends
    from moto.sqs.models import sqs_backends

    for account, regions in list(pipes_backends.items()):
        for region, backend in list(regions.items()):
            for pipe in list(backend.pipes.values()):
                if pipe.arn in busy or pipe.desired_state != "RUNNING" or ":sqs:" not in pipe.source:
                    continue
                queue_name = pipe.source.rsplit(":", 1)[-1]
                queue = sqs_backends[account][region].queues.get(queue_name)
                if queue is None or not pipe.target.startswith("arn:aws:states:"):
                    continue
                size = ((pipe.source_parameters or {}).get("SqsQueueParameters") or {}).get("BatchSize", 10)
                sqs = sqs_backends[account][region]
                messages = sqs.receive_message(queue_name, int(size), 0, int(getattr(queue, "visibility_timeout", 30)))
                if messages:
                    busy.add(pipe.arn)
                    threading.Thread(target=_deliver, args=(pipe, queue, messages, busy), daemon=True).start()


def start_poller(stop: threading.Event) -> threading.Thread:
    """Poll until ``stop`` is set (a daemon thread of the emulator process)."""
    busy: set[str] = set()

    def loop() -> None:
        while not stop.wait(POLL_SECONDS):
            try:
                poll_once(busy)
            except Exception as error:  # keep polling: a half-deleted stack may be in the way
                print(f"local-aws: pipe poller: {type(error).__name__}: {error}", file=sys.stderr)

    thread = threading.Thread(target=loop, name="pipes-poller", daemon=True)
    thread.start()
    return thread


def apply() -> None:
    _define_model()
