"""The task's vocabulary, each word spelled once: stages, messages, events, notice kinds,
channels and how an actor came in. StrEnums, so they travel in payloads and the ledger as
the same plain strings as before and mypy catches a misspelling that used to be a KeyError.

Roles (who a notice is for, who answers) are Literals with one home in workflows.policy."""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    ASSIGNED = "assigned"
    RECEIVED = "received"
    DEPLOYED = "deployed"
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"


TERMINAL_STAGES = frozenset({Stage.CLOSED, Stage.WITHDRAWN})


class Action(StrEnum):
    """A message a person sends to a task: each is one update of TaskWorkflow."""

    RECEIVE = "receive"
    DEPLOY = "deploy"
    REPORT = "report"
    VERIFY = "verify"
    REJECT = "reject"
    ACK = "ack"
    WITHDRAW = "withdraw"
    RAISE_URGENCY = "raise_urgency"
    DIFFICULTY = "difficulty"
    ANSWER_DIFFICULTY = "answer_difficulty"
    RESUME = "resume"
    REQUEST_EXTENSION = "request_extension"
    DECIDE_EXTENSION = "decide_extension"
    CONTRIBUTE = "contribute"
    DISAGREE = "disagree"
    RESOLVE = "resolve"


class EventKind(StrEnum):
    """One kind of step in the task's ledger."""

    ASSIGNED = "assigned"
    DEADLINE_SET = "deadline_set"
    WARNED = "warned"
    MISSED = "missed"
    ESCALATED = "escalated"
    REMINDED = "reminded"
    HELD = "held"
    RECEIVED = "received"
    CO_RECEIVED = "co_received"
    DEPLOYED = "deployed"
    REPORTED_PLAN = "reported_plan"
    REPORTED_PROGRESS = "reported_progress"
    REPORTED_COMPLETION = "reported_completion"
    VERIFIED = "verified"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    ACKNOWLEDGED = "acknowledged"
    URGENCY_RAISED = "urgency_raised"
    DIFFICULTY_REPORTED = "difficulty_reported"
    DIFFICULTY_ANSWERED = "difficulty_answered"
    SUSPENDED = "suspended"
    NEW_APPROACH = "new_approach"
    RESUMED = "resumed"
    EXTENSION_REQUESTED = "extension_requested"
    EXTENSION_APPROVED = "extension_approved"
    EXTENSION_REFUSED = "extension_refused"
    CONTRIBUTED = "contributed"
    DISAGREEMENT_RAISED = "disagreement_raised"
    DISAGREEMENT_RESOLVED = "disagreement_resolved"
    MATTER_OPENED = "matter_opened"
    MATTER_ESCALATED = "matter_escalated"
    MATTER_MISSED = "matter_missed"
    REPLANNED = "replanned"
    REMINDERS_SPENT = "reminders_spent"
    REFUSED = "refused"
    NOTICE_FAILED = "notice_failed"


# The events that tell a level of the ladder: the ledger's escalations table keeps them.
CLIMB_EVENTS = frozenset({EventKind.ESCALATED, EventKind.REMINDED})


class NoticeKind(StrEnum):
    """What a notice is for; each kind has its default template (activities.wording)."""

    ESCALATION = "escalation"  # a level of the ladder is told a window was missed
    COPY = "copy"  # the levels below and the co-units are told of it
    REMINDER = "reminder"  # the top of the ladder is reminded
    WARNING = "warning"  # a window closes soon
    MATTER = "matter"  # a difficulty, extension or disagreement awaits an answer
    INFO = "info"  # before release 3: contributions and failed deliveries
    RECEIVED = "received"  # the lead unit's head is told the task was signed for (S2 §5)
    CONTRIBUTION = "contribution"  # a co-unit's contribution, to the lead unit
    UNDELIVERED = "undelivered"  # the office is told a notice could not be delivered
    STALLED = "stalled"  # the office is told the top of the ladder was reminded enough


class Channel(StrEnum):
    """A way a notice reaches a person; each is one module in activities/channels/."""

    WEBHOOK = "webhook"
    WECOM = "wecom"
    DINGTALK = "dingtalk"
    FEISHU = "feishu"
    SMS = "sms"
    EMAIL = "email"


class Via(StrEnum):
    """How the actor of a message proved who they are."""

    CLI = "cli"  # the operator's command line, with the operator's login
    API = "api"  # a personal token on the HTTP API
    OIDC = "oidc"  # the office's single sign-on
    LINK = "link"  # an action link from a notice
    PAGE = "page"  # a signed-in page session
