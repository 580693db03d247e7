"""Who the alert topics notify, as the manifest and ARCHITECTURE.md state it (issue 14 item 1)."""

from __future__ import annotations

from typing import Any

from ceap_templates.configuration import Environment


def alerts_summary(env: Environment) -> dict[str, Any]:
    """Who the alert topics notify: ``reachNoOne`` says plainly when nobody is."""
    if not env.alarm_email:
        return {
            "subscribers": [],
            "reachNoOne": True,
            "note": "no alarmEmail (alertsUnsubscribed: true): failed executions and DLQ alarms publish to "
            "topics with no subscriber; nobody is notified",
        }
    return {
        "subscribers": [{"protocol": "email", "endpoint": env.alarm_email, "needsConfirmation": True}],
        "reachNoOne": False,
        "note": "e-mail subscriptions deliver nothing until confirmed; deploy.sh and smoke-test.sh list pending ones",
    }


def alerts_note(env: Environment) -> str:
    """The manifest's sentence about the environment's alerts."""
    return str(alerts_summary(env)["note"])
