"""Store stage: write candidates to the Candidates table (docs/data.md "Store").

Items (layout in :func:`ceap_handlers.contract.candidate_item`) go out in ``BatchWriteItem``
chunks of 25; items DynamoDB leaves unprocessed are retried with exponential backoff and
jitter, 3 attempts in all, then reported in ``failedCandidates``. The item of a candidate is a
pure function of the candidate, so running the stage again writes the same items.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final

from ceap_handlers.contract.candidate import CandidateEnvelope
from ceap_handlers.contract.items import candidate_item

BATCH_SIZE: Final = 25
MAX_ATTEMPTS: Final = 3
BASE_DELAY_SECONDS: Final = 0.1
UNPROCESSED: Final = "UNPROCESSED_AFTER_RETRIES"

#: ``write_batch(items)`` writes at most 25 items and returns those DynamoDB left unprocessed.
WriteBatch = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]


@dataclass
class StoreResult:
    envelope: dict[str, Any]
    attempts: int = 0

    @property
    def success(self) -> bool:
        return bool(self.envelope["success"])


def items_for(envelope: CandidateEnvelope) -> tuple[list[dict[str, Any]], int]:
    """Items of an envelope's candidates, one per key (the last candidate of a key wins).

    ``BatchWriteItem`` rejects a request holding one key twice, and the later candidate is the
    newer one. Returns the items and the number of candidates they superseded.
    """
    by_key: dict[tuple[str, str], dict[str, Any]] = {}
    for candidate in envelope.candidates:
        item = candidate_item(candidate, envelope.program_id, envelope.marketplace)
        by_key.pop((item["PK"], item["SK"]), None)
        by_key[(item["PK"], item["SK"])] = item
    return list(by_key.values()), len(envelope.candidates) - len(by_key)


def write_with_retries(
    items: Sequence[dict[str, Any]],
    write_batch: WriteBatch,
    *,
    attempts: int = MAX_ATTEMPTS,
    base_delay: float = BASE_DELAY_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    jitter: Callable[[], float] = random.random,
) -> tuple[list[dict[str, Any]], int]:
    """Write up to 25 items, retrying the unprocessed ones.

    Returns
    -------
    tuple
        The items still unprocessed after ``attempts`` calls, and the number of calls made.
    """
    pending = list(items)
    calls = 0
    for attempt in range(attempts):
        if attempt:
            # Exponential backoff with jitter: throttled writers should not retry in lockstep.
            sleep(base_delay * (2 ** (attempt - 1)) * (0.5 + jitter() / 2))
        calls += 1
        pending = write_batch(pending)
        if not pending:
            break
    return pending, calls


def store_candidates(
    envelope: CandidateEnvelope,
    write_batch: WriteBatch,
    *,
    max_workers: int = 1,
    attempts: int = MAX_ATTEMPTS,
    base_delay: float = BASE_DELAY_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    jitter: Callable[[], float] = random.random,
) -> StoreResult:
    """Write an envelope's candidates and report what could not be written.

    Parameters
    ----------
    envelope : CandidateEnvelope
        Validated input (from Score).
    write_batch : WriteBatch
        The BatchWriteItem port; an error it raises (throttling after the SDK's own retries,
        access denied) fails the stage.
    max_workers : int
        Chunks written in parallel (a Lambda has 60 s for up to 4,000 chunks).
    """
    items, superseded = items_for(envelope)
    chunks = [items[i : i + BATCH_SIZE] for i in range(0, len(items), BATCH_SIZE)]

    def write(chunk: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
        return write_with_retries(
            chunk, write_batch, attempts=attempts, base_delay=base_delay, sleep=sleep, jitter=jitter
        )

    if max_workers > 1 and len(chunks) > 1:
        with ThreadPoolExecutor(max_workers=max_workers) as pool:
            outcomes = list(pool.map(write, chunks))
    else:
        outcomes = [write(chunk) for chunk in chunks]

    failed = [item for unprocessed, _ in outcomes for item in unprocessed]
    failed_candidates = [_failed(item) for item in failed]
    stored = len(items) - len(failed)
    return StoreResult(
        {
            "metrics": {
                "inputCount": len(envelope.candidates),
                "storedCount": stored,
                "failedCount": len(failed),
                "supersededCount": superseded,
                "failedCandidates": failed_candidates,
            },
            "programId": envelope.program_id,
            "marketplace": envelope.marketplace,
            "success": not failed,
        },
        attempts=sum(calls for _, calls in outcomes),
    )


def _failed(item: Mapping[str, Any]) -> dict[str, Any]:
    return {"customerId": item["customerId"], "PK": item["PK"], "SK": item["SK"], "reason": UNPROCESSED}
