"""The storage seam: the Glue-side store against a loopback S3 (moto server), and its edges."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from botocore.exceptions import ClientError
from glue_testkit import Bucket

from ceap_glue.errors import InputError, OutputError
from ceap_glue.storage import NativeS3Store, S3Location, single_part_file

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


@pytest.mark.emulator
def test_native_store__spark_output_with_markers__part_file_published_and_scratch_removed(bucket: Bucket) -> None:
    store = NativeS3Store(bucket.client, f"s3://{bucket.name}/glue-temp/HeavyETL")
    scratch, prefix = _scratch_keys(bucket, store)
    assert scratch.startswith(f"s3://{bucket.name}/glue-temp/HeavyETL/ceap-heavy-etl/")
    bucket.put_json_text(f"{prefix}part-00000-0a1b-c000.txt", '{"candidates":[\n],"programId":"p"}\n')
    bucket.put_json_text(f"{prefix}_SUCCESS", "")

    store.publish(scratch, S3Location(bucket.name, OUTPUT_KEY))
    store.close()

    assert bucket.text(OUTPUT_KEY) == '{"candidates":[\n],"programId":"p"}\n'
    assert bucket.keys() == [OUTPUT_KEY]


@pytest.mark.emulator
def test_native_store__two_part_files__output_error_and_no_object(bucket: Bucket) -> None:
    store = NativeS3Store(bucket.client, f"s3://{bucket.name}/glue-temp/")
    scratch, prefix = _scratch_keys(bucket, store)
    bucket.put_json_text(f"{prefix}part-00000.txt", "{")
    bucket.put_json_text(f"{prefix}part-00001.txt", "}")

    with pytest.raises(OutputError, match="expected exactly one part file"):
        store.publish(scratch, S3Location(bucket.name, OUTPUT_KEY))
    store.close()

    assert bucket.keys() == []


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
