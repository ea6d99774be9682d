"""CSV answers that a spreadsheet opens safely.

Text a resident or staff member typed can end up in an export. A cell that begins
with = + - @ (or a tab or carriage return) is run as a formula by Excel and LibreOffice
(CSV injection), so such text is prefixed with an apostrophe; numbers are left alone.
"""

import csv
import io
import re

from werkzeug.wrappers import Response

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


def spreadsheet_safe(value):
    if isinstance(value, str) and value.startswith(FORMULA_START) and not NUMBER.match(value):
        return "'" + value
    return value


def csv_text(columns, rows):
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows({k: spreadsheet_safe(v) for k, v in row.items()} for row in rows)
    return out.getvalue()


def csv_response(text, filename):
    return Response(text, mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={filename}"})
