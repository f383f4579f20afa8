"""A boundary drawn on a Chinese web map (GCJ-02) is converted to WGS 84 with the published transform: checked
against the reference pairs the open implementations test with (eviltransform: Shanghai, Shenzhen, Beijing)."""

from __future__ import annotations

import pytest
from shapely.geometry import shape

from registry.boundaries import Datum, gcj02_to_wgs84, metres_outside, parse_boundary, wgs84_to_gcj02

# (WGS 84 latitude, longitude) → (GCJ-02 latitude, longitude), as eviltransform's tests give them.
PAIRS = [
    ((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),  # Shanghai
    ((22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),  # Shenzhen
    ((39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),  # Beijing
]


@pytest.mark.parametrize(("wgs", "gcj"), PAIRS)
def test_the_published_transform_gives_the_reference_pairs_both_ways(wgs: tuple[float, float], gcj: tuple[float, float]) -> None:
    longitude, latitude = wgs84_to_gcj02(wgs[1], wgs[0])
    assert longitude == pytest.approx(gcj[1], abs=1e-9) and latitude == pytest.approx(gcj[0], abs=1e-9)
    longitude, latitude = gcj02_to_wgs84(gcj[1], gcj[0])
    assert longitude == pytest.approx(wgs[1], abs=1e-9) and latitude == pytest.approx(wgs[0], abs=1e-9)


def test_outside_china_nothing_moves() -> None:
    assert gcj02_to_wgs84(2.3522, 48.8566) == (2.3522, 48.8566)


def test_a_boundary_drawn_in_gcj02_is_kept_in_wgs84() -> None:
    """A square drawn on a web map around 小白楼: kept as WGS 84, where a phone's GPS puts the estate; read as WGS 84
    it would lie hundreds of metres off."""
    centre_wgs = (117.2050, 39.1180)
    centre_gcj = wgs84_to_gcj02(*centre_wgs)
    half = 0.001
    lon, lat = centre_gcj
    drawn = {"type": "Polygon", "coordinates": [[[lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half], [lon - half, lat + half], [lon - half, lat - half]]]}
    kept = parse_boundary(drawn, Datum.GCJ02)
    assert shape(kept).contains(shape({"type": "Point", "coordinates": list(centre_wgs)}))
    assert metres_outside(kept, centre_wgs[1], centre_wgs[0]) == 0
    assert metres_outside(parse_boundary(drawn), centre_wgs[1], centre_wgs[0]) > 300  # taken as WGS 84: far off
