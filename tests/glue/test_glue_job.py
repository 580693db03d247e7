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
from glue_testkit import REFERENCE_TIME, Bucket, candidate, envelope, iso
from pyspark.sql import SparkSession

from ceap_glue import job
from ceap_glue.errors import ArgumentError
from ceap_glue.storage import NativeS3Store

GLUE_DIR = Path(__file__).resolve().parents[2] / "glue"
EXECUTION_ID = "exec-2026-02-01-0001"
INPUT_KEY = f"executions/{EXECUTION_ID}/Filter/output.json"
OUTPUT_KEY = f"executions/{EXECUTION_ID}/HeavyETL/output.json"
DAY = timedelta(days=1)


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


@pytest.mark.emulator
def test_main__state_machine_arguments__one_envelope_object_a_plain_reader_accepts(
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

    # Exactly the input and the output: no part files, markers or temp objects left behind.
    assert bucket.keys() == sorted([INPUT_KEY, OUTPUT_KEY])
    output = json.loads(bucket.text(OUTPUT_KEY))
    assert set(output) == {"candidates", "metrics", "programId", "marketplace"}
    assert (output["programId"], output["marketplace"]) == ("retail", "US")
    assert output["metrics"] == {
        "inputCount": 4,
        "outputCount": 2,
        "droppedCount": 2,
        "droppedReasons": {"INVALID": 0, "EXPIRED": 1, "DUPLICATE": 1},
        "referenceTime": "2026-02-01T12:00:00Z",
    }
    first, second = output["candidates"]
    assert {k: v for k, v in first.items() if k != "features"} == given[1]
    assert first["features"] == {"daysSinceEvent": 2, "orderValueBucket": "HIGH", "eligibleChannelCount": 1}
    assert {k: v for k, v in second.items() if k != "features"} == given[3]
    assert second["features"] == {"daysSinceEvent": 3, "orderValueBucket": "MEDIUM", "eligibleChannelCount": 2}
    for cand in output["candidates"]:
        assert {"customerId", "context", "subject", "attributes", "metadata"} <= set(cand)


@pytest.mark.emulator
def test_main__no_reference_time__expiry_measured_from_job_start(spark: SparkSession, bucket: Bucket) -> None:
    now = datetime.now(UTC)
    given = [candidate("c1", expires=now - timedelta(minutes=5)), candidate("c2", expires=now + DAY)]
    bucket.put_json_text(INPUT_KEY, json.dumps(envelope(given)))
    before = datetime.now(UTC)

    job.main(glue_argv(state_machine_arguments(bucket.name), bucket.name))

    output = json.loads(bucket.text(OUTPUT_KEY))
    assert [c["customerId"] for c in output["candidates"]] == ["c2"]
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
    rerun = args | {"--input-key": OUTPUT_KEY, "--output-key": f"executions/{EXECUTION_ID}/Rerun/output.json"}
    job.main([*glue_argv(rerun, "wf-bucket"), *common])

    once = json.loads((tmp_path / "wf-bucket" / OUTPUT_KEY).read_text())
    twice = json.loads((tmp_path / "wf-bucket" / rerun["--output-key"]).read_text())
    assert [c["customerId"] for c in once["candidates"]] == ["c1", "c2"]
    assert twice["candidates"] == once["candidates"]
    assert twice["metrics"]["droppedCount"] == 0
    # Only the two outputs were added: no scratch directory left under the root.
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == sorted(
        [f"wf-bucket/{INPUT_KEY}", f"wf-bucket/{OUTPUT_KEY}", f"wf-bucket/{rerun['--output-key']}"]
    )


# --- refusing to run --------------------------------------------------------------------------


@pytest.mark.emulator
def test_main__input_object_missing__exits_1_naming_the_s3_path_and_writes_nothing(
    spark: SparkSession, bucket: Bucket, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = exit_of(glue_argv(state_machine_arguments(bucket.name), bucket.name), capsys)

    assert code == 1
    assert err == [f"heavy_etl: error: input object s3://{bucket.name}/{INPUT_KEY} does not exist"]
    assert bucket.keys() == []


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
    assert err[0].startswith(f"heavy_etl: error: input object s3://{bucket.name}/{INPUT_KEY} is not a stage envelope: ")
    assert problem in err[0]
    assert bucket.keys() == [INPUT_KEY]


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
    assert bucket.keys() == [INPUT_KEY]


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
