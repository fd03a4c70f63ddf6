"""Default lead assignment: which store a lead belongs to, then which person in that store works it.

Pure functions over snapshots of the org directory, so every rule is unit-tested without a server. The
round-robin position is passed in and returned: the caller keeps it (per store) in the database.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from crm_common.errors import InvalidArgument

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG); the error against an ellipsoid is well under 1 %, plenty to rank stores."""

CLERK = "clerk"
STORE_MANAGER = "store_manager"


@dataclass(frozen=True)
class GeoPoint:
    """A WGS-84 position in degrees."""

    lat: float
    lng: float


@dataclass(frozen=True)
class Store:
    """What assignment needs to know about a store."""

    id: str
    city: str = ""
    location: GeoPoint | None = None
    open: bool = True


@dataclass(frozen=True)
class StaffMember:
    """What assignment needs to know about a staff member."""

    id: str
    role: str
    store_ids: tuple[str, ...] = ()
    active: bool = True


@dataclass(frozen=True)
class Assignment:
    """The person chosen and the round-robin position to remember for the store next time."""

    assignee_id: str
    """Empty when the store has nobody who can take leads."""
    next_cursor: int | None
    """The index just used (the new "last assigned index"); None when nobody was picked."""


def haversine_km(a: GeoPoint, b: GeoPoint) -> float:
    """Great-circle distance between two points in kilometres."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat = lat2 - lat1
    dlng = math.radians(b.lng - a.lng)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlng / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _same_city(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def choose_store(
    stores: Iterable[Store],
    *,
    store_id: str = "",
    location: GeoPoint | None = None,
    city: str = "",
) -> Store:
    """The lead's store: the given one, else the nearest open store, else an open store in ``city``.

    Ties (equal distance, several stores in a city) go to the smallest store id so the choice is
    deterministic across replicas. Raises InvalidArgument ``NO_STORE_FOR_LEAD`` when nothing matches.
    """
    stores = list(stores)
    if store_id:
        for store in stores:
            if store.id == store_id:
                return store
        # The caller checks existence with the directory first; reaching here means a stale snapshot.
        raise InvalidArgument(f"store {store_id} does not exist", reason="UNKNOWN_STORE", field="store_id")
    open_stores = sorted((s for s in stores if s.open), key=lambda s: s.id)
    if location is not None:
        located = [s for s in open_stores if s.location is not None]
        if located:
            return min(located, key=lambda s: haversine_km(location, s.location))  # type: ignore[arg-type]
    if city.strip():
        in_city = [s for s in open_stores if _same_city(s.city, city)]
        if in_city:
            return in_city[0]
    raise InvalidArgument(
        "no store matches this lead: give store_id, a location near an open store, or a city with one",
        reason="NO_STORE_FOR_LEAD",
        field="store_id",
    )


def candidates(staff: Iterable[StaffMember], store_id: str) -> list[str]:
    """Who takes the store's leads, in round-robin order: its active clerks, else its active managers.

    Ordered by id so that every replica walks the same sequence for the same cursor.
    """
    working = [s for s in staff if s.active and store_id in s.store_ids]
    clerks = sorted(s.id for s in working if s.role == CLERK)
    if clerks:
        return clerks
    return sorted(s.id for s in working if s.role == STORE_MANAGER)


def next_assignee(people: Sequence[str], last_index: int | None) -> Assignment:
    """Round-robin: the person after ``last_index`` (the first when there is no cursor yet).

    The index wraps modulo the current list, so a clerk joining or leaving never breaks the rotation;
    it only shifts who is next once.
    """
    if not people:
        return Assignment(assignee_id="", next_cursor=None)
    index = 0 if last_index is None else (last_index + 1) % len(people)
    return Assignment(assignee_id=people[index], next_cursor=index)
