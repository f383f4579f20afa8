"""Estates' boundaries, pure: a GeoJSON polygon (WGS 84 longitude/latitude, RFC 7946; one drawn on a Chinese web map
in GCJ-02 is converted) checked with shapely, and how far in metres a position lies outside it. No I/O, no ORM."""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry

# A boundary is one estate (a few buildings, a few hundred metres across): these bounds refuse a mistaken file (a
# whole district, a map's thousands of points) before it is measured against every patrol.
MAX_VERTICES = 5_000
MAX_EXTENT_M = 5_000
EARTH_RADIUS_M = 6_371_008.8  # the mean radius (IUGG)


class Datum(StrEnum):
    """The coordinates a boundary is drawn in: WGS 84 (GPS, GeoJSON's own) or GCJ-02 (Chinese web maps, 火星坐标)."""

    WGS84 = "wgs84"
    GCJ02 = "gcj02"


# GCJ-02 as published (the Krasovsky 1940 ellipsoid and the offset polynomial of the widely used open
# implementations such as eviltransform); outside this box of mainland China maps apply no offset.
_KRASOVSKY_A = 6378245.0
_KRASOVSKY_EE = 0.00669342162296594323
_CHINA = (72.004, 0.8293, 137.8347, 55.8271)  # min longitude, min latitude, max longitude, max latitude


def _offset(longitude: float, latitude: float) -> tuple[float, float]:
    """GCJ-02's offset (degrees of longitude, latitude) at a WGS 84 position."""
    x, y = longitude - 105.0, latitude - 35.0
    d_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    d_lat += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    d_lat += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    d_lat += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    d_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    d_lon += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    d_lon += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    d_lon += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    radians = math.radians(latitude)
    magic = 1 - _KRASOVSKY_EE * math.sin(radians) ** 2
    d_lat = d_lat * 180.0 / ((_KRASOVSKY_A * (1 - _KRASOVSKY_EE)) / (magic * math.sqrt(magic)) * math.pi)
    d_lon = d_lon * 180.0 / (_KRASOVSKY_A / math.sqrt(magic) * math.cos(radians) * math.pi)
    return d_lon, d_lat


def _in_china(longitude: float, latitude: float) -> bool:
    return _CHINA[0] <= longitude <= _CHINA[2] and _CHINA[1] <= latitude <= _CHINA[3]


def wgs84_to_gcj02(longitude: float, latitude: float) -> tuple[float, float]:
    """A WGS 84 position as a Chinese web map shows it (GCJ-02); unchanged outside China."""
    if not _in_china(longitude, latitude):
        return longitude, latitude
    d_lon, d_lat = _offset(longitude, latitude)
    return longitude + d_lon, latitude + d_lat


def gcj02_to_wgs84(longitude: float, latitude: float) -> tuple[float, float]:
    """A GCJ-02 position in WGS 84: the forward transform inverted by fixed-point iteration (the offset changes
    slowly, so a few steps bring it below a millionth of a metre)."""
    if not _in_china(longitude, latitude):
        return longitude, latitude
    wgs_lon, wgs_lat = longitude, latitude
    for _ in range(30):
        shown_lon, shown_lat = wgs84_to_gcj02(wgs_lon, wgs_lat)
        error_lon, error_lat = shown_lon - longitude, shown_lat - latitude
        wgs_lon, wgs_lat = wgs_lon - error_lon, wgs_lat - error_lat
        if abs(error_lon) < 1e-12 and abs(error_lat) < 1e-12:
            break
    return wgs_lon, wgs_lat


def _to_wgs84(coordinates: Any) -> Any:  # an (n, 2) array of GCJ-02 longitude, latitude
    return np.array([gcj02_to_wgs84(float(lon), float(lat)) for lon, lat in coordinates]).reshape(-1, 2)


class BoundaryError(ValueError):
    """The boundary is not a usable polygon; `zh` says why in Chinese for the page."""

    def __init__(self, message: str, zh: str) -> None:
        super().__init__(message)
        self.zh = zh


def geometry_of(document: Any) -> Mapping[str, Any]:
    """The geometry of a GeoJSON document as a file gives it: a Polygon or MultiPolygon, a Feature holding one, or a
    FeatureCollection of exactly one such Feature."""
    if not isinstance(document, Mapping):
        raise BoundaryError("the GeoJSON must be an object with a \"type\"", "GeoJSON 须为带 type 的对象")
    kind = document.get("type")
    if kind == "FeatureCollection":
        features = document.get("features")
        if not isinstance(features, list) or len(features) != 1:
            raise BoundaryError(
                "a FeatureCollection must hold exactly one Feature, the estate's outline", "FeatureCollection 中须恰有一个要素（区片的边界）"
            )
        return geometry_of(features[0])
    if kind == "Feature":
        return geometry_of(document.get("geometry"))
    if kind in ("Polygon", "MultiPolygon"):
        return document
    raise BoundaryError(
        f"the boundary must be a GeoJSON Polygon or MultiPolygon (or a Feature of one); this is {kind!r}",
        "边界须为 GeoJSON 的 Polygon 或 MultiPolygon（或含其一的 Feature）",
    )


def _positions(coordinates: Any, depth: int) -> list[Any]:
    """Every position of nested coordinates `depth` levels deep, each checked to be [longitude, latitude(, height)]."""
    if not isinstance(coordinates, list) or not coordinates:
        raise BoundaryError("coordinates must be non-empty nested arrays of [longitude, latitude]", "坐标须为 [经度, 纬度] 组成的嵌套数组")
    if depth == 0:
        if not 2 <= len(coordinates) <= 3 or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in coordinates):
            raise BoundaryError("each position is [longitude, latitude] in degrees", "每个点须为 [经度, 纬度]（度）")
        longitude, latitude = float(coordinates[0]), float(coordinates[1])
        if not (math.isfinite(longitude) and math.isfinite(latitude) and -180 <= longitude <= 180 and -90 <= latitude <= 90):
            raise BoundaryError(
                f"position {coordinates} is not a longitude (-180..180) and latitude (-90..90) in degrees: GeoJSON puts longitude first",
                "坐标超出经纬度范围：GeoJSON 的点为 [经度, 纬度]，经度在前",
            )
        return [(longitude, latitude)]
    return [p for part in coordinates for p in _positions(part, depth - 1)]


def local_metres(origin_latitude: float, origin_longitude: float) -> Any:
    """A projection of longitude/latitude to metres east and north of an origin (equirectangular on the mean
    sphere): for an estate-sized area the error is well under a metre, far below a phone's GPS error."""
    scale = math.radians(1) * EARTH_RADIUS_M
    east = scale * math.cos(math.radians(origin_latitude))

    def project(coordinates: Any) -> Any:  # an (n, 2) array of longitude, latitude
        return (coordinates - (origin_longitude, origin_latitude)) * (east, scale)

    return project


def _projected(geometry: BaseGeometry) -> BaseGeometry:
    centre = geometry.centroid
    return shapely.transform(geometry, local_metres(centre.y, centre.x))


def parse_boundary(document: Any, datum: Datum = Datum.WGS84) -> dict[str, Any]:
    """A boundary checked and normalised (2D, rings closed and oriented as RFC 7946 says), as GeoJSON in WGS 84 (one
    drawn in GCJ-02 converted); BoundaryError names what is wrong."""
    geometry = geometry_of(document)
    kind = geometry["type"]
    positions = _positions(geometry.get("coordinates"), 2 if kind == "Polygon" else 3)
    if len(positions) > MAX_VERTICES:
        raise BoundaryError(f"the boundary has {len(positions)} points; at most {MAX_VERTICES}", f"边界点数 {len(positions)} 过多，上限 {MAX_VERTICES}")
    polygons = [geometry["coordinates"]] if kind == "Polygon" else geometry["coordinates"]
    for ring in (ring for polygon in polygons for ring in polygon):
        if len(ring) < 4 or ring[0][:2] != ring[-1][:2]:
            raise BoundaryError(
                "each ring needs at least 4 positions, the last equal to the first (a closed outline)", "边界的每个环须至少 4 个点且首尾相同（闭合）"
            )
    try:
        parsed = shape({"type": kind, "coordinates": geometry["coordinates"]})
    except (ValueError, TypeError, AttributeError, IndexError, shapely.errors.ShapelyError) as error:
        raise BoundaryError(f"the boundary's rings are not polygons ({error}): each ring needs at least 4 points, the last equal to the first", "边界的环须至少 4 个点且首尾相同") from None
    flat = shapely.force_2d(parsed)
    if datum is Datum.GCJ02:
        flat = shapely.transform(flat, _to_wgs84)
    if not isinstance(flat, Polygon | MultiPolygon) or flat.is_empty:
        raise BoundaryError("the boundary is empty", "边界为空")
    if not flat.is_valid:
        reason = shapely.is_valid_reason(flat)
        raise BoundaryError(f"the boundary is not a valid polygon: {reason} (rings must not cross themselves or each other)", f"边界不是有效的多边形（{reason}）：边界线不能自相交")
    metres = _projected(flat)
    if metres.area < 1:
        raise BoundaryError("the boundary encloses no area", "边界未围出面积")
    min_x, min_y, max_x, max_y = metres.bounds
    extent = max(max_x - min_x, max_y - min_y)
    if extent > MAX_EXTENT_M:
        raise BoundaryError(
            f"the boundary spans {extent:.0f} m; an estate's is at most {MAX_EXTENT_M} m across (is this the right file?)",
            f"边界跨度 {extent:.0f} 米，超过一个区片的上限 {MAX_EXTENT_M} 米，请核对文件",
        )
    oriented = shapely.orient_polygons(flat) if hasattr(shapely, "orient_polygons") else flat
    return dict(mapping(oriented))


def boundary_area_m2(boundary: Mapping[str, Any]) -> int:
    return round(_projected(shape(dict(boundary))).area)


def metres_outside(boundary: Mapping[str, Any], latitude: float, longitude: float) -> float:
    """How far a position lies outside a boundary, in metres (0 inside or on it), measured in a local projection
    centred on the boundary."""
    geometry = shape(dict(boundary))
    centre = geometry.centroid
    project = local_metres(centre.y, centre.x)
    return float(shapely.transform(geometry, project).distance(shapely.transform(Point(longitude, latitude), project)))
