"""AWS adapters: S3 hand-off objects, ProgramConfig, ScoreCache, Candidates, dedup, events.

Each adapter turns SDK failures into :mod:`ceap_handlers.errors` types with a message naming
the s3:// path or table. Clients are created on first use (no AWS call, nor credential lookup,
at import time) and shared by the invocations of a warm function; boto3 itself comes from the
Lambda runtime.

Permissions used (the templates grant exactly these): S3 GetObject / PutObject / ListBucket;
ProgramConfig GetItem; ScoreCache GetItem / BatchGetItem / PutItem; Candidates BatchWriteItem;
dedup PutItem; events PutEvents.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from ceap_handlers.contract.fields import ContractError
from ceap_handlers.contract.items import TTL_ATTRIBUTE, program_config_keys
from ceap_handlers.contract.paths import s3_uri
from ceap_handlers.contract.program_config import ProgramConfig, merge_program_items, parse_program_config
from ceap_handlers.errors import PermanentStageError, TransientStageError, classify, error_code
from ceap_handlers.stages.scoring import CachedScore

AWS_ERRORS: Final = (ClientError, BotoCoreError)
#: Error codes of GetObject on a key that does not exist (HeadObject answers a bare "404").
_MISSING_CODES: Final = frozenset({"NoSuchKey", "404", "NotFound"})
#: Read size of a ranged source read: a line is split across chunks at most once per MiB.
RANGE_CHUNK_BYTES: Final = 1024 * 1024
_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def client(service: str) -> Any:
    """The shared boto3 client of a service, created on first use."""
    with _clients_lock:
        if service not in _clients:
            import boto3
            from botocore.config import Config

            options: dict[str, Any] = {}
            if service == "s3":
                # Default flexible checksums send PutObject bodies aws-chunked, which botocore builds
                # by concatenating bytes: 0.7 s for a 50 MB output. put_json sends Content-MD5
                # instead, so S3 still verifies what it receives.
                options["request_checksum_calculation"] = "when_required"
            config = Config(
                retries={"mode": "standard", "max_attempts": 4},
                connect_timeout=5,
                read_timeout=60,
                # The score cache and the store write from a thread pool.
                max_pool_connections=32,
                **options,
            )
            _clients[service] = boto3.client(service, config=config)
        return _clients[service]


def reset_clients() -> None:
    """Forget the shared clients (tests, after changing the emulator)."""
    with _clients_lock:
        _clients.clear()


# --------------------------------------------------------------------------------------------
# S3
# --------------------------------------------------------------------------------------------


class S3ObjectStore:
    """Stage hand-off objects (JSON) and source objects (JSON lines) in S3."""

    def __init__(self, s3: Any = None) -> None:
        self._s3 = s3 if s3 is not None else client("s3")

    def get_bytes(self, bucket: str, key: str) -> bytes:
        body = self._read(bucket, key, missing_ok=False)
        assert body is not None
        return body

    def _read(self, bucket: str, key: str, *, missing_ok: bool) -> bytes | None:
        try:
            return self._s3.get_object(Bucket=bucket, Key=key)["Body"].read()  # type: ignore[no-any-return]
        except AWS_ERRORS as exc:
            if missing_ok and error_code(exc) in _MISSING_CODES:
                return None
            raise classify(exc, s3_uri(bucket, key)) from exc

    def _parse(self, bucket: str, key: str, body: bytes) -> Any:
        try:
            return json.loads(body)
        except ValueError as exc:
            raise PermanentStageError(f"{s3_uri(bucket, key)}: not a JSON document ({exc})") from None

    def get_json(self, bucket: str, key: str) -> Any:
        """Read and parse a JSON object.

        Raises
        ------
        PermanentStageError
            Missing object, access denied, or not JSON (naming the s3:// path).
        TransientStageError
            Throttling (SlowDown), 5xx, timeouts.
        """
        return self._parse(bucket, key, self.get_bytes(bucket, key))

    def find_json(self, bucket: str, key: str) -> Any | None:
        """Like :meth:`get_json`, but ``None`` when the object does not exist.

        S3 answers a missing key with 404 NoSuchKey only to a role with ListBucket on the prefix;
        without it the answer is 403 AccessDenied, which stays an error.
        """
        body = self._read(bucket, key, missing_ok=True)
        return None if body is None else self._parse(bucket, key, body)

    def put_json(self, bucket: str, key: str, value: Any) -> None:
        """Write a JSON object with one PutObject (no partial object is ever visible)."""
        try:
            body = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
        except (TypeError, ValueError) as exc:
            raise PermanentStageError(f"{s3_uri(bucket, key)}: output is not JSON-serialisable ({exc})") from None
        digest = base64.b64encode(hashlib.md5(body, usedforsecurity=False).digest()).decode()
        try:
            self._s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json", ContentMD5=digest)
        except AWS_ERRORS as exc:
            raise classify(exc, s3_uri(bucket, key)) from exc

    def put_bytes(self, bucket: str, key: str, body: bytes, content_type: str = "application/x-ndjson") -> None:
        """Write one object (a JSON Lines part) with one PutObject."""
        digest = base64.b64encode(hashlib.md5(body, usedforsecurity=False).digest()).decode()
        try:
            self._s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, ContentMD5=digest)
        except AWS_ERRORS as exc:
            raise classify(exc, s3_uri(bucket, key)) from exc

    def list_keys(self, bucket: str, prefix: str) -> list[str]:
        """Keys under a prefix, in key order."""
        keys: list[str] = []
        try:
            for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                keys.extend(obj["Key"] for obj in page.get("Contents", []))
        except AWS_ERRORS as exc:
            raise classify(exc, s3_uri(bucket, prefix)) from exc
        return sorted(keys)

    def list_objects(self, bucket: str, prefix: str) -> list[tuple[str, int]]:
        """``(key, size)`` of every object under a prefix, in key order (console folder markers left out)."""
        found: list[tuple[str, int]] = []
        try:
            for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                found.extend((obj["Key"], int(obj["Size"])) for obj in page.get("Contents", []))
        except AWS_ERRORS as exc:
            raise classify(exc, s3_uri(bucket, prefix)) from exc
        return sorted(item for item in found if not item[0].endswith("/"))

    def read_range_lines(self, bucket: str, key: str, start: int, end: int) -> Iterator[tuple[str, bytes]]:
        """The lines of an object that start in bytes ``[start, end)`` (one source shard's range).

        Reads from ``start - 1`` with an open-ended Range: the byte before tells whether the first
        line starts at ``start`` or belongs to the previous range, and the range's last line may run
        past ``end``. Locations are ``s3://bucket/key:line`` from the object's start, else
        ``s3://bucket/key@byte N``.
        """
        uri = s3_uri(bucket, key)
        first = max(start - 1, 0)
        skip = start > 0  # the (partial) line through byte start - 1 is the previous range's
        position, number, tail = first, 0, b""
        try:
            body = self._s3.get_object(Bucket=bucket, Key=key, Range=f"bytes={first}-")["Body"]
            chunks: Iterator[bytes] = iter(body.iter_chunks(RANGE_CHUNK_BYTES))
            while True:
                chunk = next(chunks, None)
                lines = (tail + chunk).split(b"\n") if chunk is not None else [tail]
                tail = lines.pop() if chunk is not None else b""
                for line in lines:
                    line_start, position = position, position + len(line) + 1
                    number += 1
                    if skip:
                        skip = False
                        continue
                    if line_start >= end:
                        body.close()
                        return
                    yield (f"{uri}:{number}" if start == 0 else f"{uri}@byte {line_start}"), line
                if chunk is None:
                    return
        except AWS_ERRORS as exc:
            raise classify(exc, uri) from exc

    def read_lines(self, bucket: str, prefix: str) -> Iterator[tuple[str, bytes]]:
        """Every line of every object under a prefix, as ``(s3://bucket/key:line, line)``."""
        for key in self.list_keys(bucket, prefix):
            if key.endswith("/"):
                continue  # a "folder" marker made by the console
            uri = s3_uri(bucket, key)
            try:
                body = self._s3.get_object(Bucket=bucket, Key=key)["Body"]
                for number, line in enumerate(body.iter_lines(), start=1):
                    yield f"{uri}:{number}", line
            except AWS_ERRORS as exc:
                raise classify(exc, uri) from exc


# --------------------------------------------------------------------------------------------
# DynamoDB
# --------------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """DynamoDB-deserialised value → JSON-like value (Decimal → int/float, sets → sorted lists)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(_plain(v) for v in value)
    return value


def from_attribute_values(item: dict[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return {key: _plain(deserializer.deserialize(value)) for key, value in item.items()}


def to_attribute_values(item: dict[str, Any]) -> dict[str, Any]:
    """Plain item (``str`` / ``int`` / ``float`` / ``bool``) → DynamoDB attribute values."""
    typed: dict[str, Any] = {}
    for key, value in item.items():
        if isinstance(value, bool):
            typed[key] = {"BOOL": value}
        elif isinstance(value, int | float):
            typed[key] = {"N": repr(value)}
        else:
            typed[key] = {"S": str(value)}
    return typed


class DynamoProgramConfigs:
    """Program configurations (GetItem on the base item and the marketplace override)."""

    def __init__(self, table: str, ddb: Any = None) -> None:
        self.table = table
        self._ddb = ddb if ddb is not None else client("dynamodb")

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        try:
            item = self._ddb.get_item(TableName=self.table, Key={"PK": {"S": pk}, "SK": {"S": sk}}).get("Item")
        except AWS_ERRORS as exc:
            raise classify(exc, f"dynamodb table {self.table} ({pk} / {sk})") from exc
        return from_attribute_values(item) if item else None

    def load(self, program_id: str, marketplace: str) -> ProgramConfig | None:
        """The program's configuration with the marketplace override, ``None`` if absent.

        Raises
        ------
        PermanentStageError
            The stored configuration violates the contract (naming the attribute).
        """
        pk, sk = program_config_keys(program_id)
        base = self._get(pk, sk)
        if base is None:
            return None
        override = self._get(*program_config_keys(program_id, marketplace))
        merged = merge_program_items(base, override)
        merged.setdefault("programId", program_id)
        try:
            return parse_program_config(merged, source=f"ProgramConfig[{pk}]")
        except ContractError as exc:
            raise PermanentStageError(f"dynamodb table {self.table}: {exc}") from None

    def require(self, program_id: str, marketplace: str) -> ProgramConfig:
        """Like :meth:`load`, but a missing program is a permanent error naming ``programId``."""
        program = self.load(program_id, marketplace)
        if program is None:
            pk, sk = program_config_keys(program_id)
            raise PermanentStageError(
                f"programId: program {program_id!r} not found in dynamodb table {self.table} ({pk} / {sk})"
            )
        return program


_BATCH_GET_SIZE: Final = 100
_BATCH_GET_ATTEMPTS: Final = 4


class DynamoScoreCache:
    """The score cache (BatchGetItem to read, PutItem to write, in a small thread pool)."""

    def __init__(self, table: str, ddb: Any = None, max_workers: int = 8) -> None:
        self.table = table
        self._ddb = ddb if ddb is not None else client("dynamodb")
        self._workers = max_workers

    def _map(self, fn: Any, chunks: Sequence[Any]) -> list[Any]:
        if len(chunks) <= 1 or self._workers <= 1:
            return [fn(chunk) for chunk in chunks]
        with ThreadPoolExecutor(max_workers=self._workers) as pool:
            return list(pool.map(fn, chunks))

    def _get_chunk(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], CachedScore]:
        found: dict[tuple[str, str], CachedScore] = {}
        request: dict[str, Any] = {self.table: {"Keys": [{"PK": {"S": pk}, "SK": {"S": sk}} for pk, sk in keys]}}
        for attempt in range(_BATCH_GET_ATTEMPTS):
            if attempt:
                time.sleep(0.05 * 2**attempt)
            try:
                response = self._ddb.batch_get_item(RequestItems=request)
            except AWS_ERRORS as exc:
                raise classify(exc, f"dynamodb table {self.table}") from exc
            for raw in response.get("Responses", {}).get(self.table, []):
                entry = _cached_score(from_attribute_values(raw))
                if entry is not None:
                    found[(entry.pk, entry.sk)] = entry
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
        # Keys still unprocessed are cache misses: the scores get computed.
        return found

    def get_many(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], CachedScore]:
        chunks = [keys[i : i + _BATCH_GET_SIZE] for i in range(0, len(keys), _BATCH_GET_SIZE)]
        found: dict[tuple[str, str], CachedScore] = {}
        for part in self._map(self._get_chunk, chunks):
            found.update(part)
        return found

    def _put(self, entry: CachedScore) -> None:
        item = {
            "PK": entry.pk,
            "SK": entry.sk,
            "modelId": entry.model_id,
            "value": entry.value,
            "confidence": entry.confidence,
            "timestamp": entry.timestamp,
            "inputHash": entry.input_hash,
            TTL_ATTRIBUTE: entry.ttl,
        }
        try:
            self._ddb.put_item(TableName=self.table, Item=to_attribute_values(item))
        except AWS_ERRORS as exc:
            raise classify(exc, f"dynamodb table {self.table}") from exc

    def put_many(self, entries: Sequence[CachedScore]) -> None:
        self._map(self._put, list(entries))


def _cached_score(item: dict[str, Any]) -> CachedScore | None:
    try:
        return CachedScore(
            pk=str(item["PK"]),
            sk=str(item["SK"]),
            model_id=str(item["modelId"]),
            value=float(item["value"]),
            confidence=float(item["confidence"]),
            timestamp=str(item["timestamp"]),
            input_hash=str(item["inputHash"]),
            ttl=int(item[TTL_ATTRIBUTE]),
        )
    except (KeyError, TypeError, ValueError):
        return None  # an entry of another shape is a miss, not a failure


class DynamoCandidateWriter:
    """BatchWriteItem of candidate items into the Candidates table."""

    def __init__(self, table: str, ddb: Any = None) -> None:
        self.table = table
        self._ddb = ddb if ddb is not None else client("dynamodb")

    def write_batch(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Write up to 25 items; returns the items DynamoDB left unprocessed."""
        if not items:
            return []
        request = [{"PutRequest": {"Item": to_attribute_values(item)}} for item in items]
        try:
            response = self._ddb.batch_write_item(RequestItems={self.table: request})
        except AWS_ERRORS as exc:
            raise classify(exc, f"dynamodb table {self.table}") from exc
        unprocessed = response.get("UnprocessedItems", {}).get(self.table, [])
        keys = {(u["PutRequest"]["Item"]["PK"]["S"], u["PutRequest"]["Item"]["SK"]["S"]) for u in unprocessed}
        return [item for item in items if (item["PK"], item["SK"]) in keys]


# docs/data.md: a repeat "within 300 s" is rejected, read inclusively (exactly 300 s after is still within):
# a claim only replaces one first seen strictly before now - window, in whole epoch seconds.
DEDUP_CONDITION: Final = "attribute_not_exists(deduplicationKey) OR firstSeenAt < :cutoff OR #status = :released"


class DynamoDeduplication:
    """Atomic dedup claims with one conditional PutItem (no read-then-write race)."""

    def __init__(self, table: str, *, window_seconds: int, ttl_seconds: int, ddb: Any = None) -> None:
        self.table = table
        self.window = window_seconds
        self.ttl = ttl_seconds
        self._ddb = ddb if ddb is not None else client("dynamodb")

    def _item(self, key: str, now: int, status: str) -> dict[str, Any]:
        return to_attribute_values(
            {"deduplicationKey": key, "firstSeenAt": now, TTL_ATTRIBUTE: now + self.ttl, "status": status}
        )

    def claim(self, key: str, now: datetime) -> bool:
        """Record ``key`` unless it was claimed at most ``window`` seconds ago; True if this call claimed it."""
        epoch = int(now.timestamp())
        try:
            self._ddb.put_item(
                TableName=self.table,
                Item=self._item(key, epoch, "CLAIMED"),
                ConditionExpression=DEDUP_CONDITION,
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":cutoff": {"N": str(epoch - self.window)}, ":released": {"S": "RELEASED"}},
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise classify(exc, f"dynamodb table {self.table}") from exc
        except BotoCoreError as exc:
            raise classify(exc, f"dynamodb table {self.table}") from exc
        return True

    def release(self, key: str, now: datetime) -> None:
        """Mark a claim released (best effort: a failure here must not hide the original one)."""
        with contextlib.suppress(*AWS_ERRORS):
            self._ddb.put_item(TableName=self.table, Item=self._item(key, int(now.timestamp()), "RELEASED"))


_TRANSIENT_EVENT_CODES: Final = frozenset(
    {"ThrottlingException", "InternalFailure", "InternalException", "ServiceUnavailable"}
)


class EventPublisher:
    """PutEvents on the configured bus."""

    def __init__(self, bus: str, events: Any = None) -> None:
        self.bus = bus
        self._events = events if events is not None else client("events")

    def publish(self, source: str, detail_type: str, detail: dict[str, Any]) -> str:
        """Publish one event; returns its id."""
        entry = {
            "Source": source,
            "DetailType": detail_type,
            "Detail": json.dumps(detail, sort_keys=True),
            "EventBusName": self.bus,
        }
        where = f"event bus {self.bus}"
        try:
            response = self._events.put_events(Entries=[entry])
        except AWS_ERRORS as exc:
            raise classify(exc, where) from exc
        result = (response.get("Entries") or [{}])[0]
        if response.get("FailedEntryCount") or "ErrorCode" in result:
            code = result.get("ErrorCode", "Unknown")
            message = f"{where}: {detail_type} not published ({code}: {result.get('ErrorMessage', '')})"
            raise TransientStageError(message) if code in _TRANSIENT_EVENT_CODES else PermanentStageError(message)
        return str(result.get("EventId", ""))
