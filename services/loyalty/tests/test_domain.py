"""Unit tests of the loyalty domain: validation, fingerprints and the default earn rule (no I/O)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest

from crm_common.errors import InvalidArgument
from loyalty.domain.orders import (
    OrderDraft,
    OrderLine,
    content_fingerprint,
    order_fingerprint,
    validate_order,
)
from loyalty.domain.program import DEFAULT_PROGRAM, Program, Tier


def an_order(**changes: object) -> OrderDraft:
    order = OrderDraft(
        brand_id="b1",
        external_id="POS-1",
        store_id="s1",
        member_id="m1",
        occurred_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
        items=(
            OrderLine(sku="SKU-1", quantity=2, amount_fen=12000),
            OrderLine(sku="SKU-2", quantity=1, amount_fen=345),
        ),
        total_fen=12345,
    )
    return dataclasses.replace(order, **changes)  # type: ignore[arg-type]


def field_of(order: OrderDraft) -> str | None:
    with pytest.raises(InvalidArgument) as caught:
        validate_order(order)
    return caught.value.field


def test_a_complete_order_is_valid() -> None:
    validate_order(an_order())
    validate_order(an_order(member_id="", member_phone="+8613800138000"))


def test_zero_total_is_a_valid_purchase() -> None:
    validate_order(an_order(total_fen=0, items=(OrderLine(sku="GIFT", quantity=1, amount_fen=0),)))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"brand_id": ""}, "brand_id"),
        ({"external_id": ""}, "external_id"),
        ({"external_id": "x" * 65}, "external_id"),
        ({"store_id": ""}, "store_id"),
        ({"member_id": ""}, "member_id"),
        ({"member_phone": "+8613800138000"}, "member_id"),
        ({"items": ()}, "items"),
        ({"items": (OrderLine(sku="A", quantity=0, amount_fen=1),)}, "items[0].quantity"),
        (
            {
                "items": (
                    OrderLine(sku="A", quantity=1, amount_fen=1),
                    OrderLine(sku="B", quantity=1, amount_fen=-1),
                )
            },
            "items[1].amount_fen",
        ),
        ({"items": (OrderLine(sku="", quantity=1, amount_fen=1),)}, "items[0].sku"),
        ({"total_fen": -1}, "total_fen"),
    ],
)
def test_validation_error_names_the_field(changes: dict[str, object], field: str) -> None:
    assert field_of(an_order(**changes)) == field


def test_external_id_of_64_characters_is_accepted() -> None:
    validate_order(an_order(external_id="x" * 64))


def test_fingerprint_is_stable_under_key_order() -> None:
    a = {"external_id": "1", "items": [{"sku": "A", "quantity": 1}], "total_fen": 5}
    b = {"total_fen": 5, "items": [{"quantity": 1, "sku": "A"}], "external_id": "1"}
    assert content_fingerprint(a) == content_fingerprint(b)


def test_fingerprint_changes_with_content() -> None:
    assert order_fingerprint(an_order()) != order_fingerprint(an_order(total_fen=12346))
    assert order_fingerprint(an_order()) != order_fingerprint(an_order(occurred_at=None))


def test_fingerprint_ignores_the_timezone_an_instant_is_written_in() -> None:
    moment = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    shanghai = moment.astimezone(timezone(timedelta(hours=8)))
    assert order_fingerprint(an_order(occurred_at=moment)) == order_fingerprint(an_order(occurred_at=shanghai))


@pytest.mark.parametrize(("total_fen", "points"), [(0, 0), (99, 0), (100, 1), (199, 1), (12345, 123)])
def test_default_program_earns_one_point_per_whole_yuan(total_fen: int, points: int) -> None:
    earning = DEFAULT_PROGRAM.earn(an_order(total_fen=total_fen))
    assert earning.points == points
    assert earning.growth_value == points


def test_default_program_has_no_tiers() -> None:
    assert DEFAULT_PROGRAM.tier_for(0) == ""
    assert DEFAULT_PROGRAM.tier_for(10**9) == ""


def test_tier_is_the_highest_reached() -> None:
    program = Program(tiers=(Tier("silver", 100), Tier("gold", 1000)))
    assert [program.tier_for(g) for g in (0, 99, 100, 999, 1000, 5000)] == [
        "",
        "",
        "silver",
        "silver",
        "gold",
        "gold",
    ]
