"""Automated journeys: which members a trigger selects on a day, and when the next daily run is.

A journey's trigger is a segment condition that holds for a member on exactly one day per occasion —
"birthday in N days" once a year, "N days since the last purchase" once per lapse, "the usual repurchase
interval is N days away" once per purchase — so running it every day messages each member once per occasion
without remembering who was messaged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

RUN_AT = time(10, 0)  # brand-local: after the morning quiet hours, when people read messages
TRIGGERS = ("birthday", "dormant", "repurchase")
STATUSES = ("active", "paused")


@dataclass(frozen=True)
class TriggerSpec:
    """The rule field a trigger tests, the range of its ``days`` and the default."""

    field: str
    low: int
    high: int
    default: int


SPECS = {
    "birthday": TriggerSpec("birthday_in_days", 0, 30, 3),
    "dormant": TriggerSpec("days_since_last_purchase", 14, 730, 60),
    "repurchase": TriggerSpec("repurchase_due_in_days", 0, 30, 0),
}


class JourneyInvalid(ValueError):
    """A journey breaks a rule; ``field`` names the request field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def trigger_days(trigger: str, days: int | None) -> int:
    """The trigger's ``days`` (None → its default), checked against its range."""
    if trigger not in SPECS:
        raise JourneyInvalid("trigger", f"trigger must be one of {', '.join(TRIGGERS)}")
    spec = SPECS[trigger]
    days = spec.default if days is None else days
    if not spec.low <= days <= spec.high:
        raise JourneyInvalid("days", f"days must be within [{spec.low}, {spec.high}] for {trigger}")
    return days


def journey_rule(trigger: str, days: int, extra_rule: Any | None) -> dict[str, Any]:
    """The segment rule a journey's runs select with: the trigger's condition, and the extra rule if any."""
    condition = {"field": SPECS[trigger].field, "op": "=", "value": days}
    return {"all": [condition, extra_rule]} if extra_rule is not None else {"all": [condition]}


def run_date(moment: datetime, timezone: str) -> date:
    """The brand-local day a run at ``moment`` belongs to."""
    return moment.astimezone(ZoneInfo(timezone)).date()


def next_run(after: datetime, timezone: str) -> datetime:
    """The first ``RUN_AT`` (brand-local) strictly after ``after``."""
    tz = ZoneInfo(timezone)
    local = after.astimezone(tz)
    candidate = datetime.combine(local.date(), RUN_AT, tzinfo=tz)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), RUN_AT, tzinfo=tz)
    return candidate.astimezone(after.tzinfo)
