"""Unit tests of lead validation and the pipeline stages."""

from __future__ import annotations

import pytest

from crm_common.errors import Conflict, InvalidArgument
from leads.domain.lead import NewLead, Stage, advance, change_stage, next_stages, normalize_phone, parse_stage


@pytest.mark.parametrize(
    "raw",
    ["13800138000", "138 0013 8000", "+86 138-0013-8000", "008613800138000", "(+86)13800138000"],
)
def test_chinese_mobile_numbers_normalise_to_e164(raw: str) -> None:
    assert normalize_phone(raw) == "+8613800138000"


def test_foreign_number_with_country_code_is_kept() -> None:
    assert normalize_phone("+1 650-253-0000") == "+16502530000"


@pytest.mark.parametrize("raw", ["12345", "not a phone", "1380013800", "+86 999"])
def test_invalid_phone_is_invalid_argument_on_phone(raw: str) -> None:
    with pytest.raises(InvalidArgument) as exc:
        normalize_phone(raw)
    assert exc.value.field == "phone"
    assert exc.value.reason == "INVALID_PHONE"


def _lead(**overrides: object) -> NewLead:
    values: dict[str, object] = {"brand_id": "b1", "source": "web", "phone": "13800138000"} | overrides
    return NewLead.create(**values)  # type: ignore[arg-type]


def test_valid_lead_is_normalised() -> None:
    lead = _lead(name="  Li Lei ", location=(31.2, 121.4))
    assert lead.phone == "+8613800138000"
    assert lead.name == "Li Lei"
    assert lead.location is not None and lead.location.lat == 31.2


@pytest.mark.parametrize("field", ["source", "phone", "brand_id"])
def test_required_fields(field: str) -> None:
    with pytest.raises(InvalidArgument) as exc:
        _lead(**{field: "  "})
    assert exc.value.field == field
    assert exc.value.reason == "REQUIRED"


@pytest.mark.parametrize(
    ("location", "field"),
    [((91.0, 0.0), "location.lat"), ((-90.5, 0.0), "location.lat"), ((0.0, 180.1), "location.lng"),
     ((float("nan"), 0.0), "location.lat")],
)
def test_coordinates_out_of_range(location: tuple[float, float], field: str) -> None:
    with pytest.raises(InvalidArgument) as exc:
        _lead(location=location)
    assert exc.value.field == field


def test_pipeline_moves_forward_one_stage_at_a_time() -> None:
    assert advance(Stage.NEW, Stage.CONTACTED) is Stage.CONTACTED
    assert advance(Stage.CONTACTED, Stage.QUALIFIED) is Stage.QUALIFIED
    assert advance(Stage.QUALIFIED, Stage.WON) is Stage.WON


@pytest.mark.parametrize("current", [Stage.NEW, Stage.CONTACTED, Stage.QUALIFIED])
def test_an_open_lead_can_be_lost_at_any_stage(current: Stage) -> None:
    assert advance(current, Stage.LOST) is Stage.LOST


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (Stage.NEW, Stage.QUALIFIED),
        (Stage.NEW, Stage.WON),
        (Stage.CONTACTED, Stage.WON),
        (Stage.WON, Stage.LOST),
        (Stage.LOST, Stage.CONTACTED),
        (Stage.CONTACTED, Stage.NEW),
        (Stage.QUALIFIED, Stage.CONTACTED),
    ],
)
def test_pipeline_rejects_skips_reversals_and_moves_after_the_end(current: Stage, target: Stage) -> None:
    with pytest.raises(Conflict) as exc:
        advance(current, target)
    assert exc.value.reason == "INVALID_STAGE_TRANSITION"
    assert exc.value.details["from"] == current and exc.value.details["to"] == target


def test_invalid_transition_says_where_the_lead_can_go() -> None:
    with pytest.raises(Conflict) as exc:
        advance(Stage.NEW, Stage.WON)
    assert exc.value.details["allowed"] == ["contacted", "lost"]
    assert "from new a lead moves to contacted or lost" in exc.value.message


def test_closed_leads_go_nowhere() -> None:
    assert Stage.WON.closed and Stage.LOST.closed and not Stage.QUALIFIED.closed
    assert next_stages(Stage.WON) == next_stages(Stage.LOST) == []
    with pytest.raises(Conflict) as exc:
        advance(Stage.LOST, Stage.WON)
    assert "closes it" in exc.value.message


def test_asking_for_the_current_stage_changes_nothing() -> None:
    # A retry of a change that went through: not a conflict, and nothing to store.
    assert change_stage(Stage.CONTACTED, Stage.CONTACTED) is None
    assert change_stage(Stage.WON, Stage.WON) is None
    assert change_stage(Stage.NEW, Stage.CONTACTED) is Stage.CONTACTED


def test_unknown_stage_name() -> None:
    assert parse_stage("won") is Stage.WON
    with pytest.raises(InvalidArgument) as exc:
        parse_stage("closed")
    assert (exc.value.field, exc.value.reason) == ("stage", "UNKNOWN_STAGE")


def test_text_with_nul_is_refused_before_it_reaches_the_database() -> None:
    with pytest.raises(InvalidArgument) as exc:
        _lead(name="Li\x00Lei")
    assert exc.value.field == "name"
