"""The live operations page in headless Chromium, against a platform of its own seeded with
the demo city: what it draws (a screenshot, its pixels counted), what it says (the DOM),
and that it follows new petitions without being reloaded (the DevTools protocol)."""

import re
from datetime import datetime

import pytest
import requests

from tests.browser import pixels
from tests.conftest import poll
from tools import browser, demo_city
from tools.auth import bearer, operator_token

# The map's colours (VOLUME in services/petition/ops/ops.js).
BUSY, LOW, NO_OPEN = (0x08, 0x51, 0x9C), (0xC6, 0xDB, 0xEF), (0xEE, 0xF2, 0xF5)
BUSY_GRID, QUIET_GRID, LATER_GRID = 5, 23, 40  # demo grid numbers: g05, g23, g40
ONE_GRID = 2000  # pixels: about half of one grid's cell at this window size, 10 legend swatches


def grid_id(number):
    return f"g{number:02d}"


def raise_petitions(platform, number, count, first=0):
    """``count`` petitions in grid ``number``, each some 20 m from the last; their ids once
    the dispatcher has dispatched them all (only dispatched work counts as open)."""
    url = platform.url("petition")
    ids = []
    for n in range(first, first + count):
        answer = requests.post(f"{url}/petitions", headers=bearer(), timeout=10, json={
            "category": "drains", "attributes": {"severity": "blocked"}, "channel": "kiosk",
            "description": f"Blocked drain number {n} in grid {grid_id(number)}.",
            "location": {**demo_city.point_in(number, east=0.1 + 0.08 * n, north=0.5),
                         "address": f"Lane {n}"},
            "reporter": {"name": "Wang Fang", "anonymous": True}})
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["id"])

    def all_dispatched():
        return all(requests.get(f"{url}/petitions/{i}", timeout=10).json()["state"]
                   == "dispatched" for i in ids)

    poll(all_dispatched, timeout=60, interval=0.3, what=f"the petitions in {grid_id(number)} "
                                                          "to be dispatched")
    return ids


@pytest.fixture(scope="module")
def scene(ops_platform, chromium):
    """Three open petitions in the busy grid, one in the quiet one, and one of them
    acknowledged, so the response rate has something to count."""
    busy = raise_petitions(ops_platform, BUSY_GRID, 3)
    raise_petitions(ops_platform, QUIET_GRID, 1)
    acknowledged = requests.post(f"{ops_platform.url('petition')}/petitions/{busy[0]}/acknowledge",
                                 headers=bearer(), json={"actor": "team-drain-repair-1"},
                                 timeout=10)
    assert acknowledged.status_code == 200, acknowledged.text
    return ops_platform


def page_url(platform, token=None):
    token = operator_token("auditor") if token is None else token
    return f"{platform.url('petition')}/ops" + (f"#token={token}" if token else "")


def rates(platform):
    return requests.get(f"{platform.url('petition')}/figures/rates",
                        headers=bearer("auditor"), timeout=10).json()


def shown_rate(dom, name):
    found = re.search(rf'data-rate="{name}">\s*<h3>[^<]*</h3>\s*<p class="value">([^<]*)</p>',
                      dom)
    return found.group(1)


def test_a_busy_grid_is_drawn_in_the_busy_colour_and_a_quieter_one_lighter(scene, tmp_path):
    shot = browser.screenshot(page_url(scene), tmp_path / "ops.png", width=1200, height=900)
    counted = pixels.colours(shot)
    assert len(counted) > 20, "the page looks blank"
    assert counted[BUSY] > ONE_GRID, "the busy grid is not drawn in the busy colour"
    assert counted[LOW] > ONE_GRID, "the quiet grid is not drawn in the light colour"
    assert counted[NO_OPEN] > 20 * ONE_GRID, "grids with nothing open are not drawn"


def test_the_page_shows_the_three_rates_and_when_it_was_updated(scene):
    dom = browser.dump_dom(page_url(scene))
    expected = rates(scene)
    assert shown_rate(dom, "response") == f"{expected['response_rate'] * 100:.1f}%"
    assert shown_rate(dom, "resolution") == f"{expected['resolution_rate'] * 100:.1f}%"
    assert shown_rate(dom, "satisfaction") == "–"  # nothing rated yet: no rate, not 0%
    updated = re.search(r'<time id="updated" datetime="([^"]+)">([^<]+)</time>', dom)
    assert updated and datetime.fromisoformat(updated.group(1)) and updated.group(2) != "not yet"
    assert re.search(rf'data-grid="{grid_id(BUSY_GRID)}" data-open="3" data-volume="busy"', dom)


def test_the_page_follows_new_petitions_without_being_reloaded(scene):
    page = browser.Browser(width=1200, height=900)
    try:
        page.open(page_url(scene))
        later = f'document.querySelector(\'#map path[data-grid="{grid_id(LATER_GRID)}"]\')'
        poll(lambda: page.evaluate(f"{later} && {later}.dataset.open") == "0", timeout=30,
             interval=0.2, what="the page's first figures")
        first_update = page.evaluate("document.getElementById('updated').dateTime")
        page.evaluate("window.sameDocument = true")
        assert page.evaluate("location.hash") == "", "the token stayed in the address bar"

        raise_petitions(scene, LATER_GRID, 2)
        poll(lambda: page.evaluate(f"{later}.dataset.open") == "2", timeout=30, interval=0.2,
             what="the page to show the new petitions")
        assert page.evaluate("window.sameDocument") is True, "the page was reloaded"
        assert page.evaluate("document.getElementById('updated').dateTime") != first_update
        row = f'#busiest tr[data-grid="{grid_id(LATER_GRID)}"] [data-field="open"]'
        assert page.evaluate(f"document.querySelector('{row}').textContent") == "2"
    finally:
        page.close()


def test_without_a_token_the_page_asks_for_one_and_shows_no_figures(scene):
    dom = browser.dump_dom(page_url(scene, token=""))
    assert re.search(r'<form id="sign-in">', dom), "the sign-in form is hidden"
    assert re.search(r'<main id="figures" hidden="">', dom), "figures shown without a token"


def test_a_refused_token_is_dropped_and_the_reason_shown(scene):
    dom = browser.dump_dom(page_url(scene, token="not-a-token"))
    assert "The token is not valid" in dom
    assert re.search(r'<main id="figures" hidden="">', dom)


@pytest.mark.parametrize("path, media_type", [("/ops", "text/html"),
                                              ("/ops/ops.js", "text/javascript"),
                                              ("/ops/ops.css", "text/css")])
def test_the_page_is_public_and_may_run_only_its_own_script_and_style(ops_platform, path,
                                                                       media_type):
    answer = requests.get(ops_platform.url("petition") + path, timeout=10)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith(media_type)
    policy = answer.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert "form-action 'none'" in policy and answer.headers["Referrer-Policy"] == "no-referrer"


def test_a_grid_name_written_as_markup_is_shown_as_text_and_never_run(scene):
    grid_url = scene.url("grid")
    registry = requests.get(f"{grid_url}/registry", headers=bearer(), timeout=30).json()
    name = '<img src="x" onerror="window.injected = true">Hexi grid 5'
    for grid in registry["grids"]:
        if grid["id"] == grid_id(BUSY_GRID):
            grid["name"] = name
    imported = requests.put(f"{grid_url}/registry", json=registry, headers=bearer(), timeout=60)
    assert imported.status_code == 200, imported.text

    def renamed():
        grids = requests.get(f"{scene.url('petition')}/grids", timeout=10).json()["grids"]
        return any(g["name"] == name for g in grids)

    poll(renamed, timeout=30, interval=0.3, what="the petition service to learn the new name")
    page = browser.Browser()
    try:
        page.open(page_url(scene))
        row = f'#busiest tr[data-grid="{grid_id(BUSY_GRID)}"] td'
        poll(lambda: page.evaluate(f"document.querySelector('{row}')?.textContent"),
             timeout=30, interval=0.2, what="the busiest grids")
        assert page.evaluate(f"document.querySelector('{row}').textContent").startswith(name)
        assert page.evaluate("document.querySelectorAll('#figures img').length") == 0
        assert page.evaluate("window.injected") is None
    finally:
        page.close()
