"""The grid registry: the map of who is responsible where.

Places nest district > sub-district or town > community (a village community has
a type: industrial, agricultural-industry, suburban, market-town) > grid
workstation > grid > building. The grid is the unit of dispatch: it has a
boundary, households and population, and its butler team (管家团队) of eight
roles; each building may have a building head (楼栋长). Households and population
are declared where they are known and rolled up from the grids for every level.

The registry is imported whole (JSON, or one CSV file per table) and re-importing
the same registry changes nothing; a grid whose details change is announced to
the other services with a new revision.
"""

from shared import geo
from shared.catalogue import CATALOGUE
from shared.domain import Change
from shared.errors import InvalidFields
from shared.events import new_event

# The butler team's eight roles, in the order the reports list them.
BUTLER_ROLES = ("grid_leader", "grid_assistant", "area_police_officer", "fire_safety_liaison",
                "legal_service_officer", "mass_work_officer", "livelihood_supervisor",
                "grid_cleaner")

# Each level, the field naming its parent, and the parent's level.
LEVELS = {
    "districts": (None, None),
    "sub_districts": ("district_id", "districts"),
    "communities": ("sub_district_id", "sub_districts"),
    "workstations": ("community_id", "communities"),
    "grids": ("workstation_id", "workstations"),
    "buildings": ("grid_id", "grids"),
}


def check_registry(registry):
    """Ids are unique within each level and every place names a parent the registry defines."""
    problems = {}
    ids = {level: [p["id"] for p in registry[level]] for level in LEVELS}
    for level, (parent_field, parent_level) in LEVELS.items():
        seen = set()
        for i, place in enumerate(registry[level]):
            if place["id"] in seen:
                problems.setdefault(level, {}).setdefault(i, {})["id"] = [
                    f"{place['id']!r} appears twice in {level}; give each place its own id."]
            seen.add(place["id"])
            if parent_field and place[parent_field] not in ids[parent_level]:
                problems.setdefault(level, {}).setdefault(i, {})[parent_field] = [
                    f"Unknown {parent_level[:-1].replace('_', '-')} {place[parent_field]!r}; "
                    f"list it under {parent_level}."]
    if problems:
        raise InvalidFields("The registry refers to places it does not define, or repeats one; "
                            "correct it and import again.", fields=problems)


def grid_records(registry):
    """Each grid with what the dispatcher and the other services need to know of its place."""
    by_id = {level: {p["id"]: p for p in registry[level]} for level in LEVELS}
    for grid in registry["grids"]:
        workstation = by_id["workstations"][grid["workstation_id"]]
        community = by_id["communities"][workstation["community_id"]]
        sub_district = by_id["sub_districts"][community["sub_district_id"]]
        yield grid["id"], {
            "name": grid["name"],
            "workstation_id": workstation["id"],
            "community_id": community["id"],
            "community_type": community["type"],
            "sub_district_id": sub_district["id"],
            "district_id": sub_district["district_id"],
            "households": grid["households"],
            "population": grid["population"],
            "boundary": geo.to_text(grid["boundary"]),
            "butler_team": grid["butler_team"],
        }


def register_grid(grid_id, record, current, correlation_id):
    """A new grid or a changed one is announced; re-importing the same data changes nothing."""
    if current is not None and all(current.get(k) == v for k, v in record.items()):
        return None
    revision = (current or {}).get("revision", 0) + 1
    event = new_event(CATALOGUE, "grid.registered.v1", "grid", grid_id,
                      {"grid_id": grid_id, "revision": revision, **record}, correlation_id)
    return Change(set={**record, "revision": revision}, events=[event])


def figures(registry):
    """Households and population of every place: as declared, and summed from its grids."""
    parents = {}
    for level, (parent_field, _) in LEVELS.items():
        for place in registry[level]:
            parents[place["id"]] = place[parent_field] if parent_field else None
    totals = {}
    for grid in registry["grids"]:
        place = grid["workstation_id"]
        while place is not None:
            total = totals.setdefault(place, {"households": 0, "population": 0, "grids": 0})
            total["households"] += grid["households"]
            total["population"] += grid["population"]
            total["grids"] += 1
            place = parents[place]
    return totals
