"""The read path (seed 000): customer events -> Reactive function; config updates -> batch run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from awacs import events as events_actions
from awacs import states as states_actions
from awacs.aws import Allow, Statement
from troposphere import GetAtt, Ref, Sub, awslambda, events

from ceap_templates.asl import STATES_START_EXECUTION_SYNC, fail_state
from ceap_templates.code import CodeArtifacts
from ceap_templates.components.alerts import alert_topic, dead_letter_alarm
from ceap_templates.components.common import dead_letter_queue
from ceap_templates.components.events import (
    TARGET_RETRY,
    dead_letter,
    execution_failed_pattern,
    start_execution_role,
    target_dead_letter_queue,
)
from ceap_templates.components.functions import FunctionHandle, FunctionSpec, TableGrant, stage_function
from ceap_templates.components.state_machines import MachineHandle, machine_arn, state_machine
from ceap_templates.components.storage import TableHandle, dedup_table
from ceap_templates.configuration import Environment
from ceap_templates.constants import (
    CUSTOMER_EVENT_SOURCE,
    CUSTOMER_EVENT_TYPES,
    PROGRAM_CONFIG_SOURCE,
    PROGRAM_CONFIG_UPDATED,
    SERVING_REACTIVE,
    STATES_RETRY,
)
from ceap_templates.references import Scope

REACTIVE_FUNCTION_ID = "ReactiveLambdaFunction89310B25"
CUSTOMER_EVENT_RULE_ID = "CustomerEventRuleC528982C"
ORCHESTRATION_PLACEHOLDER = "OrchestrationArn"


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
    orchestration_resource: str,
) -> ServingHandle:
    """Dedup table, Reactive function + customer-event rule, Reactive state machine + its rule."""
    names = env.naming
    dedup = dedup_table(scope, env)
    dedup_handle = TableHandle(
        key="Deduplication",
        logical_id=dedup.title,
        name=scope.share("DeduplicationTableName", Ref(dedup)),
        arn=scope.share("DeduplicationTableArn", GetAtt(dedup, "Arn")),
        has_indexes=False,
    )
    # Async invocations by EventBridge that still fail after Lambda's retries land here.
    function_dlq = dead_letter_queue(scope, "ReactiveFunctionDeadLetterQueue")
    function = stage_function(
        scope,
        env,
        code,
        FunctionSpec(
            stage=SERVING_REACTIVE,
            logical_id=REACTIVE_FUNCTION_ID,
            prefix="Reactive",
            purpose="Reactive",
            tables=(
                TableGrant(tables["Candidates"], "write"),
                TableGrant(tables["ProgramConfig"], "read"),
                TableGrant(tables["ScoreCache"], "cache"),
                TableGrant(dedup_handle, "dedup"),
            ),
            dead_letter_arn=GetAtt(function_dlq, "Arn"),
        ),
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
    # Its pattern names the Reactive machine, defined below.
    failure_rule = events.Rule(
        "ReactiveFailureRule",
        Description="Config-update runs that failed, timed out or were aborted",
        State="ENABLED",
    )
    queue = target_dead_letter_queue(scope, "ServingEvents", [rule, config_rule, failure_rule])
    rule.Targets = [
        events.Target(
            Id="reactive-function",
            Arn=scope.use(function.arn),
            DeadLetterConfig=dead_letter(queue),
            RetryPolicy=TARGET_RETRY,
        )
    ]
    scope.add(rule)
    scope.add(
        awslambda.Permission(
            "ReactiveFunctionEventPermission",
            Action="lambda:InvokeFunction",
            FunctionName=scope.use(function.arn),
            Principal="events.amazonaws.com",
            SourceArn=GetAtt(rule, "Arn"),
        )
    )

    # Weak reference: the ARN comes from the orchestration's deterministic name, so this stack
    # deploys in the same wave as the data platform (SYSTEM.md 4.1).
    target_name = names.batch_ingestion_machine()
    producer_parameter = scope.weak(orchestration_component, orchestration_resource, "StateMachineName", target_name)
    orchestration_arn = Sub(
        f"arn:${{AWS::Partition}}:states:${{AWS::Region}}:${{AWS::AccountId}}:stateMachine:{target_name}"
    )
    executions = Sub(f"arn:${{AWS::Partition}}:states:${{AWS::Region}}:${{AWS::AccountId}}:execution:{target_name}:*")
    managed_rule = Sub(
        "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/"
        "StepFunctionsGetEventsForStepFunctionsExecutionRule"
    )
    machine = state_machine(
        scope,
        env,
        title="ReactiveStateMachine",
        prefix="Reactive",
        name=names.reactive_machine(),
        machine_type="STANDARD",
        definition=reactive_definition(),
        substitutions={ORCHESTRATION_PLACEHOLDER: orchestration_arn},
        statements=[
            Statement(
                Sid="StartBatchIngestion",
                Effect=Allow,
                Action=[states_actions.StartExecution],
                Resource=[orchestration_arn],
            ),
            Statement(
                Sid="FollowBatchIngestion",
                Effect=Allow,
                Action=[states_actions.DescribeExecution, states_actions.StopExecution],
                Resource=[executions],
            ),
            # `.sync:2` waits through a managed EventBridge rule (AWS docs, "Run a Job (.sync)").
            Statement(
                Sid="SyncCompletionRule",
                Effect=Allow,
                Action=[events_actions.PutTargets, events_actions.PutRule, events_actions.DescribeRule],
                Resource=[managed_rule],
            ),
        ],
        tags={"ceap:orchestration-stack": Ref(producer_parameter)},
    )
    role = start_execution_role(scope, "ProgramConfigUpdatedRole", [machine_arn(machine)])
    config_rule.Targets = [
        events.Target(
            Id="reactive-state-machine",
            Arn=machine_arn(machine),
            RoleArn=GetAtt(role, "Arn"),
            DeadLetterConfig=dead_letter(queue),
            RetryPolicy=TARGET_RETRY,
        )
    ]
    scope.add(config_rule)
    topic = alert_topic(scope, env, "Serving", [GetAtt(failure_rule, "Arn")])
    failure_rule.EventPattern = execution_failed_pattern(machine_arn(machine))
    failure_rule.Targets = [
        events.Target(Id="alerts", Arn=Ref(topic), DeadLetterConfig=dead_letter(queue), RetryPolicy=TARGET_RETRY)
    ]
    scope.add(failure_rule)
    dead_letter_alarm(
        scope,
        "ServingEventsDeadLetterQueueAlarm",
        queue,
        topic,
        "Customer events, config updates or failure alerts could not be delivered",
    )
    dead_letter_alarm(
        scope,
        "ReactiveFunctionDeadLetterQueueAlarm",
        function_dlq,
        topic,
        "Customer events failed in the Reactive function after Lambda's retries",
    )
    return ServingHandle(function, machine)
