"""The policies the tests run on, in one place.

HOURLY counts its windows in plain hours with no quiet hours, so a test on the
time-skipping server (tests/workflows/) or in the pure core (tests/unit/) walks a whole
climb in a few skipped hours instead of working days."""

from __future__ import annotations

from workflows.policy import Policy

HOURLY = Policy.model_validate(
    {
        "name": "hourly",
        "windows": {
            "receive": "1h",
            "deploy": "1h",
            "plan": "3h",
            "progress": "5h",
            "stage_every": "4h",
            "verify": "2h",
        },
        "escalation": [
            {"level": "lead_unit", "answer_within": "1h"},
            {"level": "deputy_secretary_general", "answer_within": "1h"},
            {"level": "principal_leader", "answer_within": "2h"},
        ],
        "warning_margin": "30m",
        "quiet_hours": False,
    }
)
