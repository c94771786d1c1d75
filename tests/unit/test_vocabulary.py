"""Every message kind is wired everywhere it must be: adding one to workflows.names.Action
and forgetting a place fails here, not at run time."""

from __future__ import annotations

from temporalio import workflow

from activities import authz
from starter.cli.task import MESSAGES
from starter.commands import UPDATES
from starter.http.tasks import WORDS
from workflows.core import messages
from workflows.core.refusals import CHECKS, MOVES_TO
from workflows.names import Action
from workflows.task import TaskWorkflow


def test_every_action_is_an_update_of_the_workflow_with_a_validator() -> None:
    defn = workflow._Definition.must_from_class(TaskWorkflow)
    assert set(defn.updates) == {a.value for a in Action}
    assert all(defn.updates[a.value].validator is not None for a in Action)


def test_every_action_has_the_task_s_rules() -> None:
    for action in Action:
        moves = any(k.split(":")[0] == action.value for k in MOVES_TO)
        assert moves or action in CHECKS, f"{action}: no refusal rule"
        assert moves or action in messages._HANDLERS, f"{action}: no effect"


def test_every_action_is_a_command_and_an_api_word_and_someone_may_send_it() -> None:
    assert {action for action, _, _ in MESSAGES.values()} == set(Action)
    assert set(UPDATES) == set(Action)
    assert set(WORDS.values()) == set(Action)
    for action in Action:
        senders = (
            action in authz.LEAD_ACTIONS
            or action in authz.CO_ACTIONS
            or action in authz.ASSIGNING_ACTIONS
            or action in (Action.ACK, Action.RESOLVE, Action.DECIDE_EXTENSION)
        )
        assert senders, f"{action}: nobody may send it"
