"""Names of the activities the workflow calls, so the workflow never imports effectful code."""

RECORD_EVENTS = "ledger.record_events"
SEND_NOTICE = "notify.send_notice"
SEND_NOTICES = "notify.send_notices"
WORKING_DEADLINE = "calendar.working_deadline"
MARGIN_START = "calendar.margin_start"
WORKING_HOURS_FROM = "calendar.working_hours_from"
SEND_WEEKLY_DIGEST = "digest.send_weekly"
