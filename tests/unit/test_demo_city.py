"""The demo county is the source reports' figures, and its committed files are what
the generator writes (regenerate with: python -m tools.demo_city --write-files)."""

from services.grid import registry as places
from services.grid.registry_files import from_csv, to_csv
from services.grid.schemas import Registry, RuleTable
from tools import demo_city


def test_the_committed_registry_files_are_the_generated_ones():
    committed = {path.name: path.read_text(encoding="utf-8")
                 for path in demo_city.FILES.glob("*.csv")}
    assert committed == demo_city.files()


def test_the_demo_registry_imports_and_holds_the_reports_figures():
    document = Registry().load(from_csv(to_csv(demo_city.registry())))
    places.check_registry(document)
    totals = places.figures(document)
    assert totals["d-county"] == {"households": 10_479, "population": 24_868, "grids": 45}
    assert len(document["communities"]) == 4 and len(document["workstations"]) == 4
    assert sum(1 for b in document["buildings"] if b["head"]) == 251
    assert all(set(g["butler_team"]) == set(places.BUTLER_ROLES) for g in document["grids"])


def test_the_demo_rules_are_a_valid_rule_table_using_every_kind_of_handler():
    table = RuleTable().load(demo_city.rules())
    assert {r["handler"]["kind"] for r in table["rules"]} == {
        "volunteer_team", "volunteer_skill", "butler_role", "department"}
