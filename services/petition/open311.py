"""Open311 GeoReport v2 (JSON), translated to and from the native petition API.

Existing 311 apps talk to ``/open311/v2/`` unchanged: the field names, the
form-encoded POST with ``attribute[code]=value``, the two statuses and the
error format (a JSON array of ``{code, description}``) are the spec's. Our
richer lifecycle is mapped onto open/closed, with the detail in
``status_notes``. What the spec leaves to the jurisdiction, and our choices:

- a request is located by ``lat`` and ``long``, or by ``address_id``: our master
  address repository is the grid registry, so an address id is a grid id (the
  matter is placed inside that grid). There is no geocoder, so ``address_string``
  alone cannot place it; it is kept as the address;
- ``service_request_id`` is returned at once (type "realtime"); the ``token``
  returned beside it resolves to the same id;
- ``api_key`` and ``jurisdiction_id`` are accepted; a jurisdiction other than
  ours is answered 404.
"""

from datetime import datetime, timedelta

from shared.errors import InvalidFields, NotFound

CLOSED_STATES = frozenset({"resolved", "verified", "closed", "rejected", "merged"})
MAX_RESULTS = 1000
DEFAULT_WINDOW = timedelta(days=90)
REPORTER_FIELDS = ("first_name", "last_name", "phone", "email", "device_id", "account_id")


def discovery(base_url, jurisdiction, contact):
    return {
        "changeset": "2026-11-23T00:00:00+00:00",
        "contact": contact,
        "key_service": contact,
        "endpoints": [{
            "specification": "http://wiki.open311.org/GeoReport_v2",
            "url": base_url, "changeset": "2026-11-23T00:00:00+00:00", "type": "production",
            "formats": ["application/json"],
        }],
        "jurisdiction_id": jurisdiction,
    }


def service(category):
    return {"service_code": category["_id"], "service_name": category["name"],
            "description": category["description"], "metadata": bool(category["attributes"]),
            "type": "realtime", "keywords": ",".join(category["keywords"]),
            "group": category["group"]}


def service_definition(category):
    return {"service_code": category["_id"], "attributes": [
        {key: a[key] for key in ("variable", "code", "datatype", "required",
                                 "datatype_description", "order", "description", "values")}
        for a in category["attributes"]]}


def check_jurisdiction(params, jurisdiction):
    given = params.get("jurisdiction_id")
    if given and given != jurisdiction:
        raise NotFound(f"jurisdiction_id {given!r} is not served here; use {jurisdiction!r} "
                       "or leave it out.")


def petition_request(form, locate):
    """A native raise-petition request from a GeoReport v2 POST form (a MultiDict).

    ``locate(address_id)`` gives a point inside the area an address id names, or
    None. Field names in errors are the Open311 ones, so a 311 client can show them.
    """
    problems = {}
    if not form.get("service_code"):
        problems["service_code"] = ["service_code is required; list them at services.json."]
    point = None
    if form.get("address_id") and not (form.get("lat") or form.get("long")):
        point = locate(form["address_id"])
        if point is None:
            problems["address_id"] = [f"No area has address_id {form['address_id']!r}; give a "
                                      "grid id, or lat and long."]
    else:
        for name in ("lat", "long"):
            try:
                float(form.get(name, ""))
            except ValueError:
                problems[name] = [f"{name} is required as a decimal number, unless address_id "
                                  "names the grid: this jurisdiction cannot geocode an address."]
    if not form.get("description"):
        problems["description"] = ["Describe the problem in up to 4,000 characters."]
    if problems:
        raise InvalidFields("Some required parameters are missing or invalid.", fields=problems)
    name = " ".join(filter(None, (form.get("first_name"), form.get("last_name")))) or None
    point = point or {"lat": float(form["lat"]), "lng": float(form["long"])}
    request = {
        "category": form["service_code"],
        "grid_id": form["address_id"] if form.get("address_id") else None,
        "description": form["description"],
        "location": {**point, "address": form.get("address_string") or None},
        "channel": "online_platform",
        "attributes": attributes(form),
        "attachments": [{"url": form["media_url"], "kind": "photo"}] if form.get("media_url") else [],
        "reporter": {"name": name, "phone": form.get("phone") or None,
                     "email": form.get("email") or None, "anonymous": name is None},
    }
    return request


def attributes(form):
    """``attribute[code]=v`` and, for multivaluelist, repeated ``attribute[code][]=v``."""
    values = {}
    for key in form:
        if key.startswith("attribute[") and key.endswith("[]"):
            values[key[len("attribute["):-3]] = form.getlist(key)
        elif key.startswith("attribute[") and key.endswith("]"):
            values[key[len("attribute["):-1]] = form[key]
    return values


def query(params, now):
    """The store filter for GET requests.json, with the spec's defaults: the last 90
    days when no dates are given, at most 1,000 requests."""
    ids = [i for i in params.get("service_request_id", "").split(",") if i]
    if ids:
        return {"ids": ids}
    problems, dates = {}, {}
    for name in ("start_date", "end_date"):
        if params.get(name):
            try:
                dates[name] = datetime.fromisoformat(params[name])
            except ValueError:
                problems[name] = [f"{name} must be a W3C date-time such as "
                                  "2026-11-23T09:00:00+08:00."]
    statuses = [s for s in params.get("status", "").split(",") if s]
    if any(s not in ("open", "closed") for s in statuses):
        problems["status"] = ["status is open or closed (or both, comma-separated)."]
    if problems:
        raise InvalidFields("Some query parameters are invalid.", fields=problems)
    end = dates.get("end_date")
    start = dates.get("start_date") or ((end or now) - DEFAULT_WINDOW)
    return {"service_codes": [c for c in params.get("service_code", "").split(",") if c],
            "start": start.isoformat(), "end": end.isoformat() if end else None,
            "closed": None if len(set(statuses)) != 1 else statuses[0] == "closed"}


def status_of(state):
    return "closed" if state in CLOSED_STATES else "open"


def service_request(petition, category_name):
    location = petition["location"]
    latest = petition["timeline"][-1]["summary"] if petition["timeline"] else ""
    attachments = petition.get("attachments") or []
    return {
        "service_request_id": petition["_id"],
        "status": status_of(petition["state"]),
        "status_notes": f"{petition['state'].replace('_', ' ')}: {latest}",
        "service_name": category_name,
        "service_code": petition["category"],
        "description": petition["description"],
        "agency_responsible": (petition.get("handler") or {}).get("name"),
        "service_notice": None,
        "requested_datetime": w3c(petition["raised_at"]),
        "updated_datetime": w3c(petition["updated_at"]),
        "expected_datetime": w3c(petition.get("finish_by")),
        "address": location.get("address"),
        "address_id": petition["grid_id"],
        "zipcode": None,
        "lat": location["lat"],
        "long": location["lng"],
        "media_url": attachments[0]["url"] if attachments else None,
    }


def created(petition):
    return [{"service_request_id": petition["_id"], "token": petition["token"],
             "service_notice": None, "account_id": None}]


def w3c(iso):
    return datetime.fromisoformat(iso).replace(microsecond=0).isoformat() if iso else None


# Native field names as an Open311 client knows them.
FIELD_NAMES = {"category": "service_code", "location": "lat/long/address_string",
               "attributes": "attribute", "attachments": "media_url",
               "reporter": "first_name/last_name/phone/email"}


def render_error(status, code, message, fields=None, details=None):
    """The spec's error format, one ``{code, description}`` per problem; the spec
    answers invalid input with 400, not 422."""
    status = 400 if status == 422 else status
    if fields:
        return status, [{"code": status, "description":
                         f"{FIELD_NAMES.get(name, name)}: {' '.join(_flatten(problems))}"}
                        for name, problems in fields.items()]
    return status, [{"code": status, "description": message}]


def _flatten(problems):
    if isinstance(problems, dict):
        return [f"{key}: {m}" for key, value in problems.items() for m in _flatten(value)]
    if isinstance(problems, list):
        return [m for p in problems for m in _flatten(p)]
    return [str(problems)]
