"""The grid registry as CSV files: what a spreadsheet may send, and what it is told when wrong."""

import pytest

from services.grid.registry_files import ROLES, TABLES, csv_fields, from_csv, to_csv
from shared.errors import InvalidFields


def square(lng, lat, size=0.004):
    """A grid's boundary: a closed square ring, GeoJSON order [longitude, latitude]."""
    return {"type": "Polygon", "coordinates": [[[lng, lat], [lng + size, lat], [lng + size, lat + size],
                                                [lng, lat + size], [lng, lat]]]}


def team(grid_id, **people):
    return {role: [{"id": f"{grid_id}-{role}-{i}", "name": name} for i, name in enumerate(names, 1)]
            for role, names in people.items()}


REGISTRY = {
    "districts": [{"id": "jianye", "name": "建邺区", "households": 190_000, "population": 530_000}],
    "sub_districts": [{"id": "shazhou", "name": "沙洲街道", "district_id": "jianye",
                       "kind": "sub_district", "households": None, "population": None}],
    "communities": [
        {"id": "c-hexi", "name": "河西社区", "type": "urban", "sub_district_id": "shazhou",
         "households": 3_100, "population": 8_400},
        {"id": "c-xinglong", "name": "Xinglong, old town", "type": "market_town",
         "sub_district_id": "shazhou", "households": None, "population": None},
    ],
    "workstations": [
        {"id": "ws-hexi-1", "name": "Hexi workstation 1", "community_id": "c-hexi",
         "households": 1_200, "population": 3_300},
        {"id": "ws-xinglong", "name": "Xinglong workstation", "community_id": "c-xinglong",
         "households": None, "population": None},
    ],
    "grids": [
        {"id": "g01", "name": "Hexi 1", "workstation_id": "ws-hexi-1", "households": 412,
         "population": 1_210, "boundary": square(118.730, 32.010),
         "butler_team": team("g01", grid_leader=["Li Ming"], grid_assistant=["Wang Fang", "Zhao Lei"],
                             area_police_officer=["Chen Jun"], grid_cleaner=["Sun Li"])},
        {"id": "g02", "name": 'Hexi 2 "riverside"', "workstation_id": "ws-hexi-1", "households": 388,
         "population": 1_046, "boundary": square(118.734, 32.010),
         "butler_team": team("g02", grid_leader=["周洁"], legal_service_officer=["Liu Yang"])},
        {"id": "g03", "name": "Xinglong", "workstation_id": "ws-xinglong", "households": 0,
         "population": 0, "boundary": None, "butler_team": {}},
    ],
    "buildings": [
        {"id": "b-g01-3", "name": "Building 3", "grid_id": "g01", "households": 48, "population": 131,
         "head": {"id": "b-g01-3-head", "name": "Huang Mei"}},
        {"id": "b-g02-7", "name": "Building 7", "grid_id": "g02", "households": None,
         "population": None, "head": None},
    ],
}


def files(**texts):
    """The registry's files, with some replaced (file name with '_csv' for '.csv'); None drops one."""
    result = to_csv(REGISTRY)
    for key, text in texts.items():
        name = key.replace("_csv", ".csv")
        if text is None:
            del result[name]
        else:
            result[name] = text
    return result


def problems(files):
    with pytest.raises(InvalidFields) as raised:
        from_csv(files)
    return raised.value.fields


# Round trips


def test_a_registry_comes_back_unchanged_from_its_csv_files():
    assert from_csv(to_csv(REGISTRY)) == REGISTRY


def test_csv_files_read_and_written_again_give_the_same_text():
    written = to_csv(REGISTRY)
    assert to_csv(from_csv(written)) == written


def test_export_writes_all_seven_files_with_their_headers():
    written = to_csv(REGISTRY)
    assert list(written) == list(TABLES)
    for name, columns in TABLES.items():
        assert written[name].splitlines()[0] == ",".join(columns)


def test_export_writes_none_as_an_empty_cell_and_the_boundary_as_compact_sorted_json():
    written = to_csv(REGISTRY)
    assert written["sub_districts.csv"].splitlines()[1] == "shazhou,沙洲街道,jianye,sub_district,,"
    assert written["grids.csv"].splitlines()[3] == "g03,Xinglong,ws-xinglong,0,0,"
    g01 = written["grids.csv"].splitlines()[1]
    assert g01.startswith('g01,Hexi 1,ws-hexi-1,412,1210,"{""coordinates"":[[[118.73,32.01],')
    assert g01.endswith(']]],""type"":""Polygon""}"')
    assert written["buildings.csv"].splitlines()[1:] == [
        "b-g01-3,Building 3,g01,48,131,b-g01-3-head,Huang Mei", "b-g02-7,Building 7,g02,,,,"]


def test_export_lists_roles_in_the_fixed_order_and_each_roles_people_in_order():
    grid = {**REGISTRY["grids"][0], "butler_team": {
        "grid_cleaner": [{"id": "p9", "name": "Sun Li"}],
        "grid_leader": [{"id": "p1", "name": "Li Ming"}],
        "grid_assistant": [{"id": "p3", "name": "Zhao Lei"}, {"id": "p2", "name": "Wang Fang"}]}}
    written = to_csv({**REGISTRY, "grids": [grid]})
    assert written["butler_roles.csv"].splitlines() == [
        "grid_id,role,person_id,name", "g01,grid_leader,p1,Li Ming", "g01,grid_assistant,p3,Zhao Lei",
        "g01,grid_assistant,p2,Wang Fang", "g01,grid_cleaner,p9,Sun Li"]
    # Importing keeps the people of a role in the file's order, the roles in the fixed order.
    read = from_csv(written)["grids"][0]["butler_team"]
    assert list(read) == ["grid_leader", "grid_assistant", "grid_cleaner"]
    assert [p["id"] for p in read["grid_assistant"]] == ["p3", "p2"]


def test_a_registry_without_buildings_or_butler_teams_exports_those_files_as_a_header():
    bare = {**REGISTRY, "buildings": [],
            "grids": [{**g, "butler_team": {}} for g in REGISTRY["grids"]]}
    written = to_csv(bare)
    assert written["buildings.csv"] == "id,name,grid_id,households,population,head_id,head_name\n"
    assert written["butler_roles.csv"] == "grid_id,role,person_id,name\n"
    assert from_csv(written) == bare


# What a spreadsheet may send


def test_a_byte_order_mark_and_columns_in_another_order_are_accepted():
    districts = "\ufeffpopulation,name,id,households\r\n530000,建邺区,jianye,190000\r\n"
    grids = ("boundary,households,population,name,id,workstation_id\n"
             ",7,20,Test,gx,ws-xinglong\n")
    read = from_csv(files(districts_csv=districts, grids_csv=grids, butler_roles_csv=None))
    assert read["districts"] == REGISTRY["districts"]
    assert read["grids"] == [{"id": "gx", "name": "Test", "workstation_id": "ws-xinglong",
                              "households": 7, "population": 20, "boundary": None,
                              "butler_team": {}}]


def test_files_given_as_utf8_bytes_are_read_too():
    as_bytes = {name: ("\ufeff" + text).encode() for name, text in to_csv(REGISTRY).items()}
    assert from_csv(as_bytes) == REGISTRY


def test_buildings_and_butler_roles_may_be_left_out():
    read = from_csv(files(buildings_csv=None, butler_roles_csv=None))
    assert read["buildings"] == []
    assert all(grid["butler_team"] == {} for grid in read["grids"])


def test_an_empty_cell_is_no_number_and_blank_lines_are_skipped():
    communities = ("id,name,type,sub_district_id,households,population\n\n"
                   "c-hexi,河西社区,urban,shazhou, ,\n,,,,,\n")
    read = from_csv(files(communities_csv=communities))
    assert read["communities"] == [{"id": "c-hexi", "name": "河西社区", "type": "urban",
                                    "sub_district_id": "shazhou", "households": None,
                                    "population": None}]


# What it is told when something is wrong


def test_required_files_must_be_there_and_unknown_files_are_named():
    found = problems(files(grids_csv=None, **{"grid.csv": "id\n"}))
    assert found == {"files": [
        "Unknown file 'grid.csv'; did you mean 'grids.csv'? the registry's files are "
        + ", ".join(TABLES) + ".",
        "Missing file 'grids.csv'; the registry needs districts.csv, sub_districts.csv, "
        "communities.csv, workstations.csv, grids.csv (butler_roles.csv, buildings.csv may be "
        "left out)."]}


def test_a_header_must_have_every_column_and_no_other():
    found = problems(files(
        communities_csv="id,name,sub_district_id,households,population\nc-hexi,Hexi,shazhou,1,2\n",
        workstations_csv="id,name,community_id,households,population,notes,\n",
        districts_csv="id,name,name,households,population\n",
        buildings_csv=""))
    assert found == {
        "communities.csv": ["Missing columns: type; the header must be "
                            "id,name,type,sub_district_id,households,population (in any order)."],
        "workstations.csv": ["Unknown columns: notes, (unnamed); the header must be "
                             "id,name,community_id,households,population (in any order)."],
        "districts.csv": ["Columns given twice: name; the header must be "
                          "id,name,households,population (in any order)."]}


def test_a_required_file_needs_at_least_its_header():
    assert problems(files(districts_csv="\n")) == {
        "districts.csv": ["The file is empty; it needs at least the header id,name,households,population."]}


@pytest.mark.parametrize("value", ["many", "12.5", "1,234", "1_000"])
def test_households_and_population_are_whole_numbers(value):
    text = to_csv(REGISTRY)["grids.csv"].replace("g03,Xinglong,ws-xinglong,0,0,",
                                                 f'g03,Xinglong,ws-xinglong,"{value}",0,')
    assert problems(files(grids_csv=text)) == {
        "grids.csv": {"line 4": {"households": [f"Give a whole number, not {value!r}."]}}}


def test_a_boundary_is_a_geojson_object_in_json():
    grids = ("id,name,workstation_id,households,population,boundary\n"
             'g01,Hexi 1,ws-hexi-1,412,1210,"{""type"": ""Polygon"", coordinates}"\n'
             'g02,Hexi 2,ws-hexi-1,388,1046,"[[118.73, 32.01]]"\n'
             "g03,Xinglong,ws-xinglong,0,0,\n")
    found = problems(files(grids_csv=grids, butler_roles_csv=None))
    assert found == {"grids.csv": {
        "line 2": {"boundary": ["The boundary is not valid JSON (Expecting property name enclosed "
                                "in double quotes at character 21); give it as GeoJSON text, or "
                                "leave it empty."]},
        "line 3": {"boundary": ['The boundary must be a GeoJSON object such as {"type": "Polygon", '
                                '"coordinates": ...}, not a list; or leave it empty.']}}}


def test_a_building_head_has_both_an_id_and_a_name_or_neither():
    buildings = ("id,name,grid_id,households,population,head_id,head_name\n"
                 "b1,Building 1,g01,,,b1-head,\n"
                 "b2,Building 2,g01,,,,Huang Mei\n"
                 "b3,Building 3,g01,,,,\n")
    assert problems(files(buildings_csv=buildings)) == {"buildings.csv": {
        "line 2": {"head_name": ["Give the name of the building head 'b1-head', or leave head_id "
                                 "empty too."]},
        "line 3": {"head_id": ["Give the id of the building head 'Huang Mei', or leave head_name "
                               "empty too."]}}}


def test_a_butler_role_names_a_grid_of_grids_csv_a_known_role_and_a_person():
    roles = ("grid_id,role,person_id,name\n"
             "g01,grid_leader,p1,Li Ming\n"
             "g99,boss,p2,Wang Fang\n"
             "g02,grid_cleaner,,\n")
    assert problems(files(butler_roles_csv=roles)) == {"butler_roles.csv": {
        "line 3": {"grid_id": ["No grid 'g99' in grids.csv."],
                   "role": [f"Unknown role 'boss'; use one of {', '.join(ROLES)}."]},
        "line 4": {"person_id": ["Give the person's id; each line names one person in a role."],
                   "name": ["Give the person's name; each line names one person in a role."]}}}


def test_butler_roles_are_not_blamed_for_a_grids_csv_that_cannot_be_read():
    found = problems(files(grids_csv="id,name\ng01,Hexi 1\n"))
    assert list(found) == ["grids.csv"]


def test_a_line_with_more_values_than_columns_asks_for_quotes():
    districts = "id,name,households,population\njianye,Jianye, Nanjing,190000,530000\n"
    assert problems(files(districts_csv=districts)) == {"districts.csv": {"line 2": {"row": [
        "This line has 5 values but the header has 4 columns; put values that contain commas "
        "in double quotes."]}}}


def test_lines_are_counted_in_the_file_including_blank_lines_and_values_over_several_lines():
    grids = ("id,name,workstation_id,households,population,boundary\n"
             '\ng01,Hexi 1,ws-hexi-1,412,1210,"{\n  ""type"": ""Polygon"",\n'
             '  ""coordinates"": [[[118.73, 32.01]]]\n}"\n'
             "g02,Hexi 2,ws-hexi-1,many,1046,\n")
    assert problems(files(grids_csv=grids, butler_roles_csv=None)) == {
        "grids.csv": {"line 7": {"households": ["Give a whole number, not 'many'."]}}}


def test_every_problem_of_every_file_is_reported_at_once():
    found = problems(files(
        grids_csv=to_csv(REGISTRY)["grids.csv"].replace(",412,1210,", ",412,lots,"),
        communities_csv="id,name,sub_district_id,households,population\n",
        buildings_csv=to_csv(REGISTRY)["buildings.csv"].replace(",Huang Mei", ","),
        butler_roles_csv="grid_id,role,person_id,name\ng01,boss,p1,Li Ming\ng99,grid_leader,p2,Wang\n",
        **{"notes.txt": "hello"}))
    assert found["files"] == [f"Unknown file 'notes.txt'; the registry's files are {', '.join(TABLES)}."]
    assert found["grids.csv"] == {"line 2": {"population": ["Give a whole number, not 'lots'."]}}
    assert found["communities.csv"][0].startswith("Missing columns: type;")
    assert list(found["buildings.csv"]) == ["line 2"]
    assert list(found["butler_roles.csv"]) == ["line 2", "line 3"]


def test_the_error_says_what_to_do():
    with pytest.raises(InvalidFields) as raised:
        from_csv(files(grids_csv=None))
    assert raised.value.message == ("Some registry files have problems; correct the lines listed "
                                    "under each file and import the files again.")


# The schema's answers in file terms


def test_problems_with_the_document_are_given_by_file_and_line():
    fields = {"grids": {2: {"population": ["Missing data for required field."],
                            "butler_team": {"grid_leader": {0: {"id": ["Not a valid string."]}}}}},
              "communities": {0: {"type": ["Must be one of: urban, industrial."]}},
              "buildings": {1: {"head": {"name": ["Missing data for required field."]},
                                "households": ["Must be greater than or equal to 0."]}},
              "workstations": ["Missing data for required field."],
              "_schema": ["Unknown field."]}
    assert csv_fields(fields) == {
        "grids.csv": {"line 4": {"population": ["Missing data for required field."],
                                 "butler_team": {"grid_leader": {0: {"id": ["Not a valid string."]}}}}},
        "communities.csv": {"line 2": {"type": ["Must be one of: urban, industrial."]}},
        "buildings.csv": {"line 3": {"head_name": ["Missing data for required field."],
                                     "households": ["Must be greater than or equal to 0."]}},
        "workstations.csv": ["Missing data for required field."],
        "_schema": ["Unknown field."]}


def test_a_line_given_by_csv_fields_is_the_line_of_the_exported_file():
    exported = to_csv(REGISTRY)["grids.csv"].splitlines()
    line = next(iter(csv_fields({"grids": {2: {"name": ["x"]}}})["grids.csv"]))
    assert exported[int(line.removeprefix("line ")) - 1].startswith("g03,")
