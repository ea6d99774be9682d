"""The committed AsyncAPI document and per-event JSON Schemas, from the catalogue.

    python -m tools.asyncapi_doc           says what would change
    python -m tools.asyncapi_doc --write   writes docs/events/ (a test keeps it in step);
                                           refuses a breaking change to a published type
"""

import json
import sys
from pathlib import Path

from shared.asyncapi import breaking_changes, document, event_schema
from shared.catalogue import CATALOGUE

EVENTS = Path(__file__).resolve().parents[1] / "docs" / "events"


def files():
    """path -> text of every file docs/events/ should hold."""
    found = {EVENTS / "asyncapi.json": _text(document())}
    for event_type in CATALOGUE:
        found[EVENTS / "schemas" / f"{event_type.type}.json"] = _text(event_schema(event_type))
    return found


def breaking():
    """Breaking changes to schemas already committed, by file."""
    problems = {}
    for path, text in files().items():
        if path.parent.name == "schemas" and path.exists():
            old, new = json.loads(path.read_text()), json.loads(text)
            found = breaking_changes(old["properties"]["data"], new["properties"]["data"])
            if found:
                problems[path.name] = found
    return problems


def write():
    problems = breaking()
    if problems:
        sys.exit("Breaking changes to published event types; publish a new version (.v2) "
                 f"beside the old instead: {json.dumps(problems, indent=1)}")
    for path, text in files().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _text(document):
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


if __name__ == "__main__":
    if "--write" in sys.argv:
        write()
    else:
        stale = [str(p.relative_to(EVENTS)) for p, t in files().items()
                 if not p.exists() or p.read_text() != t]
        print("\n".join(stale) or "docs/events/ is up to date")
