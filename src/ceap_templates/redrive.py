"""What ``scripts/redrive.sh`` reads: where a workflow's failed requests wait, and the requests.

Standard workflows park the status-change event of a failed execution in ``WorkflowFailedQueue``
(the request is its ``detail.input``); express workflows leave the request itself in the workflow
DLQ (docs/design.md 4.3 "No request lost"). Logical IDs come from the built template, so the
script resolves them with ``list-stack-resources`` and never re-derives a name.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ceap_templates.errors import CeapError

QUEUE = "AWS::SQS::Queue"
#: Logical IDs of the workflow stack (components/workflow.py; deployed: keep them).
INPUT_QUEUE = "WorkflowQueue"
FAILED_QUEUE = "WorkflowFailedQueue"
DEAD_LETTER_QUEUE = "WorkflowDeadLetterQueue"


def redrive_plan(
    entries: Mapping[str, Mapping[str, Any]], folder: Path, environment: str, workflow: str
) -> Iterator[str]:
    """``stack NAME``, ``source LOGICAL_ID event|request`` (where failures wait) and ``target LOGICAL_ID``."""
    from ceap_templates.naming import Naming

    stack = Naming.workflow_stack(workflow)
    if stack not in entries:
        names = sorted(n.removeprefix("CeapWorkflow-") for n in entries if n.startswith("CeapWorkflow-"))
        raise CeapError(f"workflow {workflow!r}: not a workflow of {environment} (configured: {', '.join(names)})")
    resources = json.loads((folder / entries[stack]["template"]).read_text(encoding="utf-8")).get("Resources", {})
    queues = {k for k, r in resources.items() if r.get("Type") == QUEUE}
    if INPUT_QUEUE not in queues:
        raise CeapError(f"{folder}/{entries[stack]['template']}: no {INPUT_QUEUE} (rebuild: ceap-templates build)")
    yield f"stack\t{stack}"
    if FAILED_QUEUE in queues:
        yield f"source\t{FAILED_QUEUE}\tevent"
    else:
        yield f"source\t{DEAD_LETTER_QUEUE}\trequest"
    yield f"target\t{INPUT_QUEUE}"


def _label(request: str, fallback: str) -> str:
    try:
        parsed = json.loads(request)
    except ValueError:
        return fallback
    if isinstance(parsed, dict):
        for key in ("correlationId", "requestId"):
            if isinstance(parsed.get(key), str):
                return str(parsed[key])
    return fallback


def redrive_messages(messages_json: Path, kind: str) -> Iterator[str]:
    """``receipt, label, request`` per message of ``aws sqs receive-message --output json``.

    ``kind`` ``event``: the body is an EventBridge status-change event, the request is ``detail.input``
    (https://docs.aws.amazon.com/step-functions/latest/dg/eventbridge-integration.html); ``request``: the
    body is the request. An unreadable message yields ``-`` as its request (the script keeps it).
    """
    text = messages_json.read_text(encoding="utf-8").strip()
    for message in (json.loads(text) if text else {}).get("Messages", []):
        body = message.get("Body", "")
        request = body
        label = message.get("MessageId", "-")
        if kind == "event":
            try:
                detail = json.loads(body).get("detail", {})
                request = _unbatched(detail["input"])
                label = str(detail.get("name") or label)
            except (ValueError, KeyError, TypeError, AttributeError):
                request = ""
        # Compact JSON has no tab or newline: one TSV line per message.
        compact = json.dumps(json.loads(request), separators=(",", ":")) if _is_json(request) else ""
        yield "\t".join((message["ReceiptHandle"], _label(compact, label), compact or "-"))


def _unbatched(execution_input: str) -> str:
    """The request of an execution's input: a pipe's execution gets a batch of SQS records.

    The standard pipe (BatchSize 1) starts each execution with ``[{"body": REQUEST, ...}]``
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-sqs.html); resending that
    array would wrap it in a second batch. A batch of several records is left to the operator ("").
    """
    parsed = json.loads(execution_input)
    if not isinstance(parsed, list):
        return execution_input
    if len(parsed) == 1 and isinstance(parsed[0], dict) and isinstance(parsed[0].get("body"), str):
        return str(parsed[0]["body"])
    return ""


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return bool(text)
