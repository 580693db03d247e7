"""The job end to end: ``main()`` with the arguments the state machine builds, a loopback S3
(moto server), local files, and every way it must refuse to run."""

from __future__ import annotations

import json
import subprocess
import sys
import types
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from glue_testkit import (
    EXECUTION_ID,
    REFERENCE_TIME,
    Bucket,
    candidate,
    envelope,
    iso,
    job_argv,
    read_sharded,
    run_job,
    write_envelope,
    write_manifest,
)
from pyspark.sql import SparkSession

from ceap_glue import job
from ceap_glue.errors import ArgumentError, InputError
from ceap_glue.storage import LocalDirStore, NativeS3Store, S3Location
from ceap_handlers.part_io import header_of

GLUE_DIR = Path(__file__).resolve().parents[2] / "glue"
INPUT_KEY = f"executions/{EXECUTION_ID}/Filter/output.json"
OUTPUT_KEY = f"executions/{EXECUTION_ID}/HeavyETL/output.json"
PARTS_LIST_KEY = f"executions/{EXECUTION_ID}/HeavyETL/parts.json"
DAY = timedelta(days=1)


def part(index: int) -> str:
    """Key of the job's output part ``index``."""
    return f"executions/{EXECUTION_ID}/HeavyETL/parts/part-{index:05d}.jsonl"


def state_machine_arguments(bucket: str) -> dict[str, str]:
    """The Arguments of the ``glue:startJobRun.sync`` task, as resolved for one execution."""
    return {
        "--execution-id": EXECUTION_ID,
        "--input-bucket": bucket,
        "--input-key": INPUT_KEY,
        "--output-bucket": bucket,
        "--output-key": OUTPUT_KEY,
        "--current-stage": "HeavyETL",
        "--previous-stage": "Filter",
    }


def glue_argv(arguments: dict[str, str], bucket: str) -> list[str]:
    """The argv Glue gives the script: the task's arguments plus what Glue adds itself."""
    added = {
        "--JOB_NAME": "ceap-workflow-batch-heavy-etl",
        "--JOB_ID": "j_0123456789abcdef",
        "--JOB_RUN_ID": "jr_0123456789abcdef",
        "--job-bookmark-option": "job-bookmark-disable",
        "--TempDir": f"s3://{bucket}/glue-temp/",
        "--enable-metrics": "true",
    }
    return [token for name, value in {**arguments, **added}.items() for token in (name, value)]


@pytest.fixture
def adaptive_execution(spark: SparkSession) -> Iterator[None]:
    """Adaptive query execution on, as on Glue, for one test."""
    spark.conf.set("spark.sql.adaptive.enabled", "true")
    yield
    spark.conf.set("spark.sql.adaptive.enabled", "false")


def exit_of(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int | str | None, list[str]]:
    """Run ``main`` expecting SystemExit; its code and the lines it wrote to stderr."""
    with pytest.raises(SystemExit) as stopped:
        job.main(argv)
    return stopped.value.code, capsys.readouterr().err.splitlines()


# --- the happy path ---------------------------------------------------------------------------


def _lines(text: str) -> list[dict[str, Any]]:
    assert text == "" or text.endswith("\n"), "a part is JSON Lines: every line ends with a newline"
    return [json.loads(line) for line in text.splitlines()]


@pytest.mark.emulator
def test_main__state_machine_arguments__envelope_in_one_part_and_manifest_out(
    spark: SparkSession, bucket: Bucket, adaptive_execution: None
) -> None:
    given = [
        candidate("c1", "s1", event=REFERENCE_TIME - 4 * DAY),
        candidate("c1", "s1", event=REFERENCE_TIME - 2 * DAY, order_value=120),
        candidate("c2", "s1", expires=REFERENCE_TIME - DAY),
        candidate("c3", "s9", channels={"email": True, "sms": True}),
    ]
    bucket.put_json_text(INPUT_KEY, json.dumps(envelope(given), indent=2))
    argv = glue_argv(state_machine_arguments(bucket.name), bucket.name)

    job.main([*argv, "--reference-time", iso(REFERENCE_TIME)])

    # Exactly the input and the sharded output: no Spark files, markers or temp objects left.
    assert bucket.all_keys() == sorted([INPUT_KEY, OUTPUT_KEY, PARTS_LIST_KEY, part(0)])
    output = json.loads(bucket.text(OUTPUT_KEY))
    assert output == {
        "programId": "retail",
        "marketplace": "US",
        "stage": "HeavyETL",
        "parts": [{"key": part(0), "count": 2}],
        "count": 2,
        "metrics": {
            "inputCount": 4,
            "outputCount": 2,
            "droppedCount": 2,
            "droppedReasons": {"INVALID": 0, "EXPIRED": 1, "DUPLICATE": 1},
            "referenceTime": "2026-02-01T12:00:00Z",
        },
    }
    assert json.loads(bucket.text(PARTS_LIST_KEY)) == [{"key": part(0), "count": 2, "index": 0}]
    first, second = _lines(bucket.text(part(0)))
    assert {k: v for k, v in first.items() if k != "features"} == given[1]
    assert first["features"] == {"daysSinceEvent": 2, "orderValueBucket": "HIGH", "eligibleChannelCount": 1}
    assert {k: v for k, v in second.items() if k != "features"} == given[3]
    assert second["features"] == {"daysSinceEvent": 3, "orderValueBucket": "MEDIUM", "eligibleChannelCount": 2}


@pytest.mark.emulator
def test_main__manifest_of_three_parts_in_s3__all_parts_read_in_order_and_cut_by_part_size(
    spark: SparkSession, bucket: Bucket, adaptive_execution: None
) -> None:
    # 9 candidates over 3 input parts; c4 repeats c1's key with a later event, so c1 goes.
    given = [candidate(f"c{i}", "s1") for i in range(1, 9)]
    given.insert(6, candidate("c1", "s1", event=REFERENCE_TIME - DAY))
    input_parts = [given[0:4], given[4:5], given[5:9]]
    refs = []
    for index, chunk in enumerate(input_parts):
        key = f"executions/{EXECUTION_ID}/Filter/parts/part-{index:05d}.jsonl"
        bucket.put_json_text(key, "".join(json.dumps(c) + "\n" for c in chunk))
        refs.append({"key": key, "count": len(chunk)})
    manifest = {"programId": "retail", "marketplace": "US", "stage": "Filter", "parts": refs, "count": 9, "metrics": {}}
    bucket.put_json_text(INPUT_KEY, json.dumps(manifest))
    argv = glue_argv(state_machine_arguments(bucket.name), bucket.name)

    job.main([*argv, "--reference-time", iso(REFERENCE_TIME), "--part-size", "3"])

    output = json.loads(bucket.text(OUTPUT_KEY))
    assert output["parts"] == [{"key": part(0), "count": 3}, {"key": part(1), "count": 3}, {"key": part(2), "count": 2}]
    read = [[c["customerId"] for c in _lines(bucket.text(p["key"]))] for p in output["parts"]]
    assert read == [["c2", "c3", "c4"], ["c5", "c6", "c1"], ["c7", "c8"]]
    assert output["metrics"]["inputCount"] == 9
    assert output["metrics"]["droppedReasons"]["DUPLICATE"] == 1
    assert json.loads(bucket.text(PARTS_LIST_KEY)) == [{**p, "index": i} for i, p in enumerate(output["parts"])]
    written = [k for k in bucket.all_keys() if "/HeavyETL/" in k]
    assert written == sorted([OUTPUT_KEY, PARTS_LIST_KEY, *map(part, range(3))])


@pytest.mark.emulator
def test_main__no_reference_time__expiry_measured_from_job_start(spark: SparkSession, bucket: Bucket) -> None:
    now = datetime.now(UTC)
    given = [candidate("c1", expires=now - timedelta(minutes=5)), candidate("c2", expires=now + DAY)]
    bucket.put_json_text(INPUT_KEY, json.dumps(envelope(given)))
    before = datetime.now(UTC)

    job.main(glue_argv(state_machine_arguments(bucket.name), bucket.name))

    output = json.loads(bucket.text(OUTPUT_KEY))
    assert [c["customerId"] for c in _lines(bucket.text(part(0)))] == ["c2"]
    reference = datetime.fromisoformat(output["metrics"]["referenceTime"])
    assert before - timedelta(seconds=5) <= reference <= datetime.now(UTC)


def test_main__storage_root__runs_on_local_files_and_again_on_its_own_output(
    spark: SparkSession, tmp_path: Path
) -> None:
    given = [candidate("c1", "s1"), candidate("c1", "s1", event=REFERENCE_TIME - DAY), candidate("c2")]
    source = tmp_path / "wf-bucket" / INPUT_KEY
    source.parent.mkdir(parents=True)
    source.write_text(json.dumps(envelope(given)))
    common = ["--storage-root", str(tmp_path), "--reference-time", iso(REFERENCE_TIME)]
    args = state_machine_arguments("wf-bucket")

    job.main([*glue_argv(args, "wf-bucket"), *common])
    rerun_key = f"executions/{EXECUTION_ID}/Rerun/output.json"
    rerun = args | {"--input-key": OUTPUT_KEY, "--output-key": rerun_key, "--current-stage": "Rerun"}
    job.main([*glue_argv(rerun, "wf-bucket"), *common])

    once = read_sharded(tmp_path, OUTPUT_KEY)
    twice = read_sharded(tmp_path, rerun_key)
    assert [c["customerId"] for c in once.candidates] == ["c1", "c2"]
    assert twice.candidates == once.candidates
    assert twice.manifest["metrics"]["droppedCount"] == 0
    # Only the two sharded outputs were added: no scratch directory left under the root.
    rerun_part = f"executions/{EXECUTION_ID}/Rerun/parts/part-00000.jsonl"
    rerun_list = f"executions/{EXECUTION_ID}/Rerun/parts.json"
    added = [INPUT_KEY, OUTPUT_KEY, PARTS_LIST_KEY, part(0), rerun_key, rerun_list, rerun_part]
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == sorted(
        f"wf-bucket/{key}" for key in added
    )


def test_run__more_than_twice_the_part_size__three_parts_none_above_part_size(
    spark: SparkSession, tmp_path: Path
) -> None:
    given = [candidate(f"c{i:02d}") for i in range(21)]

    outcome = run_job(spark, tmp_path, write_envelope(tmp_path, "Filter", json.dumps(envelope(given))), part_size=10)

    sizes = [len(p) for p in outcome.output.parts]
    assert sizes == [10, 10, 1]
    assert [p["count"] for p in outcome.output.manifest["parts"]] == sizes
    assert [c["customerId"] for c in outcome.output.candidates] == [f"c{i:02d}" for i in range(21)]


def test_run__manifest_and_parts_list__the_contract_keys_of_lambdas_readme(spark: SparkSession, tmp_path: Path) -> None:
    # lambdas/README.md "Sharded hand-off": output.json = {"stage", "parts": [{"key", "count"}],
    # "count", "metrics"} plus the header the part children need (programId, marketplace);
    # parts.json = [{"key", "count", "index"}]; parts at .../{stage}/parts/part-{NNNNN}.jsonl.
    key = write_manifest(tmp_path, "Filter", [[candidate("c1")], [candidate("c2")], [candidate("c3")]])

    outcome = run_job(spark, tmp_path, key, part_size=2)

    manifest, items = outcome.output.manifest, outcome.output.items
    assert set(manifest) == {"stage", "parts", "count", "metrics", "programId", "marketplace"}
    assert header_of(manifest) == {"programId": "retail", "marketplace": "US"}
    assert manifest["stage"] == "HeavyETL"
    assert [set(p) for p in manifest["parts"]] == [{"key", "count"}] * 2
    assert [set(i) for i in items] == [{"key", "count", "index"}] * 2
    assert [p["key"] for p in manifest["parts"]] == [
        f"executions/{EXECUTION_ID}/HeavyETL/parts/part-00000.jsonl",
        f"executions/{EXECUTION_ID}/HeavyETL/parts/part-00001.jsonl",
    ]
    assert [i["index"] for i in items] == [0, 1]
    assert manifest["count"] == sum(p["count"] for p in manifest["parts"]) == 3


def test_run__nothing_kept__one_empty_part(spark: SparkSession, tmp_path: Path) -> None:
    given = [candidate("c1", expires=REFERENCE_TIME - DAY)]

    outcome = run_job(spark, tmp_path, write_manifest(tmp_path, "Filter", [given, []]), part_size=5)

    empty = f"executions/{EXECUTION_ID}/HeavyETL/parts/part-00000.jsonl"
    assert outcome.output.manifest["parts"] == [{"key": empty, "count": 0}]
    assert outcome.output.manifest["count"] == 0
    assert outcome.output.items == [{"key": empty, "count": 0, "index": 0}]
    assert outcome.output.part_texts == [""]
    assert outcome.output.manifest["metrics"]["droppedReasons"]["EXPIRED"] == 1


class _RecordingStore:
    """A LocalDirStore that logs every object it makes visible, and can fail one of them."""

    def __init__(self, root: Path, fail_on: str | None = None) -> None:
        self.inner = LocalDirStore(root)
        self.written: list[str] = []
        self.fail_on = fail_on

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def publish(self, scratch: str, targets: dict[str, S3Location], content_type: str = "binary/octet-stream") -> None:
        self.inner.publish(scratch, targets, content_type)
        self.written.extend(t.key for t in targets.values())

    def put_bytes(self, location: S3Location, body: bytes, content_type: str = "application/json") -> None:
        if self.fail_on is not None and location.key.endswith(self.fail_on):
            raise OSError(f"refused {location.key}")
        self.inner.put_bytes(location, body, content_type)
        self.written.append(location.key)


def test_run__publish_order__parts_then_parts_list_then_manifest_and_no_manifest_on_failure(
    spark: SparkSession, tmp_path: Path
) -> None:
    key = write_manifest(tmp_path, "Filter", [[candidate(f"c{i}") for i in range(5)]])
    args = job.parse_arguments(job_argv(tmp_path, key, "HeavyETL", 2), now=REFERENCE_TIME)

    store = _RecordingStore(tmp_path)
    job.run(spark, store, args)
    failing = _RecordingStore(tmp_path, fail_on="parts.json")
    (tmp_path / "wf-bucket" / args.output.key).unlink()
    with pytest.raises(OSError, match="refused"):
        job.run(spark, failing, args)
    for used in (store, failing):
        used.close()

    assert store.written == [*map(part, range(3)), PARTS_LIST_KEY, OUTPUT_KEY]
    assert failing.written == list(map(part, range(3)))
    assert not (tmp_path / "wf-bucket" / args.output.key).exists()


def test_run__storage_root_with_space_percent_and_plus__every_part_read(spark: SparkSession, tmp_path: Path) -> None:
    # Spark names a file by its URL-encoded path: the parts must still be told apart and all read.
    root = tmp_path / "a root %41+b"
    root.mkdir()
    given = [candidate(f"c{i}") for i in range(5)]
    key = write_manifest(root, "Filter", [given[:2], given[2:3], given[3:]])

    outcome = run_job(spark, root, key, part_size=4)

    assert [c["customerId"] for c in outcome.output.candidates] == ["c0", "c1", "c2", "c3", "c4"]
    assert [p["count"] for p in outcome.output.manifest["parts"]] == [4, 1]
    assert outcome.metrics.input_count == 5


def test_run__phases__each_timed_once_in_order(spark: SparkSession, tmp_path: Path) -> None:
    key = write_manifest(tmp_path, "Filter", [[candidate("c1")]])
    args = job.parse_arguments(job_argv(tmp_path, key, "HeavyETL"), now=REFERENCE_TIME)
    phases: dict[str, float] = {}
    store = LocalDirStore(tmp_path)
    try:
        job.run(spark, store, args, phases)
    finally:
        store.close()

    assert list(phases) == ["check input", "read, rules and counts", "write parts and manifest"]
    assert all(seconds >= 0 for seconds in phases.values())


# --- refusing to run --------------------------------------------------------------------------


@pytest.mark.emulator
def test_main__input_object_missing__exits_1_naming_the_s3_path_and_writes_nothing(
    spark: SparkSession, bucket: Bucket, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = exit_of(glue_argv(state_machine_arguments(bucket.name), bucket.name), capsys)

    assert code == 1
    assert err == [f"heavy_etl: error: input object s3://{bucket.name}/{INPUT_KEY} does not exist"]
    assert bucket.all_keys() == []


def _put_manifest(bucket: Bucket, parts: dict[str, str | None]) -> list[str]:
    """Store a manifest listing ``parts`` (key suffix -> text, None: listed but not stored)."""
    keys = []
    for name, text in parts.items():
        key = f"executions/{EXECUTION_ID}/Filter/parts/{name}"
        if text is not None:
            bucket.put_json_text(key, text)
        keys.append(key)
    refs = [{"key": key, "count": 1} for key in keys]
    bucket.put_json_text(INPUT_KEY, json.dumps({"programId": "retail", "marketplace": "US", "parts": refs}))
    return keys


@pytest.mark.emulator
def test_main__listed_part_missing__exits_1_naming_its_s3_path_and_writes_nothing(
    spark: SparkSession, bucket: Bucket, capsys: pytest.CaptureFixture[str]
) -> None:
    line = json.dumps(candidate()) + "\n"
    keys = _put_manifest(bucket, {"part-00000.jsonl": line, "part-00001.jsonl": None, "part-00002.jsonl": line})
    before = bucket.all_keys()

    code, err = exit_of(glue_argv(state_machine_arguments(bucket.name), bucket.name), capsys)

    assert code == 1
    assert err == [f"heavy_etl: error: input object s3://{bucket.name}/{keys[1]} does not exist"]
    assert bucket.all_keys() == before


@pytest.mark.emulator
def test_main__part_line_not_a_json_object__exits_1_naming_part_and_line_and_writes_nothing(
    spark: SparkSession, bucket: Bucket, capsys: pytest.CaptureFixture[str]
) -> None:
    good = json.dumps(candidate())
    keys = _put_manifest(bucket, {"part-00000.jsonl": good + "\n", "part-00001.jsonl": f"{good}\n\n[1, 2]\n"})
    before = bucket.all_keys()

    code, err = exit_of(glue_argv(state_machine_arguments(bucket.name), bucket.name), capsys)

    assert code == 1
    assert err == [f"heavy_etl: error: input part s3://{bucket.name}/{keys[1]} line 3 is not a JSON object"]
    assert bucket.all_keys() == before


@pytest.mark.emulator
def test_main__part_holds_other_count_than_listed__exits_1_naming_part_and_counts_and_writes_nothing(
    spark: SparkSession, bucket: Bucket, capsys: pytest.CaptureFixture[str]
) -> None:
    # The manifest lists one candidate per part; the second part holds two.
    good = json.dumps(candidate()) + "\n"
    keys = _put_manifest(bucket, {"part-00000.jsonl": good, "part-00001.jsonl": good + good})
    before = bucket.all_keys()

    code, err = exit_of(glue_argv(state_machine_arguments(bucket.name), bucket.name), capsys)

    assert code == 1
    assert err == [
        f"heavy_etl: error: input part s3://{bucket.name}/{keys[1]} holds 2 candidates, the manifest lists 1"
    ]
    assert bucket.all_keys() == before


def test_run__listed_part_missing_on_local_files__input_error_naming_s3_path_and_no_output(
    spark: SparkSession, tmp_path: Path
) -> None:
    key = write_manifest(tmp_path, "Filter", [[candidate("c1")], [candidate("c2")]])
    missing = f"executions/{EXECUTION_ID}/Filter/parts/part-00001.jsonl"
    (tmp_path / "wf-bucket" / missing).unlink()
    args = job.parse_arguments(job_argv(tmp_path, key, "HeavyETL"), now=REFERENCE_TIME)
    store = LocalDirStore(tmp_path)

    with pytest.raises(InputError) as raised:
        job.run(spark, store, args)
    store.close()

    assert str(raised.value).startswith(f"input object s3://wf-bucket/{missing} does not exist")
    assert not (tmp_path / "wf-bucket" / args.output.key).parent.exists()


NOT_ENVELOPES = {
    "empty object": ("", "the object is empty"),
    "not JSON": ('{"candidates": [', "not valid JSON"),
    "a JSON array": ("[1, 2]", "not valid JSON, or not a JSON object"),
    "no candidates": ('{"programId": "retail", "marketplace": "US"}', "'candidates' is missing"),
    "candidates an object": (
        '{"candidates": {}, "programId": "retail", "marketplace": "US"}',
        "'candidates' is not a list of JSON objects",
    ),
    "a candidate not an object": (
        '{"candidates": [{"customerId": "c1"}, 7], "programId": "retail", "marketplace": "US"}',
        "'candidates' is not a list of JSON objects",
    ),
    "a null candidate": (
        '{"candidates": [null], "programId": "retail", "marketplace": "US"}',
        "'candidates' contains null",
    ),
    "no programId": ('{"candidates": [], "marketplace": "US"}', "'programId' is missing or empty"),
    "blank marketplace": (
        '{"candidates": [], "programId": "retail", "marketplace": " "}',
        "'marketplace' is missing or empty",
    ),
    "metrics not an object": (
        '{"candidates": [], "programId": "retail", "marketplace": "US", "metrics": [1]}',
        "'metrics' is not a JSON object",
    ),
    "candidates and parts": (
        '{"candidates": [], "parts": [], "programId": "retail", "marketplace": "US"}',
        "both 'candidates' (an envelope) and 'parts'",
    ),
    "manifest without programId": ('{"parts": [], "marketplace": "US"}', "'programId' is missing or empty"),
}


@pytest.mark.emulator
@pytest.mark.parametrize("case", NOT_ENVELOPES)
def test_main__input_not_a_stage_envelope__exits_1_naming_path_and_problem_and_writes_nothing(
    spark: SparkSession, bucket: Bucket, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    text, problem = NOT_ENVELOPES[case]
    bucket.put_json_text(INPUT_KEY, text)

    code, err = exit_of(glue_argv(state_machine_arguments(bucket.name), bucket.name), capsys)

    assert code == 1
    assert len(err) == 1
    prefix = f"heavy_etl: error: input object s3://{bucket.name}/{INPUT_KEY} is not a stage envelope or manifest: "
    assert err[0].startswith(prefix)
    assert problem in err[0]
    assert bucket.all_keys() == [INPUT_KEY]


BAD_MANIFESTS = {
    "parts an object": ({"key": "k", "count": 1}, "'parts' is not a list of {key, count} objects"),
    "parts a string": ("executions/x/part-00000.jsonl", "'parts' is not a list of {key, count} objects"),
    "item without count": ([{"key": "k"}], "'parts'[0] is not a {key: non-empty string, count: integer >= 0}"),
    "negative count": ([{"key": "k", "count": -1}], "'parts'[0] is not a {key"),
    "boolean count": ([{"key": "a", "count": 1}, {"key": "k", "count": True}], "'parts'[1] is not a {key"),
    "empty key": ([{"key": " ", "count": 0}], "'parts'[0] is not a {key"),
    "item a string": (["executions/x/part-00000.jsonl"], "'parts'[0] is not a {key"),
    "key twice": ([{"key": "k", "count": 1}, {"key": "k", "count": 1}], "'parts' lists 'k' twice"),
    "glob key": ([{"key": "executions/x/part-*.jsonl", "count": 1}], "is not one Spark can read as itself"),
}


@pytest.mark.parametrize("case", BAD_MANIFESTS)
def test_run__manifest_parts_not_a_list_of_key_count__input_error_naming_path_and_nothing_written(
    spark: SparkSession, tmp_path: Path, case: str
) -> None:
    listed, problem = BAD_MANIFESTS[case]
    key = write_envelope(tmp_path, "Filter", json.dumps({"programId": "p", "marketplace": "US", "parts": listed}))
    args = job.parse_arguments(job_argv(tmp_path, key, "HeavyETL"), now=REFERENCE_TIME)
    store = LocalDirStore(tmp_path)

    with pytest.raises(InputError) as raised:
        job.run(spark, store, args)
    store.close()

    assert str(raised.value).startswith(f"input object s3://wf-bucket/{key} is not a valid stage manifest: ")
    assert problem in str(raised.value)
    assert not (tmp_path / "wf-bucket" / args.output.key).parent.exists()


BAD_ARGUMENTS = {
    "missing --input-key": ({"--input-key": None}, "the following arguments are required: --input-key"),
    "missing several": (
        {"--execution-id": None, "--previous-stage": None},
        "the following arguments are required: --execution-id, --previous-stage",
    ),
    "empty --output-bucket": ({"--output-bucket": ""}, "argument --output-bucket: must not be empty"),
    "s3 URI as bucket": ({"--input-bucket": "s3://wf-bucket"}, "argument --input-bucket: expected a bucket name"),
    "key is a folder": ({"--output-key": "executions/x/"}, "argument --output-key: expected an object key"),
    "output is the input": ({"--output-key": INPUT_KEY}, "is also the input"),
    "bad --reference-time": ({"--reference-time": "yesterday"}, "argument --reference-time: not an ISO-8601"),
    "blank --execution-id": ({"--execution-id": "  "}, "argument --execution-id: must not be empty"),
    "--part-size 0": ({"--part-size": "0"}, "argument --part-size: expected an integer > 0, got '0'"),
    "--part-size not a number": ({"--part-size": "10k"}, "argument --part-size: expected an integer > 0, got '10k'"),
    "output beside the input": (
        {"--output-key": f"executions/{EXECUTION_ID}/Filter/heavy.json"},
        "is in the input's directory; its parts would overwrite the input's",
    ),
}


@pytest.mark.emulator
@pytest.mark.parametrize("case", BAD_ARGUMENTS)
def test_main__bad_arguments__exits_2_naming_the_argument_and_writes_nothing(
    bucket: Bucket, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    bucket.put_json_text(INPUT_KEY, json.dumps(envelope([candidate()])))
    changes, message = BAD_ARGUMENTS[case]
    arguments: dict[str, Any] = {**state_machine_arguments(bucket.name), **changes}
    argv = [token for name, value in arguments.items() if value is not None for token in (name, value)]

    code, err = exit_of(argv, capsys)

    assert code == 2
    assert len(err) == 1
    assert err[0].startswith("heavy_etl: error: ")
    assert message in err[0]
    assert bucket.all_keys() == [INPUT_KEY]


def test_parse_arguments__execution_id_starting_with_dash_and_offset_time__resolved() -> None:
    argv = [*glue_argv(state_machine_arguments("b"), "b"), "--reference-time", "2026-02-01T14:00:00+02:00"]
    argv[argv.index("--execution-id") + 1] = "-starts-with-dash"

    args = job.parse_arguments(argv, now=datetime(2000, 1, 1, tzinfo=UTC))

    assert args.execution_id == "-starts-with-dash"
    assert args.reference_time == REFERENCE_TIME
    assert args.reference_time.utcoffset() == timedelta(0)
    assert (args.input.uri, args.output.uri) == (f"s3://b/{INPUT_KEY}", f"s3://b/{OUTPUT_KEY}")
    assert (args.job_name, args.temp_dir) == ("ceap-workflow-batch-heavy-etl", "s3://b/glue-temp/")


def test_parse_arguments__prefix_of_a_job_argument__not_taken_for_it() -> None:
    # Glue adds arguments of its own; an unambiguous prefix of one of ours must stay unknown.
    full = glue_argv(state_machine_arguments("b"), "b")
    args = job.parse_arguments([*full, "--input-k", "elsewhere"], now=REFERENCE_TIME)
    assert args.input.key == INPUT_KEY
    without_key = [t for i, t in enumerate(full) if "--input-key" not in full[i - 1 : i + 1]]
    with pytest.raises(ArgumentError, match="required: --input-key"):
        job.parse_arguments([*without_key, "--input-k", INPUT_KEY], REFERENCE_TIME)


# --- how it runs on Glue ----------------------------------------------------------------------


def test_open_session__awsglue_importable__glue_context_session_and_native_s3_store(
    spark: SparkSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, Any]] = []

    class GlueContext:
        def __init__(self, context: Any) -> None:
            calls.append(("GlueContext", context))
            self.spark_session = spark

    class Job:
        def __init__(self, glue_context: GlueContext) -> None:
            calls.append(("Job", glue_context))

        def init(self, name: str, arguments: dict[str, str]) -> None:
            calls.append(("init", (name, arguments)))

        def commit(self) -> None:
            calls.append(("commit", None))

    awsglue = types.ModuleType("awsglue")
    context_module = types.ModuleType("awsglue.context")
    context_module.GlueContext = GlueContext  # type: ignore[attr-defined]
    job_module = types.ModuleType("awsglue.job")
    job_module.Job = Job  # type: ignore[attr-defined]
    for name, module in {"awsglue": awsglue, "awsglue.context": context_module, "awsglue.job": job_module}.items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    args = job.parse_arguments(glue_argv(state_machine_arguments("wf"), "wf"), REFERENCE_TIME)

    session = job.open_session(args)
    store = job.open_store(args, session.on_glue)
    session.commit()

    assert session.on_glue and session.spark is spark
    assert [name for name, _ in calls] == ["GlueContext", "Job", "init", "commit"]
    assert calls[2][1] == ("ceap-workflow-batch-heavy-etl", {"JOB_NAME": "ceap-workflow-batch-heavy-etl"})
    assert isinstance(store, NativeS3Store)
    assert store.scratch_path().startswith("s3://wf/glue-temp/ceap-heavy-etl/")


def test_entry_script__run_with_bad_arguments__exits_2_with_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(GLUE_DIR / "heavy_etl.py"), "--execution-id", "x"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "heavy_etl: error: the following arguments are required: --input-bucket, --input-key, "
        "--output-bucket, --output-key, --current-stage, --previous-stage"
    ]


def test_package__imported_from_a_zip__no_awsglue_and_no_spark_at_import(tmp_path: Path) -> None:
    # Glue loads ceap_glue from the --extra-py-files zip; importing it must do no work.
    archive = tmp_path / "ceap_glue.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for source in sorted((GLUE_DIR / "ceap_glue").glob("*.py")):
            zipped.write(source, f"ceap_glue/{source.name}")
    probe = (
        "import sys; import ceap_glue.job, ceap_glue.transforms, ceap_glue.storage;"
        "from pyspark import SparkContext;"
        "assert ceap_glue.job.__file__.startswith(sys.argv[1]), ceap_glue.job.__file__;"
        "assert 'awsglue' not in sys.modules; assert SparkContext._active_spark_context is None;"
        "print('ok')"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(archive)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PYTHONPATH": str(archive), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
