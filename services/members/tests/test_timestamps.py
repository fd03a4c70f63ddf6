"""Members' datetimes become the same protobuf Timestamps as Timestamp.FromDatetime makes."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from members.adapters.grpc_api import _ts


def _reference(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def test_random_moments_aware_and_naive_match_from_datetime() -> None:
    rng = random.Random(3)
    zones = [UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5, minutes=-30))]
    for _ in range(5_000):
        naive = datetime(1, 1, 2) + timedelta(microseconds=rng.randrange(int(3.1e17)))
        for moment in (naive, naive.replace(tzinfo=rng.choice(zones))):
            assert _ts(moment) == _reference(moment), moment


@pytest.mark.parametrize(
    "moment",
    [
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(2026, 11, 26, 8, 0, 0, 123_000, tzinfo=UTC),
        datetime(9999, 12, 30, 23, 59, 59, 999_999),
    ],
)
def test_edges(moment: datetime) -> None:
    assert _ts(moment) == _reference(moment)


def test_anything_else_is_still_a_type_error() -> None:
    with pytest.raises(TypeError):
        _ts("2026-01-01")  # type: ignore[arg-type]
