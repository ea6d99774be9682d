"""Grid boundaries as GeoJSON polygons, and which grid a point falls in.

FerretDB has no geo queries, so each boundary is stored with its bounding box:
the database narrows the candidates by box, shapely decides by polygon. Nor can
FerretDB store nested arrays, which GeoJSON coordinates are, so a boundary is kept
and carried in events as GeoJSON text. GeoJSON orders coordinates (longitude, latitude).
"""

import json

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


def bbox(text):
    min_lng, min_lat, max_lng, max_lat = shape(from_text(text)).bounds
    return {"min_lat": min_lat, "max_lat": max_lat, "min_lng": min_lng, "max_lng": max_lng}


def bbox_query(lat, lng):
    """A Mongo filter for the boundaries whose box holds the point."""
    return {"bbox.min_lat": {"$lte": lat}, "bbox.max_lat": {"$gte": lat},
            "bbox.min_lng": {"$lte": lng}, "bbox.max_lng": {"$gte": lng}}


def covering(collection, lat, lng):
    """The document of ``collection`` whose ``boundary`` holds the point, or None: the
    database narrows by ``bbox``, shapely decides."""
    for doc in collection.find(bbox_query(lat, lng)):
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
