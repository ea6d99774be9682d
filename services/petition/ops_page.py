"""The live operations page (GET /ops): plain HTML, JavaScript and CSS in ``ops/``, served
as they are, with no build step.

The page is public, the figures are not: its script asks /figures/operations with the
bearer token the operator gives it. The content security policy lets only this origin's
own script and style run and fetch, so text from the API could not run as code even if it
reached the page as markup, and a token typed into the form can never be submitted to a
URL (the field has no name, and forms may not submit anywhere).
"""

from pathlib import Path

from werkzeug.wrappers import Response

FILES = Path(__file__).resolve().parent / "ops"
TYPES = {"index.html": "text/html", "ops.js": "text/javascript", "ops.css": "text/css"}
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
                               "connect-src 'self'; img-src 'self'; base-uri 'none'; "
                               "form-action 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def asset(name):
    return Response((FILES / name).read_bytes(), mimetype=TYPES[name], headers=HEADERS)
