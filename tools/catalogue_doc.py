"""The README's event catalogue, generated from shared/catalogue.py (the one source of truth).

    python -m tools.catalogue_doc           prints the table
    python -m tools.catalogue_doc --write   puts it in the README (a test keeps them in step)
"""

import sys
from pathlib import Path

from shared.catalogue import CATALOGUE

README = Path(__file__).resolve().parents[1] / "README.md"


def table():
    lines = ["| type | producer | consumers (service.handler) | data fields | meaning |",
             "|---|---|---|---|---|"]
    for event in CATALOGUE:
        consumers = ", ".join(f"{s}.{m}" for s, m in event.consumers)
        fields = ", ".join(f"`{name}`" for name in event.schema().fields)
        lines.append(f"| `{event.type}` | {event.producer} | {consumers} | {fields} | "
                     f"{event.description} |")
    return "\n".join(lines)


def write():
    text = README.read_text()
    start = text.index("| type | producer | consumers (service.handler)")
    end = text.index("\n\n", start)
    README.write_text(text[:start] + table() + text[end:])


if __name__ == "__main__":
    write() if "--write" in sys.argv else print(table())
