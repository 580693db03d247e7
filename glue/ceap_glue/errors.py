"""Errors that end the job with one clear message and a non-zero exit status.

Anything else (S3 throttling or 5xx, a Spark executor lost) propagates as an exception, so Glue
reports the run as failed and Step Functions' Retry on the Glue task applies.
"""

from __future__ import annotations


class JobError(Exception):
    """A permanent failure of the job: retrying the same run cannot succeed."""

    #: Process exit status ``main()`` uses for this error.
    exit_code: int = 1


class ArgumentError(JobError):
    """A job argument is missing or malformed (exit status 2, as argparse uses)."""

    exit_code = 2


class InputError(JobError):
    """The input object is missing, unreadable or not a stage envelope."""


class OutputError(JobError):
    """Spark's output could not be turned into exactly one object at the output key."""
