"""Nearest trusted addresses: great-circle distance over the (small) list, no index needed."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from bot.content import Place

EARTH_RADIUS_KM = 6371.0088


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance between two points, in kilometres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True, slots=True)
class Nearby:
    """A place and how far it is."""

    place: Place
    km: float


def nearest(places: Iterable[Place], lat: float, lon: float, k: int = 3) -> list[Nearby]:
    """The `k` places closest to (lat, lon), nearest first."""
    ranked = sorted(
        (Nearby(p, distance_km(lat, lon, p.lat, p.lon)) for p in places), key=lambda n: n.km
    )
    return ranked[:k]


def map_link(lat: float, lon: float) -> str:
    """A link that opens the point in the phone's map app."""
    return f"https://maps.google.com/?q={lat:.5f},{lon:.5f}"
