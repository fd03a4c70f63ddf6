"""Unit tests of working a lead: who may, what a follow-up holds, and what it does to the stage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from crm_common.errors import Conflict, InvalidArgument, PermissionDenied
from leads.domain.followup import (
    Actor,
    Channel,
    NewFollowUp,
    may_work,
    require_actor,
    stage_after_follow_up,
    stage_reason,
)
from leads.domain.lead import Stage

NOW = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)


def _follow_up(**overrides: object) -> NewFollowUp:
    values: dict[str, object] = {"note": "called, wants a fitting on Saturday", "now": NOW} | overrides
    return NewFollowUp.create(**values)  # type: ignore[arg-type]


def test_follow_up_is_trimmed_and_defaults_to_channel_other() -> None:
    follow_up = _follow_up(note="  left a voicemail  ")
    assert (follow_up.note, follow_up.channel, follow_up.next_follow_up_at) == ("left a voicemail", Channel.OTHER, None)


def test_follow_up_keeps_its_channel_and_plan() -> None:
    later = NOW + timedelta(days=2)
    follow_up = _follow_up(channel="wechat", next_follow_up_at=later)
    assert (follow_up.channel, follow_up.next_follow_up_at) == (Channel.WECHAT, later)


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"note": "   "}, "note", "REQUIRED"),
        ({"note": "x" * 2001}, "note", "TOO_LONG"),
        ({"note": "a\x00b"}, "note", "INVALID_TEXT"),
        ({"channel": "fax"}, "channel", "UNKNOWN_CHANNEL"),
        ({"next_follow_up_at": NOW}, "next_follow_up_at", "OUT_OF_RANGE"),
        ({"next_follow_up_at": NOW - timedelta(hours=1)}, "next_follow_up_at", "OUT_OF_RANGE"),
        ({"next_follow_up_at": NOW + timedelta(days=400)}, "next_follow_up_at", "OUT_OF_RANGE"),
        ({"next_follow_up_at": datetime(2026, 5, 2)}, "next_follow_up_at", "INVALID_TIME"),
    ],
)
def test_bad_follow_up_names_the_field(overrides: dict[str, object], field: str, reason: str) -> None:
    with pytest.raises(InvalidArgument) as exc:
        _follow_up(**overrides)
    assert (exc.value.field, exc.value.reason) == (field, reason)


def test_fingerprint_tells_requests_apart_but_not_time_zones() -> None:
    at = NOW + timedelta(days=1)
    same_moment = at.astimezone(timezone(timedelta(hours=8)))
    base = _follow_up(next_follow_up_at=at).fingerprint("lead-1", "clerk-1")
    assert _follow_up(next_follow_up_at=same_moment).fingerprint("lead-1", "clerk-1") == base
    assert _follow_up(next_follow_up_at=at).fingerprint("lead-2", "clerk-1") != base
    assert _follow_up(next_follow_up_at=at, note="other").fingerprint("lead-1", "clerk-1") != base


def test_the_first_follow_up_of_a_new_lead_marks_it_contacted() -> None:
    assert stage_after_follow_up(Stage.NEW) is Stage.CONTACTED
    assert stage_after_follow_up(Stage.CONTACTED) is None
    assert stage_after_follow_up(Stage.QUALIFIED) is None


@pytest.mark.parametrize("stage", [Stage.WON, Stage.LOST])
def test_a_closed_lead_takes_no_follow_up(stage: Stage) -> None:
    with pytest.raises(Conflict) as exc:
        stage_after_follow_up(stage)
    assert exc.value.reason == "LEAD_CLOSED"


def test_the_assignee_and_managers_work_a_lead_other_clerks_do_not() -> None:
    may_work("clerk-1", Actor("clerk-1"))
    may_work("clerk-1", Actor("manager-1", manager=True))
    may_work("", Actor("manager-1", manager=True))  # an unassigned lead is the manager's to hand out
    for assignee in ("clerk-1", ""):
        with pytest.raises(PermissionDenied) as exc:
            may_work(assignee, Actor("clerk-2"))
        assert exc.value.reason == "NOT_ASSIGNEE"


def test_an_actor_must_be_named() -> None:
    with pytest.raises(InvalidArgument) as exc:
        require_actor(Actor(" "))
    assert exc.value.field == "actor.staff_id"


def test_stage_reason_is_bounded() -> None:
    assert stage_reason("  chose a competitor ") == "chose a competitor"
    with pytest.raises(InvalidArgument) as exc:
        stage_reason("x" * 201)
    assert exc.value.field == "reason"
