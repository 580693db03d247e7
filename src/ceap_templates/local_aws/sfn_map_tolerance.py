"""Distributed Map failure thresholds (``ToleratedFailureCount`` / ``ToleratedFailurePercentage``).

moto 5.2.5 counts a Distributed Map's failed children but never compares them with the
thresholds ("TODO: add support for failure toleration fields" in its ``map_run_record``): a
Map whose children all fail succeeds, and the state after it runs. AWS fails the Map Run with
``States.ExceedToleratedFailureThreshold`` when more items fail than tolerated; both thresholds
default to 0, so without them any failed item fails the Map
(https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html, "Setting
failure thresholds"). The Map state's ``Catch`` then handles that error.

moto stores an absent threshold as 0, so a 0 beside a non-zero other threshold is read as absent
(AWS would apply an explicit 0 there too); the platform's Maps set ``ToleratedFailureCount: 0``
alone, which both read the same way.
"""

from __future__ import annotations

from typing import Any, Final

EXCEEDED_CAUSE: Final = "The specified tolerated failure threshold was exceeded"


def exceeds(failed: int, total: int, count: int, percentage: float) -> bool:
    """Whether ``failed`` of ``total`` items exceed the thresholds as AWS applies them."""
    if failed == 0:
        return False
    over_count = failed > count
    over_percentage = total > 0 and failed * 100.0 / total > percentage
    if count and not percentage:
        return over_count
    if percentage and not count:
        return over_percentage
    return over_count or over_percentage


def apply() -> None:
    from moto.stepfunctions.parser.api import HistoryEventType, MapRunFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
        distributed_iteration_component as component,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    original = component.DistributedIterationComponent._map_run

    def _map_run(self: Any, env: Any, eval_input: Any) -> None:
        original(self, env, eval_input)
        record = eval_input.map_run_record
        failed = record.item_counter.failed.get() + record.item_counter.timed_out.get()
        total = record.item_counter.total.get()
        if exceeds(failed, total, record.tolerated_failure_count, record.tolerated_failure_percentage):
            error = StatesErrorNameType.StatesExceedToleratedFailureThreshold
            raise FailureEventException(
                failure_event=FailureEvent(
                    env=env,
                    error_name=StatesErrorName(typ=error),
                    event_type=HistoryEventType.MapRunFailed,
                    # moto's TypedDict lists every detail key as required; one is what it sends.
                    event_details=EventDetails(  # type: ignore[typeddict-item]
                        mapRunFailedEventDetails=MapRunFailedEventDetails(error=error.to_name(), cause=EXCEEDED_CAUSE)
                    ),
                )
            )

    component.DistributedIterationComponent._map_run = _map_run  # type: ignore[method-assign]
