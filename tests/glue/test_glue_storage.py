"""The storage seam: the Glue-side store against a loopback S3 (moto server), and its edges."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from glue_testkit import Bucket

from ceap_glue.errors import InputError, OutputError
from ceap_glue.storage import LocalDirStore, NativeS3Store, S3Location, single_part_file

OUTPUT_KEY = "executions/exec-1/HeavyETL/output.json"


def _scratch_keys(bucket: Bucket, store: NativeS3Store) -> tuple[str, str]:
    scratch = store.scratch_path()
    prefix = scratch.removeprefix(f"s3://{bucket.name}/")
    return scratch, prefix


@pytest.mark.emulator
def test_native_store__input_present_or_missing__s3_path_or_message_naming_it(bucket: Bucket) -> None:
    store = NativeS3Store(bucket.client, f"s3://{bucket.name}/glue-temp/HeavyETL/")
    bucket.put_json_text("executions/exec-1/Filter/output.json", "{}")

    path = store.readable_path(S3Location(bucket.name, "executions/exec-1/Filter/output.json"))

    assert path == f"s3://{bucket.name}/executions/exec-1/Filter/output.json"
    with pytest.raises(InputError, match=f"input object s3://{bucket.name}/executions/nope/output.json does not exist"):
        store.readable_path(S3Location(bucket.name, "executions/nope/output.json"))


PART_0 = "executions/exec-1/HeavyETL/parts/part-00000.jsonl"
PART_1 = "executions/exec-1/HeavyETL/parts/part-00001.jsonl"


@pytest.mark.emulator
def test_native_store__partitioned_spark_output_with_markers__one_object_per_part_and_scratch_removed(
    bucket: Bucket,
) -> None:
    store = NativeS3Store(bucket.client, f"s3://{bucket.name}/glue-temp/HeavyETL")
    scratch, prefix = _scratch_keys(bucket, store)
    assert scratch.startswith(f"s3://{bucket.name}/glue-temp/HeavyETL/ceap-heavy-etl/")
    bucket.put_json_text(f"{prefix}part=0/part-00000-0a1b.c000.txt", '{"n":0}\n{"n":1}\n')
    bucket.put_json_text(f"{prefix}part=1/part-00001-0a1b.c000.txt", '{"n":2}\n')
    bucket.put_json_text(f"{prefix}_SUCCESS", "")
    targets = {"part=0": S3Location(bucket.name, PART_0), "part=1": S3Location(bucket.name, PART_1)}

    store.publish(scratch, targets, content_type="application/x-ndjson")
    store.close()

    assert bucket.text(PART_0) == '{"n":0}\n{"n":1}\n'
    assert bucket.text(PART_1) == '{"n":2}\n'
    assert bucket.client.head_object(Bucket=bucket.name, Key=PART_1)["ContentType"] == "application/x-ndjson"
    assert bucket.all_keys() == [PART_0, PART_1]


@pytest.mark.emulator
@pytest.mark.parametrize(
    ("files", "found"),
    [
        (["part=0/part-00000.txt", "part=1/part-00001.txt", "part=1/part-00002.txt"], "found 2"),
        (["part=0/part-00000.txt", "part=1/_SUCCESS"], "found 0"),
    ],
)
def test_native_store__a_part_directory_without_exactly_one_file__output_error_and_no_object(
    bucket: Bucket, files: list[str], found: str
) -> None:
    store = NativeS3Store(bucket.client, f"s3://{bucket.name}/glue-temp/")
    scratch, prefix = _scratch_keys(bucket, store)
    for name in files:
        bucket.put_json_text(f"{prefix}{name}", "{}\n")
    targets = {"part=0": S3Location(bucket.name, PART_0), "part=1": S3Location(bucket.name, PART_1)}

    with pytest.raises(OutputError, match=f"expected exactly one part file under {prefix}part=1, {found}"):
        store.publish(scratch, targets)
    store.close()

    # Checked before the first copy: not even part 0 is published.
    assert bucket.all_keys() == []


@pytest.mark.emulator
def test_native_store__put_bytes__small_object_with_its_content_type(bucket: Bucket) -> None:
    store = NativeS3Store(bucket.client, f"s3://{bucket.name}/glue-temp/")

    store.put_bytes(S3Location(bucket.name, OUTPUT_KEY), b'{"parts":[]}')

    assert bucket.text(OUTPUT_KEY) == '{"parts":[]}'
    assert bucket.client.head_object(Bucket=bucket.name, Key=OUTPUT_KEY)["ContentType"] == "application/json"


@pytest.mark.emulator
def test_native_store__parts_present_or_one_missing__paths_in_order_or_first_missing_named(bucket: Bucket) -> None:
    store = NativeS3Store(bucket.client, f"s3://{bucket.name}/glue-temp/")
    keys = [f"executions/exec-1/Filter/parts/part-{i:05d}.jsonl" for i in range(12)]
    for key in keys:
        bucket.put_json_text(key, "{}\n")

    assert store.readable_paths([S3Location(bucket.name, key) for key in keys]) == [
        f"s3://{bucket.name}/{key}" for key in keys
    ]
    bucket.client.delete_object(Bucket=bucket.name, Key=keys[9])
    bucket.client.delete_object(Bucket=bucket.name, Key=keys[4])
    with pytest.raises(InputError, match=f"^input object s3://{bucket.name}/{keys[4]} does not exist$"):
        store.readable_paths([S3Location(bucket.name, key) for key in keys])


def test_local_dir_store__publish__each_part_file_moved_to_its_key(tmp_path: Path) -> None:
    store = LocalDirStore(tmp_path)
    uri = store.scratch_path()
    scratch = Path(uri.removeprefix("file://"))
    for part, text in (("part=0", "a\n"), ("part=1", "b\n")):
        (scratch / part).mkdir(parents=True)
        (scratch / part / "part-00000-x.c000.txt").write_text(text)
        (scratch / part / ".part-00000-x.c000.txt.crc").write_text("crc")
    (scratch / "_SUCCESS").write_text("")

    store.publish(uri, {"part=0": S3Location("wf", PART_0), "part=1": S3Location("wf", PART_1)})
    store.close()

    assert (tmp_path / "wf" / PART_0).read_text() == "a\n"
    assert (tmp_path / "wf" / PART_1).read_text() == "b\n"
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == [
        f"wf/{PART_0}",
        f"wf/{PART_1}",
    ]


class _DenyingS3:
    """A client whose every call is refused, as IAM refuses what a role lacks."""

    def __getattr__(self, name: str) -> Any:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise ClientError({"Error": {"Code": "403", "Message": "Forbidden"}}, name)

        return refuse


def test_native_store__head_refused__message_says_missing_or_denied() -> None:
    store = NativeS3Store(_DenyingS3(), "s3://wf/glue-temp/")
    with pytest.raises(InputError, match=r"s3://wf/executions/x/output.json does not exist or access to it is denied"):
        store.readable_path(S3Location("wf", "executions/x/output.json"))


def test_native_store__scratch_cleanup_refused__warning_not_failure(caplog: pytest.LogCaptureFixture) -> None:
    store = NativeS3Store(_DenyingS3(), "s3://wf/glue-temp/")
    scratch = store.scratch_path()
    with caplog.at_level(logging.WARNING, logger="ceap_glue.storage"):
        store.close()
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith(f"could not remove scratch objects under {scratch}: ")


def test_single_part_file__markers_and_checksums__only_the_part_file_chosen() -> None:
    names = ["/o/_SUCCESS", "/o/.part-00000-x.txt.crc", "/o/part-00000-x.txt", "/o/._SUCCESS.crc"]
    assert single_part_file(names, "/o") == "/o/part-00000-x.txt"
    with pytest.raises(OutputError, match="found 0"):
        single_part_file(["/o/_SUCCESS"], "/o")
