"""A name-length error shows the name it counted (issue 14 item 19)."""

from __future__ import annotations

import re

import pytest

from ceap_templates.errors import NamingError
from ceap_templates.naming import check_name
from ceap_templates.validation.names import limit_problem

#: A bucket name 2 characters over S3's 63 once `${AWS::AccountId}` (12 digits) resolves.
TEMPLATE_NAME = "ceap-workflow-" + "w" * 38 + "-${AWS::AccountId}"


def _counted(message: str) -> tuple[str, int]:
    found = re.search(r"name '([^']+)' .*?is (\d+) characters", message)
    assert found, message
    return found.group(1), int(found.group(2))


def test_generator_error__prints_the_expanded_name_it_counted() -> None:
    with pytest.raises(NamingError) as error:
        check_name("bucket", TEMPLATE_NAME)
    shown, length = _counted(str(error.value))
    assert "${" not in shown and length == len(shown) == 65
    assert shown.endswith("-123456789012")
    assert TEMPLATE_NAME in str(error.value)  # the template form too, to find it in the config


def test_validator_finding__prints_the_expanded_name_it_counted() -> None:
    problem = limit_problem("bucket", TEMPLATE_NAME)
    assert problem is not None
    shown, length = _counted(problem)
    assert "${" not in shown and length == len(shown) == 65


def test_name_without_tokens__printed_as_is() -> None:
    with pytest.raises(NamingError, match=r"lambda name 'f{65}' is 65 characters"):
        check_name("lambda", "f" * 65)
