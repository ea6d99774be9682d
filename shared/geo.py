"""Grid boundaries as GeoJSON polygons, and which grid a point falls in.

FerretDB has no geo queries, and answers a range query by reading every document, so
each boundary is stored with the tiles its bounding box touches (``tiles``): a point's
one tile is an indexed equality on that list, which narrows the candidates to the few
grids near it, and shapely decides by polygon. Nor can
FerretDB store nested arrays, which GeoJSON coordinates are, so a boundary is kept
and carried in events as GeoJSON text. GeoJSON orders coordinates (longitude, latitude).
"""

import json
import math

from shapely.geometry import Point, shape
from shapely.validation import explain_validity


def to_text(boundary):
    """Canonical GeoJSON text: the same polygon always gives the same text."""
    return json.dumps(boundary, sort_keys=True, separators=(",", ":")) if boundary else None


def from_text(text):
    return json.loads(text) if text else None


def polygon_problems(boundary):
    """Why a GeoJSON geometry is not a usable grid boundary; empty if it is."""
    if not isinstance(boundary, dict) or boundary.get("type") not in ("Polygon", "MultiPolygon"):
        return ["Give a GeoJSON Polygon or MultiPolygon: {\"type\": \"Polygon\", "
                "\"coordinates\": [[[lng, lat], ...]]}."]
    try:
        geometry = shape(boundary)
    except (ValueError, TypeError, AttributeError, IndexError) as exc:
        return [f"The coordinates do not form a polygon ({exc}); each ring needs at least "
                "four [lng, lat] positions, the last equal to the first."]
    if geometry.is_empty or not geometry.is_valid:
        return [f"The polygon is not valid ({explain_validity(geometry)}); fix its rings."]
    return []


# About 1.1 by 0.9 km at Beijing's latitude: a grid of a few hundred households touches
# one to four tiles, and a tile holds a handful of grids.
TILE_DEGREES = 0.01


def tile_of(lat, lng):
    return f"{math.floor(lat / TILE_DEGREES)}:{math.floor(lng / TILE_DEGREES)}"


def tiles(text):
    """The tiles the boundary's bounding box touches: every point it covers has its tile
    among them."""
    min_lng, min_lat, max_lng, max_lat = shape(from_text(text)).bounds
    rows = range(math.floor(min_lat / TILE_DEGREES), math.floor(max_lat / TILE_DEGREES) + 1)
    columns = range(math.floor(min_lng / TILE_DEGREES), math.floor(max_lng / TILE_DEGREES) + 1)
    return [f"{row}:{column}" for row in rows for column in columns]


def add_missing_tiles(collection):
    """Boundaries kept before points were located by tile (with a bounding box) get their
    tiles (idempotent), and a new version (as every write of an aggregate does)."""
    for doc in collection.find({"tiles": {"$exists": False}}, {"boundary": 1}):
        collection.update_one({"_id": doc["_id"]}, {
            "$set": {"tiles": tiles(doc["boundary"]) if doc.get("boundary") else []},
            "$unset": {"bbox": ""}, "$inc": {"version": 1}})


def covering(collection, lat, lng):
    """The document of ``collection`` whose ``boundary`` holds the point, or None."""
    for doc in collection.find({"tiles": tile_of(lat, lng)}):
        if covers(doc["boundary"], lat, lng):
            return doc
    return None


def covers(text, lat, lng):
    return shape(from_text(text)).covers(Point(lng, lat))


def inside_point(text):
    """A point surely inside the boundary (its centroid may not be): where to put a
    matter known only by the area's address id."""
    point = shape(from_text(text)).representative_point()
    return {"lat": round(point.y, 6), "lng": round(point.x, 6)}
