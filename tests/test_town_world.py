"""The town's world: areas and objects on the tile map, A* paths, perception and spatial memory,
and the default town's data files with the loader's errors."""

import shutil
from collections import deque
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ponder.errors import DataError
from ponder.town.load import default_town, load_town
from ponder.town.paths import NoPath, manhattan, path, path_to
from ponder.town.spatial import SpatialMemory, chebyshev, perceive, visible_tiles
from ponder.town.world import build_world, grid

DEFAULT = Path(__file__).resolve().parents[1] / "src" / "ponder" / "town" / "data" / "default"

HOUSE = [
    "##########",
    "#bb#kkkk.#",
    "#bbHkkkk.#",
    "####H###.#",
    "#........#",
    "##########",
]
HOUSE_AREAS = [("Lin house", "H"), ("Lin house:bedroom", "b"), ("Lin house:kitchen", "k")]


def lin_house():
    return build_world(
        "Tiny",
        HOUSE,
        HOUSE_AREAS,
        {"Lin house:kitchen:stove": [(5, 1)], "Lin house:bedroom:bed": [(1, 1), (1, 2)]},
    )


# --- areas, addresses, objects ---------------------------------------------------------------


def test_the_deepest_area_at_a_tile_and_the_addresses():
    w = lin_house()
    assert w.area_at((5, 2)).address == "Lin house:kitchen"
    assert w.area_at((3, 2)).address == "Lin house"  # the doorway belongs to the house itself
    assert w.area_at((2, 4)).address == ""  # the street is the town
    assert w.area_at((0, 0)).address == ""  # and so are the walls
    assert w.area("Lin house:kitchen").name == "kitchen"
    assert w.area("Lin house").tiles == w.area("Lin house:kitchen").tiles | w.area(
        "Lin house:bedroom"
    ).tiles | {(3, 2), (4, 3)}
    assert w.tiles_of("Lin house:bedroom:bed") == ((1, 1), (1, 2))
    assert w.contains("Lin house", (5, 1)) and not w.contains("Lin house", (8, 1))
    assert w.addresses() == [
        "Lin house",
        "Lin house:bedroom",
        "Lin house:bedroom:bed",
        "Lin house:kitchen",
        "Lin house:kitchen:stove",
    ]
    assert [o.address for o in w.objects_at((1, 2))] == ["Lin house:bedroom:bed"]
    with pytest.raises(KeyError, match="no area 'Lin house:attic'"):
        w.area("Lin house:attic")
    with pytest.raises(KeyError, match="outside"):
        w.area_at((10, 0))


def test_an_object_has_a_state_that_can_be_set():
    w = lin_house()
    stove = w.object("Lin house:kitchen:stove")
    assert stove.describe() == "stove: idle"
    w.set_state("Lin house:kitchen:stove", "cooking")
    assert stove.describe() == "stove: cooking"
    assert w.states() == {"Lin house:bedroom:bed": "idle", "Lin house:kitchen:stove": "cooking"}
    with pytest.raises(ValueError, match="empty"):
        stove.set_state("  ")
    with pytest.raises(KeyError, match="no object"):
        w.set_state("Lin house:kitchen:oven", "on")


def test_a_world_rejects_an_object_on_a_wall_and_an_unknown_code():
    with pytest.raises(ValueError, match="not a walkable tile"):
        build_world("Tiny", HOUSE, HOUSE_AREAS, {"Lin house:kitchen:stove": [(3, 1)]})
    with pytest.raises(ValueError, match="unknown code 'H'"):
        build_world("Tiny", HOUSE, [("Lin house", None), *HOUSE_AREAS[1:]])


# --- A* ----------------------------------------------------------------------------------------


def bfs(world, start):
    dist = {start: 0}
    queue = deque([start])
    while queue:
        tile = queue.popleft()
        for nxt in world.neighbours(tile):
            if nxt not in dist:
                dist[nxt] = dist[tile] + 1
                queue.append(nxt)
    return dist


grids = st.integers(2, 9).flatmap(
    lambda w: st.lists(st.text("#..", min_size=w, max_size=w), min_size=1, max_size=9)
)


@settings(max_examples=300, deadline=None)
@given(rows=grids, data=st.data())
def test_a_star_walks_the_bfs_shortest_distance_on_random_grids(rows, data):
    world = grid(rows)
    open_tiles = sorted(world.walkable)
    if not open_tiles:
        return
    start = data.draw(st.sampled_from(open_tiles))
    goal = data.draw(st.sampled_from(open_tiles))
    dist = bfs(world, start)
    if goal not in dist:
        with pytest.raises(NoPath, match="cut it off"):
            path(world, start, goal)
        return
    walk = path(world, start, goal)
    assert walk[0] == start and walk[-1] == goal
    assert len(walk) - 1 == dist[goal]
    assert all(world.is_walkable(t) for t in walk)
    assert all(manhattan(a, b) == 1 for a, b in zip(walk, walk[1:]))
    assert path(world, start, goal) == walk  # deterministic


def test_an_unreachable_goal_raises_no_path():
    world = grid(["..#..", "..#..", "..#.."])
    with pytest.raises(NoPath, match=r"no path from \(0, 0\) to \(4, 2\).*walls cut it off"):
        path(world, (0, 0), (4, 2))
    with pytest.raises(NoPath, match="goal is not a walkable tile"):
        path(world, (0, 0), (2, 1))
    with pytest.raises(NoPath, match="goal is not a walkable tile"):
        path(world, (0, 0), (9, 9))
    with pytest.raises(NoPath, match="start is not a walkable tile"):
        path(world, (2, 0), (0, 0))
    assert path(world, (1, 1), (1, 1)) == [(1, 1)]


def test_a_walk_to_an_address_ends_on_its_nearest_tile():
    w = lin_house()
    walk = path_to(w, (1, 4), "Lin house:kitchen:stove")
    assert walk[0] == (1, 4) and walk[-1] == (5, 1)
    assert len(walk) - 1 == 7  # (1,4) → (4,4) → (4,3) door → (4,2) → (5,2) → (5,1)
    to_kitchen = path_to(w, (1, 4), "Lin house:kitchen")
    assert to_kitchen[-1] == (4, 2)
    with pytest.raises(KeyError):
        path_to(w, (1, 4), "Lin house:attic")


# --- perception and spatial memory -------------------------------------------------------------


def test_perception_sees_the_stove_in_the_kitchen_not_the_one_across_town():
    town = default_town()
    w = town.world
    seen = perceive(w, (7, 3), town.start, me="Rosa Delgado")
    addresses = [o.address for o in seen.objects]
    assert seen.area == "Delgado house:kitchen"
    assert "Delgado house:kitchen:stove" in addresses
    assert "Okafor house:kitchen:stove" not in addresses
    assert "Lantern Cafe:coffee machine" not in addresses
    stove = next(o for o in seen.objects if o.address == "Delgado house:kitchen:stove")
    assert (stove.describe(), stove.distance) == ("stove: idle", 1)
    assert [o.distance for o in seen.objects] == sorted(o.distance for o in seen.objects)
    w.set_state("Delgado house:kitchen:stove", "cooking")
    again = perceive(w, (7, 3))
    assert "stove: cooking" in [o.describe() for o in again.objects]


def test_the_radius_is_chebyshev_and_walls_block_sight():
    w = grid(["." * 11] * 11)
    seen = set(visible_tiles(w, (5, 5), radius=3))
    assert (8, 8) in seen and (2, 2) in seen  # the corner of the square: Chebyshev 3
    assert (9, 5) not in seen and (5, 1) not in seen
    assert all(chebyshev((5, 5), t) <= 3 for t in seen)
    assert len(seen) == 49
    walled = grid(["....", "#.##", "...."])
    assert (0, 2) not in visible_tiles(walled, (0, 0), radius=4)
    assert (1, 2) in visible_tiles(walled, (1, 0), radius=4)


def test_perception_sees_agents_within_reach_only():
    w = grid(["." * 12])
    others = {"Ana": (3, 0), "Bo": (0, 0), "Cy": (9, 0), "Me": (1, 0)}
    seen = perceive(w, (1, 0), others, me="Me", radius=4)
    assert [(a.name, a.distance) for a in seen.agents] == [("Bo", 1), ("Ana", 2)]


def test_spatial_memory_grows_only_with_what_was_seen():
    town = default_town()
    w = town.world
    start = town.start["Rosa Delgado"]
    empty = SpatialMemory("Rosa Delgado")
    assert not empty.knows("Delgado house:kitchen") and empty.knows("")
    memory = empty
    perceived: set[str] = set()
    for tile in path_to(w, start, "Delgado house:kitchen:stove"):
        seen = perceive(w, tile)
        perceived |= set(seen.areas) | {o.address for o in seen.objects}
        grown = memory.update(seen)
        assert set(memory.known) <= set(grown.known)
        memory = grown
    assert empty.known == ()  # updates return copies
    assert set(memory.known) == perceived
    assert memory.knows("Delgado house:kitchen:stove")
    assert not memory.knows("Okafor house") and not memory.knows("Lantern Cafe:counter")
    assert memory.tree()["Delgado house"]["kitchen"]["stove"] == {}
    assert memory.children("Delgado house")[:2] == ["bedroom", "kitchen"]
    lines = memory.describe().splitlines()
    assert lines[:3] == ["Delgado house", "  bedroom", "    bed"]
    assert lines.index("    stove") > lines.index("  kitchen")
    told = memory.learn(["Lantern Cafe:counter"])
    assert told.knows("Lantern Cafe") and told.knows("Lantern Cafe:counter")


# --- the default town ---------------------------------------------------------------------------


def test_the_default_town_loads_with_homes_starts_and_the_seeded_facts():
    town = default_town()
    w = town.world
    assert (w.width, w.height) == (40, 30)
    top = [a.name for a in w.root.areas]
    assert {"Lantern Cafe", "Chen's Grocery", "Millbrook School", "Willow Park", "Town Hall"} <= set(top)
    assert sum(name.endswith("house") for name in top) == 4
    assert len(town.personas) == 6
    for name, persona in town.personas.items():
        assert persona.name == name
        assert w.area(persona.home).address == persona.home
        assert 5 <= len(persona.facts) <= 8
        assert set(persona.relationships) <= set(town.personas) - {name}
        assert w.contains(persona.home, town.start[name])
    assert w.object("Delgado house:kitchen:stove").state == "idle"
    facts = {f.id: f for f in town.scenario.facts}
    party = facts["party"]
    assert party.place == "Lantern Cafe" and party.at is not None
    assert party.at.date() == town.start_time.date() and party.at.hour == 17
    assert party.agent in town.personas and "not invited anyone" in party.text
    assert "mayor" in facts["election"].text and facts["election"].agent in town.personas


def test_every_area_of_the_default_town_is_reachable_from_every_other():
    w = default_town().world
    areas = [a.address for a in w.areas() if a.address]
    for a in areas:
        start = w.tiles_of(a)[0]
        assert w.is_walkable(start)
        for b in areas:
            walk = path_to(w, start, b)
            assert w.contains(b, walk[-1])
    assert set(bfs(w, (1, 1))) == set(w.walkable)


# --- loader errors ------------------------------------------------------------------------------


@pytest.fixture
def town_dir(tmp_path):
    folder = tmp_path / "town"
    shutil.copytree(DEFAULT, folder)
    return folder


def edit(path: Path, old: str, new: str) -> int:
    """Replace the first `old` in the file; the 1-based line where it was."""
    text = path.read_text(encoding="utf-8")
    at = text.index(old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return text[:at].count("\n") + 1


def test_a_map_row_of_the_wrong_length_names_the_line(town_dir):
    rows = (town_dir / "map.txt").read_text().splitlines()
    rows[4] = rows[4][:-1]
    (town_dir / "map.txt").write_text("\n".join(rows) + "\n")
    with pytest.raises(DataError, match=r"map\.txt:5: row 4 is 39 tiles wide, the first row 40"):
        load_town(town_dir)


def test_an_unknown_area_code_names_the_line_and_column(town_dir):
    rows = (town_dir / "map.txt").read_text().splitlines()
    rows[9] = rows[9][:5] + "Z" + rows[9][6:]
    (town_dir / "map.txt").write_text("\n".join(rows) + "\n")
    with pytest.raises(DataError, match=r"map\.txt:10: column 6: unknown area code 'Z'"):
        load_town(town_dir)


def test_an_object_on_a_wall_names_the_line_and_field(town_dir):
    line = edit(
        town_dir / "areas.yaml", "{name: coffee machine, at: [3, 12]}", "{name: coffee machine, at: [2, 12]}"
    )
    with pytest.raises(
        DataError,
        match=rf"areas\.yaml:{line}: areas\[4\]\.objects\[0\]\.at: 'Lantern Cafe:coffee machine' is placed on a wall",
    ):
        load_town(town_dir)


def test_an_object_outside_its_area_names_the_line(town_dir):
    line = edit(town_dir / "areas.yaml", "{name: piano, at: [10, 17]}", "{name: piano, at: [15, 12]}")
    with pytest.raises(
        DataError, match=rf"areas\.yaml:{line}: .*outside its area 'Lantern Cafe'.*Chen's Grocery"
    ):
        load_town(town_dir)


def test_a_code_used_twice_names_the_line(town_dir):
    line = edit(town_dir / "areas.yaml", "code: G", "code: C")
    with pytest.raises(
        DataError, match=rf"areas\.yaml:{line}: areas\[5\]\.code: 'C' is already the code of 'Lantern Cafe'"
    ):
        load_town(town_dir)


def test_a_persona_missing_a_field_names_the_agent(town_dir):
    edit(town_dir / "agents.yaml", "    age: 46\n", "")
    text = (town_dir / "agents.yaml").read_text()
    line = text[: text.index("  - name: Grace Okafor")].count("\n") + 1
    with pytest.raises(DataError, match=rf"agents\.yaml:{line}: agents\[1\]: the persona has no field 'age'"):
        load_town(town_dir)


def test_a_home_that_does_not_exist_names_the_line(town_dir):
    line = edit(town_dir / "agents.yaml", "home: Brandt house", "home: Brant house")
    with pytest.raises(DataError, match=rf"agents\.yaml:{line}: agents\[3\]\.home: no area 'Brant house'"):
        load_town(town_dir)


def test_a_relationship_with_an_unknown_agent_names_the_line(town_dir):
    line = edit(town_dir / "agents.yaml", "      Leo Chen: The town clerk", "      Leon Chen: The town clerk")
    with pytest.raises(
        DataError, match=rf"agents\.yaml:{line}: agents\[3\]\.relationships: 'Leon Chen' is not another agent"
    ):
        load_town(town_dir)


def test_scenario_and_yaml_mistakes_name_the_line(town_dir):
    line = edit(town_dir / "scenario.yaml", "agent: Walter Brandt", "agent: Walt")
    with pytest.raises(DataError, match=rf"scenario\.yaml:{line}: facts\[1\]\.agent: 'Walt' is not an agent"):
        load_town(town_dir)
    line = edit(town_dir / "scenario.yaml", "agent: Walt", "agent: [Walt")
    with pytest.raises(DataError, match=r"scenario\.yaml:\d+: not YAML"):
        load_town(town_dir)
    line = edit(town_dir / "agents.yaml", "    traits: warm", "    trait: warm")
    with pytest.raises(DataError, match=rf"agents\.yaml:{line}: agents\[0\]\.trait: unknown field"):
        load_town(town_dir)
    edit(town_dir / "agents.yaml", "    trait: warm", "    traits: warm")
    edit(town_dir / "scenario.yaml", "agent: [Walt", "agent: Walter Brandt")
    line = edit(town_dir / "scenario.yaml", "name: Valentine's", "start: 2025-02-14\nname: Valentine's")
    with pytest.raises(DataError, match=rf"scenario\.yaml:{line + 2}: the key 'start' appears twice"):
        load_town(town_dir)


def test_a_facts_keys_must_be_a_list_of_words(town_dir):
    line = edit(town_dir / "scenario.yaml", "keys: [Walter, Brandt]", "keys: Walter")
    with pytest.raises(
        DataError, match=rf"scenario\.yaml:{line}: facts\[1\]\.keys: expected a list of words"
    ):
        load_town(town_dir)


def test_a_start_can_be_a_tile_and_must_be_walkable(town_dir):
    edit(town_dir / "agents.yaml", "start: Delgado house:bedroom:bed", "start: [1, 10]")
    assert load_town(town_dir).start["Rosa Delgado"] == (1, 10)
    line = edit(town_dir / "agents.yaml", "start: [1, 10]", "start: [0, 10]")
    with pytest.raises(
        DataError, match=rf"agents\.yaml:{line}: agents\[0\]\.start: \[0, 10\] is not a walkable tile"
    ):
        load_town(town_dir)


def test_a_seeded_fact_is_what_its_agent_is_currently_about():
    town = default_town()
    rosa, grace = town.personas["Rosa Delgado"], town.personas["Grace Okafor"]
    assert rosa.currently == (town.scenario.facts[0].text,)
    assert rosa.summary().endswith("\nCurrently: " + town.scenario.facts[0].text)
    assert grace.currently == () and "Currently" not in grace.summary()
