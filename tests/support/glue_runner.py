"""Run Glue jobs for real under moto: a ``StartJobRun`` of a registered job runs its script on local Spark.

moto's Glue backend (``moto/glue/models.py``) records a job run and moves it through STARTING,
RUNNING and SUCCEEDED by its state manager (``glue::job_run``) without running anything. Inside
:func:`local_glue_jobs`, ``FakeJob.start_job_run`` of a registered job name also starts the job's
entry point (e.g. ``ceap_glue.job.main``) in a thread with the run's arguments as Glue passes them
(``--name value`` pairs: the job's ``DefaultArguments`` overlaid with the run's ``Arguments`` and
``NonOverridableArguments``, as moto merges them, then ``--JOB_NAME`` and ``--JOB_RUN_ID``). The run
is RUNNING while the entry point runs and ends SUCCEEDED when it returns (or exits with status 0),
else FAILED with ``ErrorMessage``: the last line the job wrote to stderr (``ceap_glue.job.main``
writes ``heavy_etl: error: ...`` there before ``SystemExit``), or the exception (AWS Glue words its
own ``ErrorMessage``; this one names what the job said, so a failed test can be read). ``GetJobRun``
and the Step Functions ``glue:startJobRun.sync`` polling (:func:`support.asl_runner.glue_sync_supported`)
see exactly that. Jobs not registered keep moto's behaviour.

The job talks to whatever boto3 reaches: inside ``mock_aws`` that is moto itself (``StagedS3Store``
downloads the input objects and uploads the parts through boto3). Spark is the one local session of
the test process (:func:`spark_session`); the job's own ``SparkSession.builder.getOrCreate()``
returns it, so a run costs no Spark start-up. Runs are serialised (one session, and the job
thread's stderr is told apart from other threads' by :class:`_ThreadStderr`).

moto internals used (5.2.x): ``FakeJob.start_job_run`` / ``job_runs``, ``FakeJobRun.as_dict`` and
the ``ManagedState`` fields ``_status`` / ``_transitions`` (a run with no transitions keeps its
status whatever progression the state manager is set to).
"""

from __future__ import annotations

import io
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TextIO
from unittest import mock

from moto.glue import models as glue_models

#: A Glue job's script: called with the arguments (without a program name), as ``sys.argv[1:]``.
EntryPoint = Callable[[Sequence[str]], None]

_SPARK_LOCK = threading.Lock()


def spark_session() -> Any:
    """The test process's one SparkSession (created on first use, then reused).

    Same settings as the ``spark`` fixture of tests/glue/conftest.py (local[2], 2 shuffle
    partitions, no UI, UTC, adaptive execution off), so whichever asks first, both get one session.
    """
    from pyspark.sql import SparkSession

    # Python workers (the features UDF) must be this interpreter, not whatever python3 is on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    with _SPARK_LOCK:
        session = (
            SparkSession.builder.master("local[2]")
            .appName("ceap-glue-tests")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.default.parallelism", "2")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.adaptive.enabled", "false")
            .getOrCreate()
        )
        session.sparkContext.setLogLevel("ERROR")
    return session


@dataclass
class JobRun:
    """One run a registered job really executed."""

    job_name: str
    run_id: str
    arguments: dict[str, str]
    state: str = "STARTING"
    error_message: str | None = None
    seconds: float = 0.0
    stderr: str = ""

    @property
    def argv(self) -> list[str]:
        """The job's ``sys.argv[1:]`` on Glue: the arguments, then the ones Glue adds."""
        tokens = [token for name, value in self.arguments.items() for token in (name, value)]
        return [*tokens, "--JOB_NAME", self.job_name, "--JOB_RUN_ID", self.run_id]


class _ThreadStderr:
    """``sys.stderr`` that also copies what chosen threads write into their own buffer."""

    def __init__(self, inner: TextIO) -> None:
        self.inner = inner
        self._buffers: dict[int, io.StringIO] = {}

    @contextmanager
    def captured(self) -> Iterator[io.StringIO]:
        buffer = io.StringIO()
        ident = threading.get_ident()
        self._buffers[ident] = buffer
        try:
            yield buffer
        finally:
            self._buffers.pop(ident, None)

    def write(self, text: str) -> int:
        buffer = self._buffers.get(threading.get_ident())
        if buffer is not None:
            buffer.write(text)
        return self.inner.write(text)

    def flush(self) -> None:
        self.inner.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@dataclass
class LocalGlue:
    """The registered jobs and every run they executed, in start order."""

    entry_points: Mapping[str, EntryPoint]
    spark: bool = True
    runs: list[JobRun] = field(default_factory=list)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stderr: _ThreadStderr | None = None

    def wait(self, timeout: float = 300.0) -> None:
        """Wait until every started run has finished."""
        deadline = time.monotonic() + timeout
        for thread in list(self._threads):
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                raise TimeoutError(f"a local Glue job run still runs after {timeout} s")

    def start(self, fake_run: Any) -> None:
        run = JobRun(fake_run.job_name, fake_run.job_run_id, dict(fake_run.arguments or {}))
        self.runs.append(run)
        _pin(fake_run, "STARTING")
        thread = threading.Thread(
            target=self._execute, args=(run, fake_run), name=f"glue-{run.run_id[:12]}", daemon=True
        )
        self._threads.append(thread)
        thread.start()

    def _execute(self, run: JobRun, fake_run: Any) -> None:
        entry_point = self.entry_points[run.job_name]
        started = time.monotonic()
        with self._lock:
            _pin(fake_run, "RUNNING")
            run.state = "RUNNING"
            state, message = "SUCCEEDED", None
            assert self._stderr is not None
            with self._stderr.captured() as buffer:
                try:
                    if self.spark:
                        spark_session()  # before the job's own getOrCreate(): the shared session
                    entry_point(run.argv)
                except SystemExit as exit_:
                    if exit_.code not in (None, 0):
                        state, message = "FAILED", _last_line(buffer.getvalue()) or f"SystemExit: {exit_.code}"
                except Exception as exc:  # the job crashed: Glue fails the run with the exception
                    state, message = "FAILED", f"{type(exc).__name__}: {exc}"
            run.stderr = buffer.getvalue()
        run.seconds = time.monotonic() - started
        run.error_message = message
        fake_run.local_error_message = message
        fake_run.completed_on = glue_models.utcnow()
        run.state = state
        _pin(fake_run, state)


def _last_line(text: str) -> str | None:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else None


def _pin(fake_run: Any, status: str) -> None:
    """Give a moto job run this status and no transitions, so the state manager keeps it there."""
    fake_run._transitions = []
    fake_run._status = status


@contextmanager
def local_glue_jobs(entry_points: Mapping[str, EntryPoint], *, spark: bool = True) -> Iterator[LocalGlue]:
    """Within the block, a moto ``StartJobRun`` of a job named in ``entry_points`` really runs it.

    Parameters
    ----------
    entry_points
        Job name → the script's entry point, called with the run's arguments
        (for the HeavyETL job: ``ceap_glue.job.main``).
    spark
        Whether the entry points use Spark: the test process's session (:func:`spark_session`) is
        then started before the first run, so the job's ``getOrCreate()`` returns it. A stand-in
        that needs no Spark passes ``False``.

    Yields
    ------
    LocalGlue
        The runs started so far (arguments, final state, error message, stderr, duration).
        Leaving the block waits for the runs still going.
    """
    if not hasattr(glue_models.FakeJob, "start_job_run") or not hasattr(glue_models.FakeJobRun, "as_dict"):
        raise RuntimeError("moto's Glue models changed (FakeJob.start_job_run, FakeJobRun.as_dict): update the runner")
    runner = LocalGlue(dict(entry_points), spark)
    original_start = glue_models.FakeJob.start_job_run
    original_as_dict = glue_models.FakeJobRun.as_dict

    def start_job_run(job: Any, **kwargs: Any) -> str:
        run_id: str = original_start(job, **kwargs)
        if job.name in runner.entry_points:
            (fake_run,) = [r for r in job.job_runs if r.job_run_id == run_id]
            runner.start(fake_run)
        return run_id

    def as_dict(fake_run: Any) -> dict[str, Any]:
        described: dict[str, Any] = original_as_dict(fake_run)
        message = getattr(fake_run, "local_error_message", None)
        if message:
            described["ErrorMessage"] = message
        return described

    stderr = _ThreadStderr(sys.stderr)
    runner._stderr = stderr
    sys.stderr = stderr
    try:
        with (
            mock.patch.object(glue_models.FakeJob, "start_job_run", start_job_run),
            mock.patch.object(glue_models.FakeJobRun, "as_dict", as_dict),
        ):
            try:
                yield runner
            finally:
                runner.wait()
    finally:
        if sys.stderr is stderr:
            sys.stderr = stderr.inner
