"""The grid registry as CSV files, one per table, for the people who keep it in spreadsheets.

Sub-district staff maintain the map of who is responsible where in a spreadsheet, so the
registry that PUT /registry takes as one JSON document can also come as a set of CSV files.
This module only converts between the two and checks what only the files can get wrong:
headers, whole numbers, the boundary's JSON, a building head's two columns, and that each
butler role names a grid of grids.csv (the roles are attached to their grid here). Whether a
community's sub-district exists and the like is left to the schema and the domain, which
check the document whichever way it came; csv_fields() puts their answers in file terms.

A round trip changes nothing: from_csv(to_csv(registry)) == registry, and the files that
to_csv() writes read back and write out to the same text.

    grids.csv
        id,name,workstation_id,households,population,boundary
        g01,Shazhou 1,ws-shazhou-1,412,1210,"{""coordinates"":[[[118.73,32.01],...]],""type"":""Polygon""}"
    butler_roles.csv
        grid_id,role,person_id,name
        g01,grid_leader,g01-leader,Li Ming

    ->  {"grids": [{"id": "g01", "name": "Shazhou 1", "workstation_id": "ws-shazhou-1",
                    "households": 412, "population": 1210,
                    "boundary": {"type": "Polygon", "coordinates": [[[118.73, 32.01], ...]]},
                    "butler_team": {"grid_leader": [{"id": "g01-leader", "name": "Li Ming"}]}}],
         ...}
"""

import csv
import difflib
import io
import json
import re

from services.grid.registry import BUTLER_ROLES as ROLES
from shared.errors import InvalidFields

TABLES = {
    "districts.csv": ("id", "name", "households", "population"),
    "sub_districts.csv": ("id", "name", "district_id", "kind", "households", "population"),
    "communities.csv": ("id", "name", "type", "sub_district_id", "households", "population"),
    "workstations.csv": ("id", "name", "community_id", "households", "population"),
    "grids.csv": ("id", "name", "workstation_id", "households", "population", "boundary"),
    "butler_roles.csv": ("grid_id", "role", "person_id", "name"),
    "buildings.csv": ("id", "name", "grid_id", "households", "population", "head_id", "head_name"),
}

# The document's key for each file; butler_roles.csv has none: its rows live in the grids.
DOCUMENT_KEYS = {"districts.csv": "districts", "sub_districts.csv": "sub_districts",
                 "communities.csv": "communities", "workstations.csv": "workstations",
                 "grids.csv": "grids", "buildings.csv": "buildings"}

# A registry without buildings or butler teams is still a registry (they are filled in later).
OPTIONAL = ("butler_roles.csv", "buildings.csv")

NUMBERS = ("households", "population")

_WHOLE_NUMBER = re.compile(r"[+-]?\d+")


def from_csv(files):
    """The registry document from its CSV files ({"grids.csv": "id,name,...\\n...", ...}).

    Every problem of every file is reported at once, by file, physical line (the header is
    line 1) and column, so a spreadsheet can be corrected in one sitting:
    {"grids.csv": {"line 4": {"population": ["Give a whole number, not 'many'."]}},
     "communities.csv": ["Missing columns: type; the header must be id,name,type,..."]}
    """
    problems = {}
    for name in files:
        if name not in TABLES:
            problems.setdefault("files", []).append(_unknown_file(name))
    rows = {}
    for name in TABLES:
        if name not in files:
            if name in OPTIONAL:
                rows[name] = []
            else:
                required = _names(n for n in TABLES if n not in OPTIONAL)
                problems.setdefault("files", []).append(
                    f"Missing file {name!r}; the registry needs {required} "
                    f"({_names(OPTIONAL)} may be left out).")
            continue
        read = _read(name, files[name], problems)
        if read is not None:
            rows[name] = read

    registry = {key: [_record(name, line, cells, problems) for line, cells in rows.get(name, ())]
                for name, key in DOCUMENT_KEYS.items()}
    _attach_butler_roles(registry["grids"] if "grids.csv" in rows else None,
                         rows.get("butler_roles.csv", ()), problems)
    if problems:
        raise InvalidFields("Some registry files have problems; correct the lines listed under "
                            "each file and import the files again.", fields=problems)
    return registry


def to_csv(registry):
    """The registry document as its seven CSV files, rows in document order.

    None is written as an empty cell, a boundary as compact JSON with sorted keys, so the
    same registry always gives the same text (and a diff of two exports shows real changes).
    The text has no BOM; give it one ("utf-8-sig") when it is meant for Excel.
    """
    files = {}
    for name, columns in TABLES.items():
        if name == "butler_roles.csv":
            rows = _butler_rows(registry.get("grids") or [])
        else:
            rows = [[_cell(record, column) for column in columns]
                    for record in registry.get(DOCUMENT_KEYS[name]) or []]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
        files[name] = out.getvalue()
    return files


def csv_fields(fields):
    """The schema's or the domain's problems with the document, said in terms of its files.

    {"grids": {3: {"population": [...]}}} -> {"grids.csv": {"line 5": {"population": [...]}}}:
    row i of a table is line i + 2 of the file to_csv() writes (the header is line 1). A grid's
    butler_team problems stay on the grid's line of grids.csv; a building's head problems
    name the head_id and head_name columns. Anything else passes through unchanged.
    """
    files = {key: name for name, key in DOCUMENT_KEYS.items()}
    result = {}
    for key, value in fields.items():
        if key in files and isinstance(value, dict):
            result[files[key]] = {(f"line {i + 2}" if isinstance(i, int) else i): _columns(errors)
                                  for i, errors in value.items()}
        else:
            result[files.get(key, key)] = value
    return result


def _read(name, text, problems):
    """The file's rows as (line, {column: text}), or None when its header makes it unreadable."""
    columns = TABLES[name]
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            problems[name] = ["The file is not UTF-8 text; save it as 'CSV UTF-8' and import again."]
            return None
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    header = next((row for row in reader if any(cell.strip() for cell in row)), None)
    if header is None:
        if name in OPTIONAL:
            return []
        problems[name] = [f"The file is empty; it needs at least the header {','.join(columns)}."]
        return None
    header = [cell.strip() for cell in header]
    missing = [c for c in columns if c not in header]
    unknown = [c or "(unnamed)" for c in header if c not in columns]
    twice = [c for c in columns if header.count(c) > 1]
    complaints = [f"{label}: {', '.join(found)}; the header must be {','.join(columns)} "
                  "(in any order)." for label, found in (("Missing columns", missing),
                                                        ("Unknown columns", unknown),
                                                        ("Columns given twice", twice)) if found]
    if complaints:
        problems[name] = complaints
        return None

    rows = []
    last = reader.line_num
    for cells in reader:
        # A record starts on the line after the previous one ended; a quoted value may span lines.
        line, last = last + 1, reader.line_num
        if not any(cell.strip() for cell in cells):
            continue  # blank lines, and the ",,,," rows spreadsheets leave at the end
        if len(cells) != len(header):
            _complain(problems, name, line, "row",
                      f"This line has {len(cells)} values but the header has {len(header)} "
                      "columns; put values that contain commas in double quotes.")
            continue
        rows.append((line, dict(zip(header, cells, strict=True))))
    return rows


def _record(name, line, cells, problems):
    record = {}
    for column in TABLES[name]:
        if column in ("head_id", "head_name"):
            continue
        try:
            record[column] = _value(column, cells[column])
        except ValueError as exc:
            record[column] = None
            _complain(problems, name, line, column, str(exc))
    if name == "grids.csv":
        record["butler_team"] = {}
    if name == "buildings.csv":
        record["head"] = _head(name, line, cells, problems)
    return record


def _value(column, text):
    if column in NUMBERS:
        text = text.strip()
        if not text:
            return None
        if not _WHOLE_NUMBER.fullmatch(text):
            raise ValueError(f"Give a whole number, not {text!r}.")
        return int(text)
    if column == "boundary":
        if not text.strip():
            return None
        try:
            boundary = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"The boundary is not valid JSON ({exc.msg} at character {exc.pos + 1}); "
                             "give it as GeoJSON text, or leave it empty.") from None
        if not isinstance(boundary, dict):
            raise ValueError('The boundary must be a GeoJSON object such as {"type": "Polygon", '
                             f'"coordinates": ...}}, not a {type(boundary).__name__}; or leave it empty.')
        return boundary
    return text


def _head(name, line, cells, problems):
    """A building head (楼栋长) is a person: both id and name, or no head at all."""
    head_id, head_name = cells["head_id"], cells["head_name"]
    if not head_id.strip() and not head_name.strip():
        return None
    if not head_id.strip():
        _complain(problems, name, line, "head_id",
                  f"Give the id of the building head {head_name!r}, or leave head_name empty too.")
    elif not head_name.strip():
        _complain(problems, name, line, "head_name",
                  f"Give the name of the building head {head_id!r}, or leave head_id empty too.")
    return {"id": head_id, "name": head_name}


def _attach_butler_roles(grids, rows, problems):
    """Each row of butler_roles.csv adds one person to one role of one grid's team.

    grids is None when grids.csv could not be read: the rows are still checked, but not
    against grids that are unknown (that would blame every row for the header's mistake).
    """
    by_id = {grid["id"]: grid for grid in grids or ()}
    for line, cells in rows:
        grid_id, role = cells["grid_id"], cells["role"]
        errors = {}
        if grids is not None and grid_id not in by_id:
            errors["grid_id"] = f"No grid {grid_id!r} in grids.csv."
        if role not in ROLES:
            errors["role"] = f"Unknown role {role!r}; use one of {', '.join(ROLES)}."
        for column, what in (("person_id", "id"), ("name", "name")):
            if not cells[column].strip():
                errors[column] = f"Give the person's {what}; each line names one person in a role."
        for column, message in errors.items():
            _complain(problems, "butler_roles.csv", line, column, message)
        if not errors and grids is not None:
            team = by_id[grid_id]["butler_team"]
            team.setdefault(role, []).append({"id": cells["person_id"], "name": cells["name"]})
    for grid in grids or ():
        grid["butler_team"] = {role: grid["butler_team"][role] for role in ROLES
                               if role in grid["butler_team"]}


def _butler_rows(grids):
    rows = []
    for grid in grids:
        team = grid.get("butler_team") or {}
        # Roles this module does not know are written last rather than lost; import names them.
        for role in [*[r for r in ROLES if r in team], *[r for r in team if r not in ROLES]]:
            rows.extend([grid["id"], role, person["id"], person["name"]] for person in team[role])
    return rows


def _cell(record, column):
    if column in ("head_id", "head_name"):
        head = record.get("head") or {}
        value = head.get(column.removeprefix("head_"))
    else:
        value = record.get(column)
    if value is None:
        return ""
    if column == "boundary":
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return str(value)


def _columns(errors):
    """A building's {"head": {"id": [...]}} is the head_id column of buildings.csv."""
    if not isinstance(errors, dict) or not isinstance(errors.get("head"), dict):
        return errors
    columns = {key: value for key, value in errors.items() if key != "head"}
    columns.update({f"head_{key}": value for key, value in errors["head"].items()})
    return columns


def _complain(problems, name, line, column, message):
    problems.setdefault(name, {}).setdefault(f"line {line}", {}).setdefault(column, []).append(message)


def _unknown_file(name):
    close = difflib.get_close_matches(name, TABLES, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"Unknown file {name!r}; {hint}the registry's files are {_names(TABLES)}."


def _names(names):
    return ", ".join(names)
