"""The operations page's files: text from the API is never inserted as markup, and nothing
is loaded from anywhere but the platform (the machines it runs on may have no internet)."""

import re

import pytest

from services.petition.ops_page import FILES, TYPES

SVG_NAMESPACE = "http://www.w3.org/2000/svg"


def test_the_script_never_inserts_text_as_markup_or_runs_text_as_code():
    script = (FILES / "ops.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                 "new Function", "setAttribute(\"style\""):
        assert sink not in script, sink


@pytest.mark.parametrize("name", TYPES)
def test_the_page_loads_nothing_from_another_site(name):
    text = (FILES / name).read_text().replace(SVG_NAMESPACE, "")
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.IGNORECASE), name
