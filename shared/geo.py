"""Grid boundaries as GeoJSON polygons, and which grid a point falls in.

FerretDB has no geo queries, so each boundary is stored with its bounding box:
the database narrows the candidates by box, shapely decides by polygon.
GeoJSON orders coordinates (longitude, latitude).
"""

from shapely.geometry import Point, shape
from shapely.validation import explain_validity


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


def bbox(boundary):
    min_lng, min_lat, max_lng, max_lat = shape(boundary).bounds
    return {"min_lat": min_lat, "max_lat": max_lat, "min_lng": min_lng, "max_lng": max_lng}


def bbox_query(lat, lng):
    """A Mongo filter for the boundaries whose box holds the point."""
    return {"bbox.min_lat": {"$lte": lat}, "bbox.max_lat": {"$gte": lat},
            "bbox.min_lng": {"$lte": lng}, "bbox.max_lng": {"$gte": lng}}


def covers(boundary, lat, lng):
    return shape(boundary).covers(Point(lng, lat))
