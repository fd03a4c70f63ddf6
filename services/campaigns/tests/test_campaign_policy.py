"""The delivery policy and draft rules, pure."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from campaigns.domain.campaign import (
    CampaignInvalid,
    Content,
    Draft,
    FrequencyCap,
    QuietHours,
    retry_delay,
    roi,
    validate_draft,
)

SHANGHAI = "Asia/Shanghai"


def _utc(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


@pytest.mark.parametrize(("now", "expected"), [
    (_utc(2026, 11, 27, 5), _utc(2026, 11, 27, 5)),      # 13:00 local: send now
    (_utc(2026, 11, 27, 13), _utc(2026, 11, 28, 1)),     # 21:00 local: tomorrow 09:00 (01:00 UTC)
    (_utc(2026, 11, 27, 15, 30), _utc(2026, 11, 28, 1)),  # 23:30 local
    (_utc(2026, 11, 27, 18), _utc(2026, 11, 28, 1)),     # 02:00 local on the 28th: 09:00 the same day
    (_utc(2026, 11, 28, 0, 59), _utc(2026, 11, 28, 1)),  # 08:59 local
    (_utc(2026, 11, 28, 1), _utc(2026, 11, 28, 1)),      # 09:00 local: allowed
])
def test_quiet_hours_hold_messages_until_the_local_morning(now: datetime, expected: datetime) -> None:
    assert QuietHours().next_allowed(now, SHANGHAI) == expected


def test_a_daytime_window_and_an_empty_one() -> None:
    lunch = QuietHours(time(12, 0), time(13, 30))
    assert lunch.next_allowed(_utc(2026, 11, 27, 4, 10), SHANGHAI) == _utc(2026, 11, 27, 5, 30)
    assert not QuietHours(time(0, 0), time(0, 0)).contains(time(3, 0))


def test_quiet_hours_keep_wall_clock_across_a_dst_change() -> None:
    # New York springs forward on 8 March 2026: 22:00 EST on the 7th waits for 09:00 EDT on the 8th (13:00 UTC).
    assert QuietHours().next_allowed(_utc(2026, 3, 8, 3), "America/New_York") == _utc(2026, 3, 8, 13)


def test_frequency_cap_and_retry_backoff() -> None:
    cap = FrequencyCap(messages=2, days=7)
    assert cap.allows(0) and cap.allows(1) and not cap.allows(2)
    assert [retry_delay(n) for n in (1, 2, 3)] == [timedelta(seconds=30), timedelta(minutes=1),
                                                  timedelta(minutes=2)]
    assert retry_delay(20) == timedelta(minutes=30)


def test_roi_is_zero_when_nothing_cost_anything() -> None:
    assert roi(1_000, 100) == 9.0
    assert roi(1_000, 0) == 0.0


def _draft(**changes: object) -> Draft:
    base = dict(name=" 双十一召回 ", segment_id="seg-1", channel="sms",
                content=Content(text="", template_id="SMS_1", params={"name": "会员"}), send_at=None,
                attribution_days=0, cost_per_message_fen=0)
    return Draft(**{**base, **changes})  # type: ignore[arg-type]


def test_a_draft_gets_the_channels_defaults() -> None:
    draft = validate_draft(_draft(), {"sms"})
    assert (draft.name, draft.attribution_days, draft.cost_per_message_fen) == ("双十一召回", 7, 5)


@pytest.mark.parametrize(("changes", "field", "configured"), [
    ({"name": "  "}, "name", {"sms"}),
    ({"channel": "fax"}, "channel", {"sms"}),
    ({"channel": "push"}, "channel", {"sms", "push"}),
    ({}, "channel", {"email"}),
    ({"content": Content(text="hi")}, "content.template_id", {"sms"}),
    ({"channel": "email", "content": Content(text="hi")}, "content.subject", {"email"}),
    ({"attribution_days": 91}, "attribution_days", {"sms"}),
    ({"cost_per_message_fen": -1}, "cost_per_message_fen", {"sms"}),
    ({"content": Content(text="x" * 501, template_id="T")}, "content.text", {"sms"}),
])
def test_bad_drafts_name_the_field(changes: dict, field: str, configured: set[str]) -> None:
    with pytest.raises(CampaignInvalid) as err:
        validate_draft(_draft(**changes), configured)
    assert err.value.field == field


def test_a_window_ending_on_seconds_releases_at_that_second() -> None:
    window = QuietHours(time(21, 0), time(9, 0, 30))
    assert window.next_allowed(_utc(2026, 11, 28, 1, 0), SHANGHAI) == _utc(2026, 11, 28, 1, 0) + timedelta(seconds=30)


def test_text_postgresql_cannot_store_is_refused() -> None:
    with pytest.raises(CampaignInvalid) as err:
        validate_draft(_draft(content=Content(text="\ud800", template_id="T")), {"sms"})
    assert err.value.field == "content"
