"""Unit tests of default assignment: store choice and the round-robin among a store's people."""

from __future__ import annotations

import pytest

from crm_common.errors import InvalidArgument
from leads.domain.assignment import (
    GeoPoint,
    StaffMember,
    Store,
    candidates,
    choose_store,
    haversine_km,
    next_assignee,
)

SHANGHAI = Store("s-sh", city="Shanghai", location=GeoPoint(31.2304, 121.4737))
BEIJING = Store("s-bj", city="Beijing", location=GeoPoint(39.9042, 116.4074))
HANGZHOU_NO_GEO = Store("s-hz", city="Hangzhou")
PUDONG = GeoPoint(31.2215, 121.5447)


def test_haversine_shanghai_to_beijing_is_about_1070_km() -> None:
    assert haversine_km(SHANGHAI.location, BEIJING.location) == pytest.approx(1067, rel=0.01)  # type: ignore[arg-type]


def test_given_store_wins_over_location_and_city() -> None:
    chosen = choose_store([SHANGHAI, BEIJING], store_id="s-bj", location=PUDONG, city="Shanghai")
    assert chosen is BEIJING


def test_lead_in_pudong_goes_to_the_shanghai_store_not_beijing() -> None:
    assert choose_store([BEIJING, SHANGHAI], location=PUDONG) is SHANGHAI


def test_lead_in_beijing_goes_to_the_beijing_store() -> None:
    assert choose_store([SHANGHAI, BEIJING], location=GeoPoint(39.99, 116.31)) is BEIJING


def test_closed_store_is_skipped_even_when_nearest() -> None:
    closed_shanghai = Store("s-sh", city="Shanghai", location=SHANGHAI.location, open=False)
    assert choose_store([closed_shanghai, BEIJING], location=PUDONG) is BEIJING


def test_city_is_the_fallback_when_no_open_store_has_a_location() -> None:
    assert choose_store([HANGZHOU_NO_GEO], location=PUDONG, city="hangzhou ") is HANGZHOU_NO_GEO


def test_city_match_ignores_case() -> None:
    assert choose_store([SHANGHAI, BEIJING], city="BEIJING") is BEIJING


def test_several_stores_in_a_city_pick_the_smallest_id() -> None:
    a = Store("a", city="Shanghai")
    b = Store("b", city="Shanghai")
    assert choose_store([b, a], city="Shanghai") is a


def test_no_matching_store_is_invalid_argument_on_store_id() -> None:
    with pytest.raises(InvalidArgument) as exc:
        choose_store([SHANGHAI], city="Chengdu")
    assert exc.value.reason == "NO_STORE_FOR_LEAD"
    assert exc.value.field == "store_id"


def test_no_stores_and_no_hints_is_invalid_argument() -> None:
    with pytest.raises(InvalidArgument, match="no store"):
        choose_store([])


STAFF = [
    StaffMember("clerk-b", "clerk", ("s1",)),
    StaffMember("clerk-a", "clerk", ("s1",)),
    StaffMember("clerk-gone", "clerk", ("s1",), active=False),
    StaffMember("clerk-other-store", "clerk", ("s2",)),
    StaffMember("manager", "store_manager", ("s1",)),
]


def test_candidates_are_the_active_clerks_of_the_store_by_id() -> None:
    assert candidates(STAFF, "s1") == ["clerk-a", "clerk-b"]


def test_store_manager_takes_leads_when_the_store_has_no_active_clerk() -> None:
    staff = [
        StaffMember("clerk-gone", "clerk", ("s1",), active=False),
        StaffMember("m2", "store_manager", ("s1",)),
        StaffMember("m1", "store_manager", ("s1",)),
        StaffMember("admin", "brand_admin", ("s1",)),
    ]
    assert candidates(staff, "s1") == ["m1", "m2"]


def test_nobody_to_assign_gives_an_empty_assignee_and_keeps_no_cursor() -> None:
    assert candidates([StaffMember("admin", "brand_admin", ("s1",))], "s1") == []
    picked = next_assignee([], None)
    assert picked.assignee_id == ""
    assert picked.next_cursor is None


def test_round_robin_walks_the_clerks_in_order_and_wraps() -> None:
    people = ["a", "b", "c"]
    cursor: int | None = None
    order = []
    for _ in range(7):
        picked = next_assignee(people, cursor)
        order.append(picked.assignee_id)
        cursor = picked.next_cursor
    assert order == ["a", "b", "c", "a", "b", "c", "a"]


def test_round_robin_survives_a_clerk_leaving() -> None:
    # The cursor pointed at the last of three clerks; with two left, index 3 wraps to 1 (no IndexError).
    picked = next_assignee(["a", "b"], 2)
    assert (picked.assignee_id, picked.next_cursor) == ("b", 1)
