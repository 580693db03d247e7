"""Powertools logger, metrics and tracer shared by the handlers.

Metrics go out in CloudWatch embedded metric format on stdout (no ``cloudwatch:PutMetricData``
permission needed). Powertools comes from the public Powertools v3 Lambda layer at run time.
Service name and metric namespace are not repeated here: Powertools reads them from
``POWERTOOLS_SERVICE_NAME`` and ``POWERTOOLS_METRICS_NAMESPACE``, which the templates set on
every function (tests/lambdas/test_template_agreement.py holds them to that).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
metrics = Metrics()
tracer = Tracer()

Handler = TypeVar("Handler", bound=Callable[..., Any])


def instrumented(handler: Handler) -> Handler:
    """Wrap a Lambda entry point with structured logging, tracing and metrics (flushed once)."""
    traced = tracer.capture_lambda_handler(handler, capture_response=False)
    measured = metrics.log_metrics(traced)
    return logger.inject_lambda_context(measured, clear_state=True)  # type: ignore[return-value]


def count(name: str, value: float = 1) -> None:
    """Add a count metric to this invocation's EMF record."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def utcnow() -> datetime:
    return datetime.now(UTC)
