"""Who may send which message and see which task: each rule allowed and refused, on the
example directory (区司法局 leads, 区财政局 and 区人社局 co-operate, 区政府办公室 assigns;
the deputy secretary-general zhao.liu is on leave until 2026-12-31, qian.qi stands in)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from activities import authz
from activities.authz import Refusal, Standing, TaskFacts, decide, may_see, visible_units
from activities.directory import Directory, Person
from starter.directoryfile import read_directory
from tests.unit.test_directory import EXAMPLE
from workflows.errors import DubanError
from workflows.names import Action

ON_LEAVE = date(2026, 11, 23)  # zhao.liu away, qian.qi standing in
BACK = date(2027, 1, 4)
TASK = TaskFacts(
    id="T-1",
    assigning_unit="区政府办公室",
    lead_unit="区司法局",
    co_units=("区财政局", "区人社局"),
    late_unit="区司法局",
    approver="区政府办公室",
)


@pytest.fixture
def d() -> Directory:
    return read_directory(EXAMPLE)


def at_level(level: int, role: str) -> TaskFacts:
    return replace(TASK, level=level, level_role=role)


@pytest.mark.parametrize(
    ("person", "action", "expected"),
    [
        # lead-unit messages: the head or a member of the lead unit
        ("chen.yi", Action.RECEIVE, Standing("区司法局", "member")),
        ("zhang.san", Action.RECEIVE, Standing("区司法局", "unit_head")),
        ("chen.yi", Action.DEPLOY, Standing("区司法局", "member")),
        ("zhang.san", Action.REPORT, Standing("区司法局", "unit_head")),
        ("chen.yi", Action.DIFFICULTY, Standing("区司法局", "member")),
        ("chen.yi", Action.REQUEST_EXTENSION, Standing("区司法局", "member")),
        ("chen.yi", Action.DISAGREE, Standing("区司法局", "member")),
        # a co-unit's own receipt, contribution, disagreement
        ("lin.er", Action.RECEIVE, Standing("区财政局", "member")),
        ("li.si", Action.CONTRIBUTE, Standing("区财政局", "unit_head")),
        ("wang.wu", Action.DISAGREE, Standing("区人社局", "unit_head")),
        # assigning-unit messages: the office or a member of the assigning unit
        ("he.shan", Action.VERIFY, Standing("区政府办公室", "member")),
        ("wu.shi", Action.VERIFY, Standing("区政府办公室", "office")),
        ("he.shan", Action.REJECT, Standing("区政府办公室", "member")),
        ("he.shan", Action.WITHDRAW, Standing("区政府办公室", "member")),
        ("wu.shi", Action.RAISE_URGENCY, Standing("区政府办公室", "office")),
        ("he.shan", Action.RESUME, Standing("区政府办公室", "member")),
        ("wu.shi", Action.ANSWER_DIFFICULTY, Standing("区政府办公室", "office")),
        ("he.shan", Action.DECIDE_EXTENSION, Standing("区政府办公室", "member")),
    ],
)
def test_allowed(d: Directory, person: str, action: Action, expected: Standing) -> None:
    assert decide(d, person, action, TASK, ON_LEAVE) == expected


@pytest.mark.parametrize(
    ("person", "action", "reason"),
    [
        (
            "lin.er",
            Action.DEPLOY,
            "lin.er无权报送部署情况：任务 T-1 只有区司法局主要负责人或经办人可以报送部署情况",
        ),
        ("li.si", Action.REPORT, "只有区司法局主要负责人或经办人可以报送报告"),
        (
            "he.shan",
            Action.RECEIVE,
            "he.shan无权签收：任务 T-1 只有区司法局、区财政局、区人社局主要负责人或经办人可以签收",
        ),
        ("chen.yi", Action.CONTRIBUTE, "只有区财政局、区人社局主要负责人或经办人可以报送协办情况"),
        ("chen.yi", Action.VERIFY, "只有办公室或区政府办公室经办人可以核实销号"),
        ("zhang.san", Action.WITHDRAW, "zhang.san无权撤回任务"),
        ("lin.er", Action.ANSWER_DIFFICULTY, "lin.er无权答复执行困难"),
        ("zhou.jiu", Action.RECEIVE, "zhou.jiu无权签收"),  # leaders act by their role
        ("sun.ba", Action.VERIFY, "sun.ba无权核实销号"),
        # the unit head of the assigning unit is neither its office nor a member
        ("zhao.liu", Action.DEPLOY, "zhao.liu无权报送部署情况"),
    ],
)
def test_refused(d: Directory, person: str, action: Action, reason: str) -> None:
    with pytest.raises(Refusal) as refused:
        decide(d, person, action, TASK, ON_LEAVE)
    assert refused.value.status == 403
    assert reason in refused.value.reason


def test_an_extension_decided_by_a_named_unit_is_that_units(d: Directory) -> None:
    task = replace(TASK, approver="区财政局")
    standing = decide(d, "lin.er", Action.DECIDE_EXTENSION, task, BACK)
    assert standing == Standing("区财政局", "member")
    for person in ("he.shan", "wu.shi", "chen.yi"):
        with pytest.raises(Refusal, match="只有区财政局主要负责人或经办人可以审批延期申请"):
            decide(d, person, Action.DECIDE_EXTENSION, task, BACK)


def test_ack_is_the_holder_of_the_current_level(d: Directory) -> None:
    level1 = at_level(1, "lead_unit")
    assert decide(d, "zhang.san", Action.ACK, level1, BACK) == Standing(
        "区司法局", "unit_head", None, "lead_unit"
    )
    for person in ("chen.yi", "zhao.liu", "sun.ba", "li.si"):
        with pytest.raises(
            Refusal, match=rf"{person}无权确认督办：任务 T-1 只有区司法局主要负责人可以"
        ):
            decide(d, person, Action.ACK, level1, BACK)

    level2 = at_level(2, "deputy_secretary_general")
    expected = Standing("区司法局", "deputy_secretary_general", None, "deputy_secretary_general")
    assert decide(d, "zhao.liu", Action.ACK, level2, BACK) == expected
    # While zhao.liu is away, qian.qi stands in, and is recorded as standing in for him.
    assert decide(d, "qian.qi", Action.ACK, level2, ON_LEAVE) == replace(
        expected, stand_in_for="zhao.liu"
    )
    with pytest.raises(Refusal, match="只有分管区司法局的副秘书长可以确认督办"):
        decide(d, "qian.qi", Action.ACK, level2, BACK)  # back: no longer standing in
    for person in ("zhang.san", "chen.yi", "sun.ba", "wu.shi"):
        with pytest.raises(Refusal):
            decide(d, person, Action.ACK, level2, BACK)

    level3 = at_level(3, "principal_leader")
    assert decide(d, "sun.ba", Action.ACK, level3, BACK).message_role == "principal_leader"
    for person in ("zhao.liu", "zhang.san", "wu.shi"):
        with pytest.raises(Refusal, match="只有主要领导可以确认督办"):
            decide(d, person, Action.ACK, level3, BACK)


def test_ack_of_a_late_assigning_unit_goes_to_its_own_ladder(d: Directory) -> None:
    """A verify window missed: the assigning unit is late, its head takes it up."""
    late = replace(at_level(1, "lead_unit"), late_unit="区政府办公室")
    assert decide(d, "wu.shi", Action.ACK, late, BACK).unit == "区政府办公室"
    with pytest.raises(Refusal):
        decide(d, "zhang.san", Action.ACK, late, BACK)


def test_nothing_to_ack_or_resolve_says_so(d: Directory) -> None:
    with pytest.raises(Refusal, match="任务 T-1 未升级督办，无需确认"):
        decide(d, "zhang.san", Action.ACK, TASK, BACK)
    with pytest.raises(Refusal, match="任务 T-1 没有待协调的意见分歧"):
        decide(d, "wu.shi", Action.RESOLVE, TASK, BACK)


def test_resolve_is_the_holder_at_the_disagreements_level(d: Directory) -> None:
    office = replace(TASK, disagreement_role="office")
    assert decide(d, "wu.shi", Action.RESOLVE, office, BACK) == Standing(
        "区政府办公室", "office", None, "office"
    )
    for person in ("he.shan", "zhou.jiu", "sun.ba", "zhang.san"):
        with pytest.raises(Refusal, match="只有办公室可以协调意见分歧"):
            decide(d, person, Action.RESOLVE, office, BACK)

    in_charge = replace(TASK, disagreement_role="leader_in_charge")
    assert decide(d, "zhou.jiu", Action.RESOLVE, in_charge, BACK) == Standing(
        "区司法局", "leader_in_charge", None, "leader_in_charge"
    )
    with pytest.raises(Refusal, match="只有区司法局的分管领导可以协调意见分歧"):
        decide(d, "wu.shi", Action.RESOLVE, in_charge, BACK)

    top = replace(TASK, disagreement_role="principal_leader")
    assert decide(d, "sun.ba", Action.RESOLVE, top, BACK).message_role == "principal_leader"
    with pytest.raises(Refusal):
        decide(d, "zhou.jiu", Action.RESOLVE, top, BACK)


def test_a_stand_in_for_a_unit_head_acts_for_the_unit(d: Directory) -> None:
    from starter.directoryfile import add_leave

    leave = {"person": "zhang.san", "from": "2027-01-04", "to": "2027-01-08", "stand_in": "wang.wu"}
    add_leave(d, "leave", leave)
    assert decide(d, "wang.wu", Action.DEPLOY, TASK, BACK) == Standing(
        "区司法局", "unit_head", "zhang.san"
    )
    # wang.wu heads a co-unit too: receiving, they must say for which unit.
    with pytest.raises(Refusal) as refused:
        decide(d, "wang.wu", Action.RECEIVE, TASK, BACK)
    assert refused.value.status == 400
    assert refused.value.reason == (
        "wang.wu可以代表区人社局或区司法局签收（任务 T-1）：请用 ?unit= 指明代表哪个单位"
    )
    assert decide(d, "wang.wu", Action.RECEIVE, TASK, BACK, unit="区人社局") == Standing(
        "区人社局", "unit_head"
    )
    assert decide(d, "wang.wu", Action.RECEIVE, TASK, BACK, unit="区司法局").stand_in_for == (
        "zhang.san"
    )
    with pytest.raises(Refusal, match=r"wang\.wu无权代表区财政局签收（任务 T-1）") as other:
        decide(d, "wang.wu", Action.RECEIVE, TASK, BACK, unit="区财政局")
    assert other.value.status == 403
    # After the leave, wang.wu no longer acts for 区司法局.
    with pytest.raises(Refusal):
        decide(d, "wang.wu", Action.DEPLOY, TASK, date(2027, 1, 11))


def test_a_named_unit_one_does_not_act_for_is_refused(d: Directory) -> None:
    with pytest.raises(Refusal, match=r"chen\.yi无权代表区财政局签收（任务 T-1）"):
        decide(d, "chen.yi", Action.RECEIVE, TASK, BACK, unit="区财政局")


def outsider(d: Directory) -> Directory:
    d.people["ma.yi"] = Person("ma.yi", "马一", mobile="13800000011")
    d.units.add("区教育局")
    d.holders[("unit_head", "区教育局")] = "ma.yi"
    d.members.add(("member", "区教育局", "ma.yi"))
    return d


def test_who_sees_a_task(d: Directory) -> None:
    d = outsider(d)
    for person in ("chen.yi", "zhang.san", "lin.er", "wang.wu", "he.shan", "wu.shi", "sun.ba"):
        assert may_see(d, person, TASK, BACK), person
    assert may_see(d, "zhou.jiu", TASK, BACK)  # leader in charge of the lead unit
    assert may_see(d, "zhao.liu", TASK, BACK)  # covers the lead unit
    assert may_see(d, "qian.qi", TASK, ON_LEAVE)  # standing in for zhao.liu
    assert not may_see(d, "qian.qi", TASK, BACK)
    assert not may_see(d, "ma.yi", TASK, BACK)  # a unit with no part in it
    assert not may_see(d, "nobody", TASK, BACK)
    assert visible_units(d, "ma.yi", BACK) == frozenset({"区教育局"})
    assert visible_units(d, "sun.ba", BACK) is None and visible_units(d, "wu.shi", BACK) is None
    d.members.add(("ops", "*", "ma.yi"))  # ops sees nothing more, yet
    assert not may_see(d, "ma.yi", TASK, BACK)


def test_members_and_ops_read_from_yaml_and_csv(d: Directory, tmp_path: Path) -> None:
    from_csv = read_directory(EXAMPLE.with_suffix(".csv"))
    assert from_csv.members == d.members
    assert ("member", "区司法局", "chen.yi") in d.members
    sheet = tmp_path / "d.csv"
    rows = EXAMPLE.with_suffix(".csv").read_text(encoding="utf-8").splitlines()
    rows.append("ma.yi,马一,13800000011,,,,,ops;member:区司法局|区财政局,,,")
    sheet.write_text("\n".join(rows) + "\n", encoding="utf-8")
    read = read_directory(sheet)
    assert {m for m in read.members if m[2] == "ma.yi"} == {
        ("ops", "*", "ma.yi"),
        ("member", "区司法局", "ma.yi"),
        ("member", "区财政局", "ma.yi"),
    }
    rows[-1] = "ma.yi,马一,13800000011,,,,,member:区教育局,,,"
    sheet.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(DubanError, match="a unit needs a name and a head"):
        read_directory(sheet)
    bad = tmp_path / "d.yaml"
    text = EXAMPLE.read_text(encoding="utf-8").replace("members: [chen.yi]", "members: [no.one]")
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(DubanError, match=r"d.yaml:\d+: units\[1\]: unknown person 'no.one'"):
        read_directory(bad)


def test_who_may_assign(d: Directory) -> None:
    assert authz.may_assign(d, "wu.shi", "区政府办公室", BACK).role == "office"
    assert authz.may_assign(d, "wu.shi", "区财政局", BACK).role == "office"  # the office
    office_clerk = authz.may_assign(d, "he.shan", "区政府办公室", BACK)
    assert office_clerk == Standing("区政府办公室", "member")
    assert authz.may_assign(d, "lin.er", "区财政局", BACK).unit == "区财政局"
    refused = (("he.shan", "区财政局"), ("zhang.san", "区司法局"), ("sun.ba", "区司法局"))
    for person, unit in refused:
        reason = f"{person}无权以{unit}名义交办任务：只有办公室或{unit}经办人可以交办"
        with pytest.raises(Refusal, match=reason):
            authz.may_assign(d, person, unit, BACK)
