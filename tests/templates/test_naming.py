"""Naming: AWS limits, the environment exactly once, dual naming."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ceap_templates.errors import NamingError
from ceap_templates.naming import Naming, check_name, resolved_length
from ceap_templates.stages import STAGES
from support.aws_limits import LIMIT  # AWS's documented limits, never the generator's

env_names = st.from_regex(r"^[a-z][a-z0-9]{1,9}$", fullmatch=True)
roles = st.sampled_from(["Database", "DataPlatform", "ServingAPI", "EtlWorkflow", "Orchestration"])


@given(env=env_names, role=roles, purpose=st.sampled_from(list(STAGES)))
def test_function_name__stack_then_purpose__environment_once(env: str, role: str, purpose: str) -> None:
    names = Naming(env)
    stack = names.stack(role)
    name = names.function(stack, purpose)
    assert name == f"Ceap{role}-{env}-{purpose}Lambda"
    assert name.count(f"-{env}-") == 1
    assert len(name) <= LIMIT["lambda"]


def test_function_name__environment_twice__refused() -> None:
    with pytest.raises(NamingError, match="carries the environment 'dev' twice"):
        Naming("dev").function("CeapDataPlatform-dev-dev", "ETL")


@given(env=env_names, role=roles)
def test_generated_names__no_function_or_bucket_name(env: str, role: str) -> None:
    names = Naming(env, explicit=False)
    assert names.function(names.stack(role), "ETL") is None
    assert names.batch_bucket(names.stack(role)) is None
    # Names other stacks depend on stay explicit.
    assert names.batch_ingestion_machine() == f"CeapBatchIngestion-{env}"
    assert names.table("Candidates") == f"Candidates-{env}"


@given(kind=st.sampled_from(sorted(LIMIT)), extra=st.integers(min_value=1, max_value=40))
def test_check_name__over_the_limit__refused_with_the_limit(kind: str, extra: int) -> None:
    limit = LIMIT[kind]
    assert check_name(kind, "a" * limit) == "a" * limit
    with pytest.raises(NamingError, match=f"at most {limit}"):
        check_name(kind, "a" * (limit + extra))


def test_bucket_names__lowercase_only_and_account_token_counted() -> None:
    with pytest.raises(NamingError, match="lowercase"):
        check_name("bucket", "Ceap-Bucket")
    assert resolved_length("ceap-workflow-x-${AWS::AccountId}") == len("ceap-workflow-x-") + 12
    with pytest.raises(NamingError):
        Naming.workflow_bucket("w" * 40)


def test_workflow_names__no_environment_and_seed_004_patterns() -> None:
    assert Naming.workflow_stack("realtime") == "CeapWorkflow-realtime"
    assert Naming.workflow_machine("batch") == "Ceap-batch-Workflow"
    assert Naming.workflow_queue("batch", "dlq") == "ceap-workflow-batch-dlq"
    assert Naming("dev").function("CeapWorkflow-realtime", "Filter") == "CeapWorkflow-realtime-FilterLambda"
    assert (
        Naming("dev", explicit=False).function("CeapWorkflow-realtime", "Filter")
        == "CeapWorkflow-realtime-FilterLambda"
    )
