"""The task's rules as pure functions: a message, a timer firing, a calendar answer or a
delivery's outcome goes in with the state and the time; out come the new state and the
intents the workflow carries out (record, notify, re-plan, watch a matter, count, log).

Nothing here imports Temporal or touches a clock: the tests in tests/unit/test_core_*.py run
the rules table by table in milliseconds. TaskWorkflow (workflows/task.py) is the shell that
waits, sleeps and asks the calendar, and its Effects (workflows/effects.py) carry the
intents out."""
