"""The README's event catalogue, generated from shared/catalogue.py (the one source of truth).

    python -m tools.catalogue_doc     prints the table; a test keeps the README in step
"""

from shared.catalogue import CATALOGUE


def table():
    lines = ["| type | producer | consumers (service.handler) | data fields | meaning |",
             "|---|---|---|---|---|"]
    for event in CATALOGUE:
        consumers = ", ".join(f"{s}.{m}" for s, m in event.consumers)
        fields = ", ".join(f"`{name}`" for name in event.schema().fields)
        lines.append(f"| `{event.type}` | {event.producer} | {consumers} | {fields} | "
                     f"{event.description} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
