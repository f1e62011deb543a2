"""Reading a town from its folder: `map.txt` (the tile grid), `areas.yaml` (the tree of areas and
objects on it), `agents.yaml` (the personas and where each starts) and `scenario.yaml` (the start
time and the seeded facts). The format of each is described at the top of the default town's files
(`data/default/`).

Map characters: `#` a wall, `.` the town's own walkable ground, any other character the code of an
area in areas.yaml. A tile is `(x, y)`, column then row from 0 at the top left.

Every mistake raises DataError naming the file, the line and the field: "agents.yaml:12:
agents[2].home: no area 'Nowhere house' in the town".
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from ponder.errors import DataError
from ponder.town.contracts import Persona
from ponder.town.world import SEP, STREET, WALL, Tile, World, build_world, row_major
from ponder.town.yaml_lines import Map, Seq, line_of, read_text, read_yaml

MAP_FILE, AREAS_FILE, AGENTS_FILE, SCENARIO_FILE = "map.txt", "areas.yaml", "agents.yaml", "scenario.yaml"
PERSONA_FIELDS = ("name", "age", "traits", "facts", "lifestyle", "home", "start", "relationships")


@dataclass(frozen=True)
class SeedFact:
    """A fact one agent knows when the run starts (`text`), the interview question that asks
    whether another has heard of it, for an event its place (an area address) and time, and the
    words of which an answer that knows it names at least one (`keys`; none: no such check)."""

    id: str
    agent: str
    text: str
    question: str
    place: str | None = None
    at: datetime | None = None
    keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scenario:
    """A run's starting point: its name, the simulation time it starts at, the seeded facts."""

    name: str
    start: datetime
    facts: tuple[SeedFact, ...]


@dataclass
class Town:
    """A town ready to run: its world, its personas (in file order), the tile each agent starts on,
    and the scenario."""

    world: World
    personas: dict[str, Persona]
    start: dict[str, Tile]
    scenario: Scenario

    @property
    def start_time(self) -> datetime:
        """When the run begins, in simulation time."""
        return self.scenario.start


def default_town() -> Town:
    """Millbrook, the town that ships with ponder."""
    return load_town(Path(__file__).parent / "data" / "default")


def load_town(folder: Path | str, scenario: str = SCENARIO_FILE) -> Town:
    """The town in `folder` (with `scenario` as its scenario file); DataError naming the file,
    line and field of the first mistake."""
    folder = Path(folder)
    rows = read_map(folder / MAP_FILE)
    world = read_areas(folder / AREAS_FILE, rows, folder / MAP_FILE)
    personas, start = read_agents(folder / AGENTS_FILE, world)
    seeded = read_scenario(folder / scenario, world, personas)
    for name, persona in personas.items():
        facts = tuple(f.text for f in seeded.facts if f.agent == name)
        personas[name] = replace(persona, currently=persona.currently + facts)
    return Town(world, personas, start, seeded)


def read_map(path: Path) -> list[str]:
    """The map's rows: every row as wide as the first, at least one row."""
    rows = read_text(path).splitlines()
    while rows and not rows[-1]:
        rows.pop()
    if not rows or not rows[0]:
        raise DataError(f"{path}:1: the map is empty")
    for i, row in enumerate(rows):
        if len(row) != len(rows[0]):
            raise DataError(f"{path}:{i + 1}: row {i} is {len(row)} tiles wide, the first row {len(rows[0])}")
    return rows


def read_areas(path: Path, rows: list[str], map_path: Path) -> World:
    """The world: the map's tiles with the areas and objects of areas.yaml on them."""
    doc = _top(path, ("town", "areas"))
    town = _text(path, doc, "town", "town")
    areas: list[tuple[str, str | None]] = []
    codes: dict[str, str] = {}
    placed: dict[str, list[Tile]] = {}
    states: dict[str, str] = {}
    where: dict[str, tuple[int, str]] = {}

    def walk(items: Any, parent: str, field: str, line: int) -> None:
        if not isinstance(items, Seq):
            raise DataError(f"{path}:{line}: {field}: expected a list of areas")
        for i, item in enumerate(items):
            f = f"{field}[{i}]"
            at = items.lines[i]
            _mapping(path, item, f, at, ("name", "code", "areas", "objects"))
            address = _address(path, item, parent, f, seen=where)
            where[address] = (item.line, f)
            code = _code(path, item, f, codes, address)
            areas.append((address, code))
            for j, obj in enumerate(_list(path, item, "objects", f)):
                g = f"{f}.objects[{j}]"
                _mapping(path, obj, g, item["objects"].lines[j], ("name", "at", "state"))
                obj_address = _address(path, obj, address, g, seen=where)
                where[obj_address] = (obj.line, g)
                placed[obj_address] = _tiles(path, obj, g)
                if "state" in obj:
                    states[obj_address] = _text(path, obj, "state", g)
            if "areas" in item:
                walk(item["areas"], address, f"{f}.areas", item.lines["areas"])

    walk(doc["areas"], "", "areas", doc.lines["areas"])
    _check_map(map_path, rows, codes)
    world = _build(path, town, rows, areas, placed, where)
    for address, state in states.items():
        world.set_state(address, state)
    return world


def _check_map(path: Path, rows: list[str], codes: dict[str, str]) -> None:
    for y, row in enumerate(rows):
        for x, ch in enumerate(row):
            if ch not in (WALL, STREET) and ch not in codes:
                raise DataError(
                    f"{path}:{y + 1}: column {x + 1}: unknown area code {ch!r} (not in {AREAS_FILE})"
                )


def _build(
    path: Path,
    town: str,
    rows: list[str],
    areas: list[tuple[str, str | None]],
    placed: dict[str, list[Tile]],
    where: dict[str, tuple[int, str]],
) -> World:
    width, height = len(rows[0]), len(rows)
    for address, tiles in placed.items():
        line, f = where[address]
        for x, y in tiles:
            if not (0 <= x < width and 0 <= y < height):
                raise DataError(f"{path}:{line}: {f}.at: tile [{x}, {y}] is off the {width}x{height} map")
            if rows[y][x] == WALL:
                raise DataError(f"{path}:{line}: {f}.at: {address!r} is placed on a wall at [{x}, {y}]")
    world = build_world(town, rows, areas, {})
    for address, _ in areas:
        if not world.area(address).tiles:
            line, f = where[address]
            raise DataError(f"{path}:{line}: {f}: area {address!r} covers no tile of {MAP_FILE}")
    for address, tiles in placed.items():
        holder = address.rpartition(SEP)[0]
        for tile in tiles:
            if not world.contains(holder, tile):
                line, f = where[address]
                raise DataError(
                    f"{path}:{line}: {f}.at: {address!r} at [{tile[0]}, {tile[1]}] is outside its area "
                    f"{holder!r} (that tile is in {world.area_at(tile).address or town!r})"
                )
    return build_world(town, rows, areas, placed)


def read_agents(path: Path, world: World) -> tuple[dict[str, Persona], dict[str, Tile]]:
    """The personas of agents.yaml and the tile each starts on."""
    doc = _top(path, ("agents",))
    items = doc["agents"]
    if not isinstance(items, Seq) or not items:
        raise DataError(f"{path}:{doc.lines['agents']}: agents: expected a list of agents")
    names: list[str] = []
    for i, item in enumerate(items):
        _mapping(path, item, f"agents[{i}]", items.lines[i], PERSONA_FIELDS)
        name = _text(path, item, "name", f"agents[{i}]")
        if name in names:
            raise DataError(f"{path}:{item.lines['name']}: agents[{i}].name: {name!r} is listed twice")
        names.append(name)
    personas: dict[str, Persona] = {}
    start: dict[str, Tile] = {}
    for i, item in enumerate(items):
        f = f"agents[{i}]"
        for key in PERSONA_FIELDS:
            if key not in item:
                raise DataError(f"{path}:{item.line}: {f}: the persona has no field {key!r}")
        age = item["age"]
        if not isinstance(age, int) or isinstance(age, bool) or age < 0:
            raise DataError(f"{path}:{item.lines['age']}: {f}.age: expected a whole number, got {age!r}")
        facts = item["facts"]
        if (
            not isinstance(facts, Seq)
            or not facts
            or not all(isinstance(x, str) and x.strip() for x in facts)
        ):
            raise DataError(f"{path}:{item.lines['facts']}: {f}.facts: expected a list of sentences")
        home = _text(path, item, "home", f)
        if home not in {a.address for a in world.areas()}:
            raise DataError(f"{path}:{item.lines['home']}: {f}.home: no area {home!r} in the town")
        relations = item["relationships"] if item["relationships"] is not None else Map()
        if not isinstance(relations, Map):
            raise DataError(f"{path}:{item.lines['relationships']}: {f}.relationships: expected name: text")
        name = item["name"]
        for other, text in relations.items():
            line = relations.lines[other]
            if other not in names or other == name:
                raise DataError(
                    f"{path}:{line}: {f}.relationships: {other!r} is not another agent of the town"
                )
            if not isinstance(text, str) or not text.strip():
                raise DataError(f"{path}:{line}: {f}.relationships.{other}: expected a sentence")
        personas[name] = Persona(
            name=name,
            age=age,
            traits=_text(path, item, "traits", f),
            facts=tuple(x.strip() for x in facts),
            lifestyle=_text(path, item, "lifestyle", f),
            home=home,
            relationships={str(k): v.strip() for k, v in relations.items()},
        )
        start[name] = _start(path, item, f, world)
    return personas, start


def _start(path: Path, item: Map, f: str, world: World) -> Tile:
    value, line = item["start"], item.lines["start"]
    if isinstance(value, str):
        if not world.has(value):
            raise DataError(f"{path}:{line}: {f}.start: no area or object {value!r} in the town")
        tiles = [t for t in world.tiles_of(value) if world.is_walkable(t)]
        if not tiles:
            raise DataError(f"{path}:{line}: {f}.start: {value!r} has no walkable tile")
        return tiles[0]
    tile = _tile(path, value, f"{f}.start", line)
    if not world.is_walkable(tile):
        raise DataError(f"{path}:{line}: {f}.start: [{tile[0]}, {tile[1]}] is not a walkable tile")
    return tile


def read_scenario(path: Path, world: World, personas: dict[str, Persona]) -> Scenario:
    """The scenario: its start time and its seeded facts, each held by an agent of the town."""
    doc = _top(path, ("name", "start", "facts"))
    name = _text(path, doc, "name", "scenario")
    start = _time(path, doc, "start", "start")
    facts: list[SeedFact] = []
    items = doc["facts"] if doc["facts"] is not None else Seq()
    if not isinstance(items, Seq):
        raise DataError(f"{path}:{doc.lines['facts']}: facts: expected a list of facts")
    for i, item in enumerate(items):
        f = f"facts[{i}]"
        _mapping(path, item, f, items.lines[i], ("id", "agent", "text", "question", "place", "at", "keys"))
        agent = _text(path, item, "agent", f)
        if agent not in personas:
            raise DataError(f"{path}:{item.lines['agent']}: {f}.agent: {agent!r} is not an agent of the town")
        place = _text(path, item, "place", f) if "place" in item else None
        if place is not None and place not in {a.address for a in world.areas()}:
            raise DataError(f"{path}:{item.lines['place']}: {f}.place: no area {place!r} in the town")
        at = _time(path, item, "at", f) if "at" in item else None
        keys = item.get("keys", Seq())
        if not isinstance(keys, Seq) or not all(isinstance(k, str) and k.strip() for k in keys):
            raise DataError(f"{path}:{item.lines['keys']}: {f}.keys: expected a list of words")
        fact = SeedFact(
            _text(path, item, "id", f),
            agent,
            _text(path, item, "text", f),
            _text(path, item, "question", f),
            place,
            at,
            tuple(keys),
        )
        if any(x.id == fact.id for x in facts):
            raise DataError(f"{path}:{item.lines['id']}: {f}.id: {fact.id!r} is used twice")
        facts.append(fact)
    return Scenario(name, start, tuple(facts))


def _top(path: Path, required: tuple[str, ...]) -> Map:
    doc = read_yaml(path)
    if not isinstance(doc, Map):
        raise DataError(f"{path}:1: expected a mapping with {', '.join(required)}")
    for key in required:
        if key not in doc:
            raise DataError(f"{path}:{doc.line}: the field {key!r} is missing")
    return doc


def _mapping(path: Path, item: Any, f: str, line: int, allowed: tuple[str, ...]) -> None:
    if not isinstance(item, Map):
        raise DataError(f"{path}:{line}: {f}: expected a mapping")
    for key in item:
        if key not in allowed:
            raise DataError(
                f"{path}:{item.lines[key]}: {f}.{key}: unknown field (expected one of {', '.join(allowed)})"
            )


def _text(path: Path, item: Map, key: str, f: str) -> str:
    if key not in item:
        raise DataError(f"{path}:{item.line}: {f}: the field {key!r} is missing")
    value = item[key]
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise DataError(f"{path}:{item.lines[key]}: {f}.{key}: expected text, got {value!r}")
    return value.strip()


def _address(path: Path, item: Map, parent: str, f: str, seen: dict[str, tuple[int, str]]) -> str:
    name = _text(path, item, "name", f)
    if SEP in name:
        raise DataError(f"{path}:{item.lines['name']}: {f}.name: {name!r} contains {SEP!r}")
    address = f"{parent}{SEP}{name}" if parent else name
    if address in seen:
        raise DataError(f"{path}:{item.lines['name']}: {f}.name: {address!r} is declared twice")
    return address


def _code(path: Path, item: Map, f: str, codes: dict[str, str], address: str) -> str | None:
    if "code" not in item:
        return None
    code = _text(path, item, "code", f)
    line = item.lines["code"]
    if len(code) != 1 or code in (WALL, STREET):
        raise DataError(
            f"{path}:{line}: {f}.code: {code!r} must be one character other than {WALL!r} and {STREET!r}"
        )
    if code in codes:
        raise DataError(f"{path}:{line}: {f}.code: {code!r} is already the code of {codes[code]!r}")
    codes[code] = address
    return code


def _list(path: Path, item: Map, key: str, f: str) -> Seq:
    value = item.get(key)
    if value is None:
        return Seq()
    if not isinstance(value, Seq):
        raise DataError(f"{path}:{item.lines[key]}: {f}.{key}: expected a list")
    return value


def _tiles(path: Path, obj: Map, f: str) -> list[Tile]:
    if "at" not in obj:
        raise DataError(f"{path}:{obj.line}: {f}: the field 'at' is missing")
    value, line = obj["at"], obj.lines["at"]
    if isinstance(value, Seq) and value and all(isinstance(v, Seq) for v in value):
        return list(row_major([_tile(path, v, f"{f}.at", line) for v in value]))
    return [_tile(path, value, f"{f}.at", line)]


def _tile(path: Path, value: Any, f: str, line: int) -> Tile:
    ok = isinstance(value, list) and len(value) == 2 and all(type(v) is int for v in value)
    if not ok:
        raise DataError(f"{path}:{line_of(value, line)}: {f}: expected a tile [x, y], got {value!r}")
    return (value[0], value[1])


def _time(path: Path, item: Map, key: str, f: str) -> datetime:
    value = item[key]
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        raise DataError(
            f"{path}:{item.lines[key]}: {f}: expected a time like 2025-02-14 07:00, got {value!r}"
        ) from None
