"""The read path (seed 000): customer events -> Reactive function; config updates -> batch run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from troposphere import GetAtt, Ref, awslambda, events

from ceap_templates import arns, iam
from ceap_templates.asl import STATES_START_EXECUTION_SYNC, fail_state
from ceap_templates.code import CodeArtifacts
from ceap_templates.components.alerts import AlertNames, dead_letter_alarm, failure_alerts
from ceap_templates.components.common import dead_letter_queue
from ceap_templates.components.events import EVENTS_SERVICE, start_execution_role, target
from ceap_templates.components.functions import FunctionHandle, stage_function
from ceap_templates.components.state_machines import MachineHandle, machine_arn, state_machine
from ceap_templates.components.storage import TableHandle, dedup_table
from ceap_templates.configuration import Environment
from ceap_templates.constants import (
    CUSTOMER_EVENT_SOURCE,
    CUSTOMER_EVENT_TYPES,
    PROGRAM_CONFIG_SOURCE,
    PROGRAM_CONFIG_UPDATED,
    STATES_RETRY,
)
from ceap_templates.references import Scope
from ceap_templates.stages import SERVING_REACTIVE

REACTIVE_FUNCTION_ID = "ReactiveLambdaFunction89310B25"
CUSTOMER_EVENT_RULE_ID = "CustomerEventRuleC528982C"
ORCHESTRATION_PLACEHOLDER = "OrchestrationArn"
ALERTS = AlertNames(
    "Serving",
    "ReactiveFailureRule",
    "Config-update runs that failed, timed out or were aborted",
    "ServingEvents",
    "Customer events, config updates or failure alerts could not be delivered",
)


@dataclass(frozen=True)
class ServingHandle:
    function: FunctionHandle
    machine: MachineHandle


def reactive_definition() -> dict[str, object]:
    """Seed 000 pattern 3: a config update runs the batch ingestion for that program and waits."""
    state = {
        "Type": "Task",
        "Resource": STATES_START_EXECUTION_SYNC,
        "Parameters": {
            "StateMachineArn": f"${{{ORCHESTRATION_PLACEHOLDER}}}",
            "Input": {
                "programId.$": "$.detail.programId",
                "marketplace.$": "$.detail.marketplace",
                "dateRange": {"start.$": "$.time", "end.$": "$.time"},
                "correlationId.$": "$.id",
                "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id",
            },
        },
        "ResultPath": None,
        "Retry": [STATES_RETRY.to_asl()],
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "BatchIngestionFailed"}],
        "End": True,
    }
    return {
        "Comment": "On ProgramConfigUpdated, run the data platform's batch ingestion for that program",
        "StartAt": "RunBatchIngestion",
        "TimeoutSeconds": 5 * 3600,
        "States": {"RunBatchIngestion": state, "BatchIngestionFailed": fail_state("BatchIngestion")},
    }


def serving_api(
    scope: Scope,
    env: Environment,
    code: CodeArtifacts,
    tables: Mapping[str, TableHandle],
    orchestration_component: str,
    orchestration: MachineHandle,
) -> ServingHandle:
    """Dedup table, Reactive function + customer-event rule, Reactive state machine + its rule."""
    names = env.naming
    dedup = dedup_table(scope, env)
    # Async invocations by EventBridge that still fail after Lambda's retries land here.
    function_dlq = dead_letter_queue(scope, "ReactiveFunctionDeadLetterQueue")
    function = stage_function(
        scope,
        env,
        code,
        SERVING_REACTIVE,
        {**tables, dedup.key: dedup},
        logical_id=REACTIVE_FUNCTION_ID,
        dead_letter=function_dlq,
    )
    rule = events.Rule(
        CUSTOMER_EVENT_RULE_ID,
        Name=names.customer_event_rule(),
        Description="Customer events routed to the Reactive function",
        EventPattern={"source": [CUSTOMER_EVENT_SOURCE], "detail-type": list(CUSTOMER_EVENT_TYPES)},
        State="ENABLED",
    )
    config_rule = events.Rule(
        "ProgramConfigUpdatedRule",
        Description="Program configuration updates start the Reactive state machine",
        EventPattern={"source": [PROGRAM_CONFIG_SOURCE], "detail-type": [PROGRAM_CONFIG_UPDATED]},
        State="ENABLED",
    )
    scope.add(
        awslambda.Permission(
            "ReactiveFunctionEventPermission",
            Action="lambda:InvokeFunction",
            FunctionName=scope.use(function.arn),
            Principal=EVENTS_SERVICE,
            SourceArn=GetAtt(rule, "Arn"),
        )
    )

    # Weak reference: the ARN comes from the orchestration's deterministic name, so this stack
    # deploys in the same wave as the data platform (docs/design.md 4.1).
    target_name = names.batch_ingestion_machine()
    producer_parameter = scope.weak(orchestration_component, orchestration.resource, "StateMachineName", target_name)
    orchestration_arn = arns.state_machine(target_name)
    machine = state_machine(
        scope,
        env,
        title="ReactiveStateMachine",
        prefix="Reactive",
        name=names.reactive_machine(scope.stack_name),
        machine_type="STANDARD",
        definition=reactive_definition(),
        substitutions={ORCHESTRATION_PLACEHOLDER: orchestration_arn},
        statements=[
            iam.allow("StartBatchIngestion", "state-machine", "start", [orchestration_arn]),
            iam.allow("FollowBatchIngestion", "executions", "follow", [arns.executions(target_name)]),
            iam.allow("SyncCompletionRule", "managed-rule", "manage", [arns.event_rule(arns.SYNC_MANAGED_RULE)]),
        ],
        tags={"ceap:orchestration-stack": Ref(producer_parameter)},
    )
    alerts = failure_alerts(scope, env, ALERTS, machine_arn(machine), other_rules=[rule, config_rule])
    rule.Targets = [target("reactive-function", scope.use(function.arn), alerts.dead_letters)]
    scope.add(rule)
    role = start_execution_role(scope, "ProgramConfigUpdatedRole", [machine_arn(machine)])
    config_rule.Targets = [
        target("reactive-state-machine", machine_arn(machine), alerts.dead_letters, RoleArn=GetAtt(role, "Arn"))
    ]
    scope.add(config_rule)
    dead_letter_alarm(
        scope,
        "ReactiveFunctionDeadLetterQueueAlarm",
        function_dlq,
        alerts.topic,
        "Customer events failed in the Reactive function after Lambda's retries",
    )
    return ServingHandle(function, machine)
