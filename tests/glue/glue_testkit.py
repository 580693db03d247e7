"""Test data for the HeavyETL tests: candidate builders, hypothesis strategies, a plain-Python
oracle of the rules, and helpers that run the job on local files (an envelope, or a manifest and
its parts written with the handlers' own contract functions) and read its parts back with the
handlers' reader.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from pyspark.sql import SparkSession

from ceap_glue import transforms as tf
from ceap_glue.job import parse_arguments, run
from ceap_glue.storage import LocalDirStore
from ceap_handlers.contract.parts import encode_part, part_key
from ceap_handlers.contract.parts import manifest as contract_manifest
from ceap_handlers.part_io import read_part

REFERENCE_TIME = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
PROGRAM_ID = "retail"
MARKETPLACE = "US"


def iso(moment: datetime) -> str:
    """ISO-8601 UTC with ``Z``, as the stages write times."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def candidate(
    customer_id: str = "c1",
    subject_id: str = "s1",
    *,
    event: datetime = REFERENCE_TIME - timedelta(days=3),
    expires: datetime = REFERENCE_TIME + timedelta(days=30),
    order_value: Any = 42.5,
    channels: dict[str, Any] | None = None,
    subject_type: str = "product",
) -> dict[str, Any]:
    """A complete candidate in the docs/data.md shape."""
    return {
        "customerId": customer_id,
        "context": [{"type": "marketplace", "id": MARKETPLACE}, {"type": "program", "id": PROGRAM_ID}],
        "subject": {"type": subject_type, "id": subject_id, "metadata": {"title": "Kettle"}},
        "attributes": {
            "eventDate": iso(event),
            "deliveryDate": iso(event + timedelta(days=2)),
            "orderValue": order_value,
            "mediaEligible": True,
            "channelEligibility": {"email": True, "sms": False} if channels is None else channels,
        },
        "metadata": {
            "createdAt": iso(event),
            "updatedAt": iso(event),
            "expiresAt": iso(expires),
            "version": 1,
            "sourceConnectorId": "inline",
            "workflowExecutionId": "exec-1",
        },
    }


def envelope(candidates: list[Any], **extra: Any) -> dict[str, Any]:
    """A Filter-stage output envelope around ``candidates``."""
    return {
        "candidates": candidates,
        "rejectedCandidates": [],
        "metrics": {"inputCount": len(candidates), "passedCount": len(candidates)},
        "programId": PROGRAM_ID,
        "marketplace": MARKETPLACE,
        **extra,
    }


def canonical(value: Any) -> str:
    """JSON text that differs whenever key order, a value or a JSON type (1 vs 1.0) differs."""
    return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class Bucket:
    """A fresh bucket in the moto server and a client for it."""

    client: Any
    name: str

    def put_json_text(self, key: str, text: str) -> None:
        """Store ``text`` at ``key``."""
        self.client.put_object(Bucket=self.name, Key=key, Body=text.encode())

    def text(self, key: str) -> str:
        """The object at ``key`` as text."""
        return self.client.get_object(Bucket=self.name, Key=key)["Body"].read().decode()

    def all_keys(self) -> list[str]:
        """Every key in the bucket."""
        listing = self.client.list_objects_v2(Bucket=self.name)
        return sorted(obj["Key"] for obj in listing.get("Contents", []))


# --- the job's run() on local files, and its sharded output read back -------------------------

WORKFLOW_BUCKET = "wf-bucket"
EXECUTION_ID = "exec-2026-02-01-0001"


def stage_key(stage: str, name: str = "output.json") -> str:
    """``executions/{executionId}/{stage}/{name}``."""
    return f"executions/{EXECUTION_ID}/{stage}/{name}"


class LocalPartStore:
    """The ``read_lines`` of ``ceap_handlers.aws.S3ObjectStore`` over a LocalDirStore root."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def read_lines(self, bucket: str, prefix: str) -> Iterator[tuple[str, bytes]]:
        path = self._root / bucket / prefix
        for number, line in enumerate(path.read_bytes().splitlines(), start=1):
            yield f"s3://{bucket}/{prefix}:{number}", line


@dataclass(frozen=True)
class Sharded:
    """What the job wrote: the manifest, ``parts.json`` and each part as the handlers read it."""

    manifest: dict[str, Any]
    items: list[dict[str, Any]]
    parts: list[list[dict[str, Any]]]
    part_texts: list[str]

    @property
    def candidates(self) -> list[dict[str, Any]]:
        """The parts concatenated in part order: what the single envelope used to hold."""
        return [cand for part in self.parts for cand in part]


def read_sharded(root: Path, output_key: str) -> Sharded:
    """Read a stage's sharded output back with the Lambda stages' own reader (``part_io.read_part``)."""
    directory = root / WORKFLOW_BUCKET
    manifest = json.loads((directory / output_key).read_text(encoding="utf-8"))
    items = json.loads((directory / output_key).with_name("parts.json").read_text(encoding="utf-8"))
    store = LocalPartStore(root)
    keys = [part["key"] for part in manifest["parts"]]
    texts = [(directory / key).read_text(encoding="utf-8") for key in keys]
    return Sharded(manifest, items, [read_part(store, WORKFLOW_BUCKET, key) for key in keys], texts)


def write_envelope(root: Path, stage: str, text: str) -> str:
    """Store an envelope object as ``stage``'s output; returns its key."""
    path = root / WORKFLOW_BUCKET / stage_key(stage)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return stage_key(stage)


def write_manifest(
    root: Path, stage: str, parts: list[list[Any]], header: dict[str, Any] | None = None, **extra: Any
) -> str:
    """Store ``parts`` (candidates, or raw line text) as ``stage``'s JSON Lines parts and manifest.

    The parts are encoded with the handlers' ``encode_part``; returns the manifest key.
    """
    refs = []
    for index, part in enumerate(parts):
        key = part_key(EXECUTION_ID, stage, index)
        path = root / WORKFLOW_BUCKET / key
        path.parent.mkdir(parents=True, exist_ok=True)
        if all(isinstance(line, str) for line in part) and part:
            path.write_text("".join(line + "\n" for line in part), encoding="utf-8")
        else:
            path.write_bytes(encode_part(part))
        refs.append({"key": key, "count": len(part)})
    document = contract_manifest(
        stage,
        refs,
        {"inputCount": sum(len(p) for p in parts)},
        header
        or {
            "programId": PROGRAM_ID,
            "marketplace": MARKETPLACE,
        },
    )
    document.update(extra)
    write_envelope(root, stage, json.dumps(document))
    return stage_key(stage)


def job_argv(root: Path, input_key: str, stage: str, part_size: int | None = None, **changes: str) -> list[str]:
    """The arguments of a local run reading ``input_key`` and writing ``stage``'s output under ``root``."""
    arguments = {
        "--execution-id": EXECUTION_ID,
        "--input-bucket": WORKFLOW_BUCKET,
        "--input-key": input_key,
        "--output-bucket": WORKFLOW_BUCKET,
        "--output-key": stage_key(stage),
        "--current-stage": stage,
        "--previous-stage": input_key.split("/")[2],
        "--storage-root": str(root),
        "--reference-time": iso(REFERENCE_TIME),
        **({"--part-size": str(part_size)} if part_size is not None else {}),
        **changes,
    }
    return [token for name, value in arguments.items() for token in (name, value)]


@dataclass(frozen=True)
class Outcome:
    """What one run of the job made of its input."""

    output: Sharded
    metrics: tf.HeavyEtlMetrics
    output_key: str


def run_job(
    spark: SparkSession, root: Path, input_key: str, stage: str = "HeavyETL", part_size: int | None = None
) -> Outcome:
    """``job.run()`` (what ``main()`` runs after the session) on local files, output read back."""
    args = parse_arguments(job_argv(root, input_key, stage, part_size), now=REFERENCE_TIME)
    store = LocalDirStore(root)
    try:
        metrics = run(spark, store, args)
    finally:
        store.close()
    return Outcome(read_sharded(root, args.output.key), metrics, args.output.key)


def run_pipeline(spark: SparkSession, envelope_text: str, part_size: int | None = None) -> Outcome:
    """Run the job on ``envelope_text`` as the Filter stage's output, in a fresh directory."""
    with tempfile.TemporaryDirectory(prefix="ceap-glue-test-") as directory:
        root = Path(directory)
        return run_job(spark, root, write_envelope(root, "Filter", envelope_text), part_size=part_size)


# --- a plain-Python oracle of the rules -------------------------------------------------------


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip(" ") else None


def _key(cand: dict[str, Any]) -> tuple[str, str, str] | None:
    subject = cand.get("subject")
    if not isinstance(subject, dict):
        return None
    parts = (_text(cand.get("customerId")), _text(subject.get("type")), _text(subject.get("id")))
    return None if None in parts else parts  # type: ignore[return-value]


def oracle_statuses(candidates: list[dict[str, Any]], reference_time: datetime) -> list[str]:
    """The status of each candidate, by the rules as documented in ``classify_candidates``."""
    statuses: list[str] = []
    live: dict[tuple[str, str, str], list[tuple[datetime, int]]] = {}
    for position, cand in enumerate(candidates):
        key = _key(cand)
        event = _time((cand.get("attributes") or {}).get("eventDate"))
        expires = _time((cand.get("metadata") or {}).get("expiresAt"))
        if key is None or event is None or expires is None:
            statuses.append(tf.INVALID)
        elif expires < reference_time:
            statuses.append(tf.EXPIRED)
        else:
            statuses.append(tf.KEPT)
            live.setdefault(key, []).append((event, position))
    for entries in live.values():
        _, first = max(entries, key=lambda entry: (entry[0], -entry[1]))
        for _, position in entries:
            if position != first:
                statuses[position] = tf.DUPLICATE
    return statuses


def oracle_features(cand: dict[str, Any], reference_time: datetime) -> dict[str, Any]:
    """The ``features`` the job derives for a kept candidate."""
    attributes = cand["attributes"]
    event = _time(attributes["eventDate"])
    assert event is not None
    days = max(timedelta(0), reference_time - event) // timedelta(days=1)
    channels = attributes.get("channelEligibility")
    eligible = sum(1 for v in channels.values() if v is True or v == "true") if isinstance(channels, dict) else 0
    return {
        "daysSinceEvent": days,
        "orderValueBucket": oracle_bucket(attributes.get("orderValue")),
        "eligibleChannelCount": eligible,
    }


def oracle_bucket(value: Any) -> str:
    """The order-value bucket of an ``attributes.orderValue``."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return tf.NO_ORDER_VALUE_BUCKET
    try:
        number = float(value)
    except ValueError:
        return tf.NO_ORDER_VALUE_BUCKET
    if number != number:  # NaN
        return tf.NO_ORDER_VALUE_BUCKET
    for name, upper in tf.ORDER_VALUE_BUCKETS:
        if number < upper:
            return name
    return tf.PREMIUM_BUCKET


def oracle_output(candidates: list[dict[str, Any]], reference_time: datetime) -> list[dict[str, Any]]:
    """The kept candidates, in input order, each with its features set (in place if present)."""
    kept = []
    for cand, status in zip(candidates, oracle_statuses(candidates, reference_time), strict=True):
        if status == tf.KEPT:
            expected = dict(cand)
            expected["features"] = oracle_features(cand, reference_time)
            kept.append(expected)
    return kept


# --- hypothesis strategies --------------------------------------------------------------------

# Few distinct keys (8), so that duplicates are common.
CUSTOMERS = ("c0", "c1")
SUBJECT_TYPES = ("product", "video")
SUBJECT_IDS = ("s0", "s1")
NOT_DATES = ("", "not a date", "2026-13-45T00:00:00Z", "yesterday")

_json_scalars = (
    st.none()
    | st.booleans()
    # Beyond 64 bits on purpose: such integers must survive the JVM unchanged.
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=("Cs",)), max_size=6)
)
json_values = st.recursive(
    _json_scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3),
    max_leaves=6,
)

_moments = st.datetimes(
    min_value=(REFERENCE_TIME - timedelta(days=60)).replace(tzinfo=None),
    max_value=(REFERENCE_TIME + timedelta(days=60)).replace(tzinfo=None),
    timezones=st.just(UTC),
)


# Hypothesis prefers the first option of a choice and the smallest value, so the simple choices
# below are the ones that keep candidates live and their event dates equal (the dedup tie-break).
_event_moments = st.one_of(
    st.sampled_from((REFERENCE_TIME - timedelta(days=1), REFERENCE_TIME - timedelta(days=10), REFERENCE_TIME)),
    _moments,
)
# About a quarter expire, some exactly at the reference time ("before" is strict).
_expiry_moments = st.one_of(
    st.just(REFERENCE_TIME + timedelta(days=30)),
    st.sampled_from((REFERENCE_TIME, REFERENCE_TIME + timedelta(days=1), REFERENCE_TIME - timedelta(days=1))),
    _moments,
)
DEFECTS = ("no-customer", "blank-customer", "no-subject", "bad-event", "no-expiry")


@st.composite
def time_texts(draw: st.DrawFn, moments: st.SearchStrategy[datetime] = _moments) -> str:
    """A time as the stages may write it: Z, +00:00, another offset, or a bare date."""
    moment = draw(moments)
    style = draw(st.sampled_from(("z", "utc-offset", "other-offset", "date")))
    if style == "z":
        return iso(moment)
    if style == "utc-offset":
        return moment.isoformat()
    if style == "other-offset":
        return moment.astimezone(timezone(timedelta(hours=2))).isoformat()
    return moment.date().isoformat()


_order_values = (
    st.integers(min_value=-10, max_value=10**30)
    | st.floats(min_value=-10, max_value=1000, allow_nan=False)
    | st.sampled_from(("30", "12.5", "1e3", "abc", "", "-5", "499.999"))
    | st.sampled_from((24.999, 25, 99.99, 100, 499.99, 500))
    | st.booleans()
    | st.none()
)
_channel_values = st.booleans() | st.none() | st.sampled_from((1, "true", "yes"))


@st.composite
def candidates(draw: st.DrawFn) -> dict[str, Any]:
    """A candidate, mostly well-formed, sometimes defective, with arbitrary extra JSON members."""
    # One candidate in four has a defect; 0 (what hypothesis draws first) means none.
    roll = draw(st.integers(0, 19))
    defect = DEFECTS[roll - 15] if roll >= 15 else None
    event_text = draw(st.sampled_from(NOT_DATES)) if defect == "bad-event" else draw(time_texts(_event_moments))
    expiry_text = draw(time_texts(_expiry_moments))
    attributes: dict[str, Any] = {"eventDate": event_text}
    if draw(st.booleans()):
        attributes["orderValue"] = draw(_order_values)
    if draw(st.integers(0, 4)):
        attributes["channelEligibility"] = draw(
            st.dictionaries(st.sampled_from(("email", "sms", "push", "inApp")), _channel_values, max_size=4)
        )
    subject: dict[str, Any] = {"type": draw(st.sampled_from(SUBJECT_TYPES)), "id": draw(st.sampled_from(SUBJECT_IDS))}
    if draw(st.booleans()):
        subject["metadata"] = draw(json_values)
    metadata: dict[str, Any] = {"createdAt": event_text, "updatedAt": event_text, "version": draw(st.integers(1, 9))}
    if defect != "no-expiry":
        metadata["expiresAt"] = expiry_text
    cand: dict[str, Any] = {}
    if defect not in ("no-customer", "blank-customer"):
        cand["customerId"] = draw(st.sampled_from(CUSTOMERS))
    elif defect == "blank-customer":
        cand["customerId"] = draw(st.sampled_from(("", "  ")))
    cand["context"] = [{"type": "program", "id": PROGRAM_ID}]
    if defect != "no-subject":
        cand["subject"] = subject
    cand["attributes"] = attributes
    cand["metadata"] = metadata
    if draw(st.booleans()):
        cand["scores"] = {"m1": {"modelId": "m1", "value": draw(st.floats(0, 1)), "timestamp": iso(REFERENCE_TIME)}}
    # Unknown members must pass through untouched, whatever their JSON type.
    for name, value in draw(
        st.dictionaries(st.text(min_size=1, max_size=5).map("x_".__add__), json_values, max_size=2)
    ).items():
        cand[name] = value
    if draw(st.integers(0, 5)) == 0:
        # A features member from elsewhere: replaced in place, never duplicated.
        cand["features"] = draw(json_values)
    return cand


envelopes = st.builds(
    lambda cands, program, market: envelope(cands) | {"programId": program, "marketplace": market},
    st.integers(2, 14).flatmap(lambda size: st.lists(candidates(), min_size=size, max_size=size)),
    st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=8).filter(str.strip),
    st.sampled_from((MARKETPLACE, "DE", "JP")),
)
