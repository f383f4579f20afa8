"""The evidence-integrity rules, pure (inspections/flag_rules.py, registry/boundaries.py): distances outside a
boundary in metres, EXIF times read as Beijing time, perceptual-hash bands that never miss a near-duplicate."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inspections.flag_rules import (
    FiledBy,
    LocationMissing,
    Position,
    boundary_flag,
    exif_time_flag,
    hash_bands,
    hash_distance,
    location_flag,
    reuse_differences,
)
from inspections.rules import PHASH_BANDS, IntegrityRules
from registry.boundaries import BoundaryError, metres_outside, parse_boundary

RULES = IntegrityRules()
LAT, LON = 39.118, 117.205
SQUARE = {
    "type": "Polygon",
    "coordinates": [[[LON - 0.001, LAT - 0.001], [LON + 0.001, LAT - 0.001], [LON + 0.001, LAT + 0.001], [LON - 0.001, LAT + 0.001], [LON - 0.001, LAT - 0.001]]],
}


def test_a_position_inside_the_boundary_is_no_distance_away_and_one_north_of_it_is_measured_in_metres() -> None:
    assert metres_outside(SQUARE, LAT, LON) == 0
    # 0.001° of latitude is 111.2 m on the mean sphere; of longitude at 39.1°N, 86.3 m.
    assert metres_outside(SQUARE, LAT + 0.002, LON) == pytest.approx(111.2, abs=0.5)
    assert metres_outside(SQUARE, LAT, LON + 0.002) == pytest.approx(86.3, abs=0.5)
    assert boundary_flag(Position(LAT + 0.0015, LON), SQUARE, RULES) is None  # 56 m out: within 100 m
    flag = boundary_flag(Position(LAT + 0.003, LON), SQUARE, RULES)
    assert flag is not None and flag["distance_m"] == 222 and flag["tolerance_m"] == 100
    assert boundary_flag(None, SQUARE, RULES) is None and boundary_flag(Position(0, 0), None, RULES) is None


def test_a_missing_location_says_why() -> None:
    assert location_flag(None, LocationMissing.REFUSED) == {"reason": "refused"}
    assert location_flag(None, None) == {"reason": "not_sent"}
    assert location_flag(Position(LAT, LON), None) is None


def test_the_exif_time_is_the_cameras_beijing_clock() -> None:
    claimed = datetime(2026, 10, 12, 1, 30, tzinfo=UTC)  # 09:30 in Beijing
    assert exif_time_flag("2026:10:12 09:00:00", claimed, RULES) is None
    assert exif_time_flag("2026:10:12 11:30:00", claimed, RULES) is None  # exactly 2 hours: within
    flag = exif_time_flag("2026:10:12 11:31:00", claimed, RULES)
    assert flag == {"exif_taken_at": "2026:10:12 11:31:00", "minutes_apart": 121, "tolerance_minutes": 120}
    assert exif_time_flag(None, claimed, RULES) is None and exif_time_flag("0000:00:00 00:00:00", claimed, RULES) is None
    assert exif_time_flag("2026:10:12 09:30:00", claimed + timedelta(days=1), RULES) is not None


@given(st.integers(0, 2**64 - 1), st.sets(st.integers(0, 63), max_size=PHASH_BANDS - 1))
def test_two_hashes_within_the_limit_always_share_a_band(value: int, flipped: set[int]) -> None:
    first = f"{value:016x}"
    second = f"{value ^ sum(1 << bit for bit in flipped):016x}"
    assert hash_distance(first, second) == len(flipped)
    assert set(hash_bands(first)) & set(hash_bands(second))


def test_reuse_is_another_estate_day_or_filer() -> None:
    this = FiledBy(1, "2026-10-12", 7, None)
    assert reuse_differences(this, FiledBy(1, "2026-10-12", 7, None)) == []
    assert reuse_differences(this, FiledBy(2, "2026-10-11", 8, None)) == ["estate", "day", "filer"]
    assert reuse_differences(this, FiledBy(1, "2026-10-12", None, 3)) == ["filer"]


def test_a_boundary_is_normalised_and_bad_ones_say_what_is_wrong() -> None:
    feature = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": SQUARE}]}
    assert parse_boundary(feature)["type"] == "Polygon"
    rng = random.Random(1)
    jagged = {"type": "Polygon", "coordinates": [[[LON + rng.random() * 1e-9, LAT] for _ in range(3)]]}
    for bad, fragment in (
        ({"type": "LineString", "coordinates": [[LON, LAT], [LON + 0.001, LAT]]}, "Polygon or MultiPolygon"),
        ({"type": "Polygon", "coordinates": [[[LAT, 200.0], [LAT, 201.0], [LAT + 1, 201.0], [LAT, 200.0]]]}, "longitude first"),
        (jagged, "at least 4"),
        ({"type": "Polygon", "coordinates": []}, "non-empty"),
        ({"type": "Polygon", "coordinates": [[[LON, LAT], [LON, LAT], [LON, LAT], [LON, LAT]]]}, "valid polygon|encloses no area"),
    ):
        with pytest.raises(BoundaryError, match=fragment):
            parse_boundary(bad)
