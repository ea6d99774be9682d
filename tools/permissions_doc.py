"""The README's permission matrix, generated from what each endpoint declares.

    python -m tools.permissions_doc           prints the table
    python -m tools.permissions_doc --write   puts it in the README (a test keeps them in step)
"""

import sys
from pathlib import Path

from services.funding.service import FundingService
from services.grid.service import GridService
from services.petition.service import PetitionService
from services.volunteer.service import VolunteerService
from services.webhooks.service import WebhookBridge
from shared import auth
from shared.openapi import operations, roles_of

README = Path(__file__).resolve().parents[1] / "README.md"
SERVICES = {"grid": GridService, "petition": PetitionService, "volunteer": VolunteerService,
            "funding": FundingService, "webhooks": WebhookBridge}
COLUMNS = {auth.PUBLIC: "anyone", auth.RESIDENT: "resident", auth.GRID_STAFF: "grid staff",
           auth.DISPATCHER: "dispatcher", auth.VOLUNTEER: "volunteer",
           auth.DEPARTMENT_OFFICER: "dept. officer", auth.FINANCE: "finance",
           auth.AUDITOR: "auditor", auth.ADMINISTRATOR: "admin", auth.INTAKE: "intake",
           auth.MONITORING: "monitoring"}
HEADER = "| service | endpoint | " + " | ".join(COLUMNS.values()) + " |"


def matrix():
    """(service, method, path, roles) for every operation."""
    rows = [(service, endpoint.method, path, roles_of(endpoint, path))
            for service, cls in SERVICES.items()
            for _, endpoint, path, _ in operations(cls)]
    return sorted(rows, key=lambda row: (list(SERVICES).index(row[0]), row[2], row[1]))


def allowed(roles, role):
    return roles == auth.PUBLIC or role in roles


def table():
    lines = [HEADER, "|" + "---|" * (len(COLUMNS) + 2)]
    for service, method, path, roles in matrix():
        cells = ["✓" if (column == auth.PUBLIC and roles == auth.PUBLIC)
                 or (column != auth.PUBLIC and allowed(roles, column)) else "·"
                 for column in COLUMNS]
        lines.append(f"| {service} | `{method} {path}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write():
    text = README.read_text()
    start = text.index(HEADER)
    end = text.index("\n\n", start)
    README.write_text(text[:start] + table() + text[end:])


if __name__ == "__main__":
    write() if "--write" in sys.argv else print(table())
