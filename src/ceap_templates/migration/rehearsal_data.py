"""Data of the migration rehearsal (scripts/rehearse-migration.sh): seed, snapshot, compare, restore.

``python -m ceap_templates.migration.rehearsal_data COMMAND ...`` talks to DynamoDB with boto3,
which honours ``AWS_ENDPOINT_URL``; the script refuses any endpoint but a loopback one. Items are
handled in DynamoDB's typed JSON, so a snapshot is exactly what a scan returns. The checksum of a
table is the SHA-256 of its items sorted by key and serialised canonically (sorted keys, no
whitespace): equal checksums mean equal items, whatever order the scan returned them in.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

Item = dict[str, Any]

#: The tables the rehearsal seeds and checks: the names docs/migration.md lists as kept.
TABLES: Final = ("Candidates-{env}", "ProgramConfig-{env}", "ScoreCache-{env}", "ceap-event-deduplication-{env}")
#: Key attributes of the tables (docs/data.md): PK/SK, the deduplication table's deduplicationKey.
KEY_ATTRIBUTES: Final = ("PK", "SK", "deduplicationKey")
#: Generated program configurations (copies of the request's program under other IDs).
PROGRAMS: Final = 20
#: Attributes of a Candidates item that legitimately differ between two runs of the same request:
#: the stages stamp metadata.updatedAt, workflowExecutionId (the execution's name) and each score's
#: timestamp with the run's clock (docs/data.md "Store"); the GSI2 keys and TTL derive from created/expires.
VOLATILE_ATTRIBUTES: Final = ("GSI2PK", "GSI2SK", "ttl", "expiresAt")
VOLATILE_METADATA: Final = ("createdAt", "expiresAt", "updatedAt", "workflowExecutionId")


class DataError(Exception):
    """Bad input: one line for the user."""


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def key_of(item: Mapping[str, Any]) -> str:
    return canonical({k: item[k] for k in KEY_ATTRIBUTES if k in item})


def checksum(items: Iterable[Mapping[str, Any]]) -> str:
    """SHA-256 of the items sorted by key, canonical JSON."""
    ordered = sorted(items, key=key_of)
    return hashlib.sha256(canonical(ordered).encode()).hexdigest()


def short_name(table: str) -> str:
    """``Candidates-dev`` -> ``Candidates``; ``ceap-event-deduplication-dev`` -> ``ceap-event-deduplication``."""
    return table.rsplit("-", 1)[0]


def generated_items(env: str, candidates: int, program: Item) -> dict[str, list[Item]]:
    """Deterministic items per table: ``candidates`` Candidates, PROGRAMS program configs, caches."""
    programs = [program]
    for n in range(1, PROGRAMS):
        copy = json.loads(json.dumps(program))
        pid = f"gen{n:02d}"
        copy["PK"] = {"S": f"PROGRAM#{pid}"}
        copy["programId"] = {"S": pid}
        programs.append(copy)
    items: list[Item] = []
    for i in range(candidates):
        pid = f"gen{i % (PROGRAMS - 1) + 1:02d}"
        customer = f"G{i:06d}"
        items.append(
            {
                "PK": {"S": f"CUSTOMER#{customer}#PROGRAM#{pid}#MARKETPLACE#US"},
                "SK": {"S": f"SUBJECT#product#B{i:07d}"},
                "GSI1PK": {"S": f"PROGRAM#{pid}#CHANNEL#email"},
                "GSI1SK": {"S": f"SCORE#{(i % 1000) / 1000:.6f}#CUSTOMER#{customer}"},
                "GSI2PK": {"S": f"PROGRAM#{pid}#DATE#2026-01-01"},
                "GSI2SK": {"S": f"CREATED#{1767225600 + i}#CUSTOMER#{customer}"},
                "customerId": {"S": customer},
                "version": {"N": "1"},
                "data": {"S": canonical({"customerId": customer, "subjectId": f"B{i:07d}", "seed": i})},
            }
        )
    scores = [
        {
            "PK": {"S": f"CUSTOMER#G{i:06d}#SUBJECT#B{i:07d}"},
            "SK": {"S": "MODEL#rehearsal"},
            "score": {"N": str(i % 97)},
        }
        for i in range(max(1, candidates // 10))
    ]
    dedup = [
        {
            "deduplicationKey": {"S": f"G{i:06d}:product:B{i:07d}:gen01"},
            "firstSeenAt": {"N": str(1767225600 + i)},
            "ttl": {"N": str(1767225600 + 86400 + i)},
            "status": {"S": "CLAIMED"},
        }
        for i in range(50)
    ]
    names = [t.format(env=env) for t in TABLES]
    return dict(zip(names, (items, programs, scores, dedup), strict=True))


def _client() -> Any:
    import boto3  # type: ignore[import-untyped]

    return boto3.client("dynamodb")


def write_items(client: Any, table: str, items: Sequence[Item]) -> None:
    for start in range(0, len(items), 25):
        request: dict[str, Any] = {table: [{"PutRequest": {"Item": i}} for i in items[start : start + 25]]}
        while request:
            request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}


def scan(client: Any, table: str) -> list[Item]:
    items: list[Item] = []
    for page in client.get_paginator("scan").paginate(TableName=table):
        items.extend(page["Items"])
    return sorted(items, key=key_of)


def count_line(before: Mapping[str, Sequence[Item]], after: Mapping[str, Sequence[Item]]) -> tuple[str, list[str]]:
    """``Candidates 3000->3000, ...`` and the tables whose count or checksum changed."""
    parts, changed = [], []
    for table in before:
        old, new = before[table], after.get(table, [])
        parts.append(f"{short_name(table)} {len(old)}->{len(new)}")
        if checksum(old) != checksum(new):
            changed.append(short_name(table))
    return ", ".join(parts), changed


def normalised(item: Mapping[str, Any]) -> Item:
    """A Candidates item without what legitimately differs between two runs (VOLATILE_*)."""
    kept = {k: v for k, v in item.items() if k not in VOLATILE_ATTRIBUTES}
    data = kept.get("data", {}).get("S")
    if data is not None:
        parsed = json.loads(data)
        metadata = parsed.get("metadata")
        if isinstance(metadata, dict):
            parsed["metadata"] = {k: v for k, v in metadata.items() if k not in VOLATILE_METADATA}
        for score in (parsed.get("scores") or {}).values():
            if isinstance(score, dict):
                score.pop("timestamp", None)  # the scoring run's clock
        kept["data"] = {"S": canonical(parsed)}
    return kept


def written(before: Sequence[Item], after: Sequence[Item]) -> list[Item]:
    """Items of ``after`` that are new or changed against ``before``, normalised."""
    old = {key_of(i): canonical(i) for i in before}
    return [normalised(i) for i in after if old.get(key_of(i)) != canonical(i)]


def difference(left: Sequence[Item], right: Sequence[Item]) -> str | None:
    """The first difference of two normalised item lists, or None."""
    a, b = {key_of(i): i for i in left}, {key_of(i): i for i in right}
    for key in sorted(set(a) | set(b)):
        if key not in b:
            return f"item {key} written by the first run only"
        if key not in a:
            return f"item {key} written by the second run only"
        if canonical(a[key]) != canonical(b[key]):
            fields = sorted(f for f in set(a[key]) | set(b[key]) if a[key].get(f) != b[key].get(f))
            return f"item {key} differs in {', '.join(fields)}"
    return None


def restore(client: Any, table: str, before: Sequence[Item]) -> int:
    """Make ``table`` hold exactly ``before`` again; the number of items changed."""
    now = scan(client, table)
    wanted = {key_of(i): i for i in before}
    changed = 0
    for item in now:
        key = key_of(item)
        if key not in wanted:
            client.delete_item(TableName=table, Key=json.loads(key))
            changed += 1
        elif canonical(wanted[key]) != canonical(item):
            client.put_item(TableName=table, Item=wanted[key])
            changed += 1
    present = {key_of(i) for i in now}
    missing = [i for k, i in wanted.items() if k not in present]
    write_items(client, table, missing)
    return changed + len(missing)


def request(records: int) -> dict[str, Any]:
    """A batch request for program ``retail`` (scripts/local-aws/request.json's shape) of ``records`` records."""
    rows = [
        {
            "customer_id": f"R{i:04d}",
            "asin": f"B{i:04d}",
            "event_time": "2026-02-27",
            "order": {"total": float(10 + i % 90)},
            "channels": {"email": True, "push": i % 2 == 0},
        }
        for i in range(records)
    ]
    return {
        "programId": "retail",
        "marketplace": "US",
        "dateRange": {"start": "2026-01-01", "end": "2026-01-02"},
        "records": rows,
    }


def _load(path: str) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise DataError(f"{path}: cannot read JSON ({error})") from error


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rehearsal_data", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    seed = sub.add_parser("seed", help="write generated items into the environment's tables")
    seed.add_argument("--env", required=True)
    seed.add_argument("--items", type=int, default=3000)
    seed.add_argument("--program", required=True, help="ProgramConfig item (typed JSON) of the request's program")
    snap = sub.add_parser("snapshot", help="scan every table into one JSON file")
    snap.add_argument("--env", required=True)
    snap.add_argument("--out", required=True)
    counts = sub.add_parser("counts", help="count line of two snapshots; exit 1 when a table changed")
    counts.add_argument("before")
    counts.add_argument("after")
    wrote = sub.add_parser("written", help="Candidates items a run wrote (after - before), normalised")
    wrote.add_argument("before")
    wrote.add_argument("after")
    wrote.add_argument("--table", required=True)
    wrote.add_argument("--out", required=True)
    back = sub.add_parser("restore", help="give the tables of a snapshot exactly its items again")
    back.add_argument("snapshot")
    same = sub.add_parser("equivalent", help="compare two `written` files; exit 1 on a difference")
    same.add_argument("first")
    same.add_argument("second")
    req = sub.add_parser("request", help="print a batch request")
    req.add_argument("--records", type=int, default=40)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except DataError as error:
        print(f"rehearsal_data: error: {error}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    if args.command == "request":
        if args.records < 1:
            raise DataError(f"--records {args.records}: expected at least 1")
        print(canonical(request(args.records)))
        return 0
    if args.command == "equivalent":
        first, second = _load(args.first), _load(args.second)
        if not first:
            print("rehearsal_data: the first run wrote no Candidates item", file=sys.stderr)
            return 1
        found = difference(first, second)
        if found:
            print(f"rehearsal_data: {found}", file=sys.stderr)
            return 1
        print(f"{len(first)} Candidates item(s) equal")
        return 0
    if args.command == "counts":
        line, changed = count_line(_load(args.before), _load(args.after))
        print(line)
        if changed:
            print(f"rehearsal_data: items changed in {', '.join(changed)}", file=sys.stderr)
            return 1
        return 0
    if args.command == "written":
        before, after = _load(args.before), _load(args.after)
        if args.table not in before or args.table not in after:
            raise DataError(f"--table {args.table}: not in both snapshots (tables: {', '.join(before)})")
        Path(args.out).write_text(canonical(written(before[args.table], after[args.table])))
        return 0
    client = _client()
    if args.command == "seed":
        if args.items < 1:
            raise DataError(f"--items {args.items}: expected at least 1")
        program = _load(args.program)
        for table, items in generated_items(args.env, args.items, program).items():
            write_items(client, table, items)
        return 0
    if args.command == "snapshot":
        tables = [t.format(env=args.env) for t in TABLES]
        Path(args.out).write_text(canonical({t: scan(client, t) for t in tables}))
        return 0
    snapshot = _load(args.snapshot)
    restored = sum(restore(client, table, items) for table, items in snapshot.items())
    print(f"restored {restored} item(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
