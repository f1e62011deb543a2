"""The town's world: a tree of areas and objects (town → house → kitchen → stove) on a rectangular
tile map.

A tile is `(x, y)`: column then row, counted from 0 at the top left. The root area is the town
itself (address "") and covers every tile of the map; each other area covers the tiles whose map
character is its code, and those of the areas inside it. An address names an area or an object by
the names on the way down from the root, joined by ":" ("Lin house:kitchen:stove"). Objects sit on
one walkable tile or a few, have a state ("idle", "cooking") and do not block walking.

Iteration is deterministic: areas and objects come in the order they were declared, parents before
children (pre-order), and tiles in row-major order.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

Tile = tuple[int, int]

WALL = "#"
STREET = "."
IDLE = "idle"
SEP = ":"


def row_major(tiles: Iterator[Tile] | Sequence[Tile] | frozenset[Tile]) -> tuple[Tile, ...]:
    """The tiles sorted top row first, left to right within a row."""
    return tuple(sorted(tiles, key=lambda t: (t[1], t[0])))


def parent_of(address: str) -> str:
    """The address one level up ("" for a top-level area)."""
    return address.rpartition(SEP)[0]


def name_of(address: str) -> str:
    """The last part of an address."""
    return address.rpartition(SEP)[2]


def ancestors(address: str) -> list[str]:
    """The addresses above `address`, top first, not counting the root and not `address` itself."""
    parts = address.split(SEP) if address else []
    return [SEP.join(parts[:i]) for i in range(1, len(parts))]


@dataclass
class WorldObject:
    """A thing in an area that an agent can use: its name, address, the tiles it sits on, its state."""

    name: str
    address: str
    tiles: tuple[Tile, ...]
    state: str = IDLE

    def set_state(self, state: str) -> None:
        """Change what the object is doing ("cooking", "idle")."""
        if not state.strip():
            raise ValueError(f"object {self.address!r}: a state cannot be empty")
        self.state = state.strip()

    def describe(self) -> str:
        """The object as an agent sees it: "stove: cooking"."""
        return f"{self.name}: {self.state}"


@dataclass
class Area:
    """A place: its name, address, the tiles it covers (its own and its sub-areas'), its sub-areas
    and the objects in it, in declaration order."""

    name: str
    address: str
    tiles: frozenset[Tile]
    areas: list[Area] = field(default_factory=list)
    objects: list[WorldObject] = field(default_factory=list)
    code: str | None = None


@dataclass
class World:
    """A rectangular tile map, its walkable tiles and the tree of areas on it, indexed by address
    and by tile. Construction checks that the tree is consistent (ValueError otherwise)."""

    name: str
    width: int
    height: int
    walkable: frozenset[Tile]
    root: Area
    _areas: dict[str, Area] = field(init=False, repr=False, compare=False)
    _objects: dict[str, WorldObject] = field(init=False, repr=False, compare=False)
    _deepest: dict[Tile, Area] = field(init=False, repr=False, compare=False)
    _on_tile: dict[Tile, list[WorldObject]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._areas, self._objects, self._deepest, self._on_tile = {}, {}, {}, {}
        if self.root.address != "":
            raise ValueError("the root area's address must be empty")
        for tile in self.walkable:
            if not self.in_bounds(tile):
                raise ValueError(f"walkable tile {tile} is outside the {self.width}x{self.height} map")
        self._index(self.root, None)

    def _index(self, area: Area, parent: Area | None) -> None:
        if area.address in self._areas or area.address in self._objects:
            raise ValueError(f"two things have the address {area.address!r}")
        if parent is not None:
            if area.address != _join(parent.address, area.name) or not area.name or SEP in area.name:
                raise ValueError(
                    f"area {area.address!r} does not sit at {_join(parent.address, area.name)!r}"
                )
            if not area.tiles <= parent.tiles:
                raise ValueError(
                    f"area {area.address!r} covers tiles outside {parent.address or self.name!r}"
                )
        for tile in area.tiles:
            if not self.in_bounds(tile):
                raise ValueError(f"area {area.address!r} covers {tile}, outside the map")
            self._deepest[tile] = area
        self._areas[area.address] = area
        for obj in area.objects:
            if obj.address != _join(area.address, obj.name) or not obj.name or SEP in obj.name:
                raise ValueError(f"object {obj.address!r} does not sit at {_join(area.address, obj.name)!r}")
            if obj.address in self._areas or obj.address in self._objects:
                raise ValueError(f"two things have the address {obj.address!r}")
            if not obj.tiles:
                raise ValueError(f"object {obj.address!r} sits on no tile")
            for tile in obj.tiles:
                if tile not in area.tiles or tile not in self.walkable:
                    raise ValueError(
                        f"object {obj.address!r} sits on {tile}, not a walkable tile of its area"
                    )
                self._on_tile.setdefault(tile, []).append(obj)
            self._objects[obj.address] = obj
        for child in area.areas:
            self._index(child, area)

    def in_bounds(self, tile: Tile) -> bool:
        """Whether the tile is on the map."""
        return 0 <= tile[0] < self.width and 0 <= tile[1] < self.height

    def is_walkable(self, tile: Tile) -> bool:
        """Whether an agent can stand on the tile."""
        return tile in self.walkable

    def neighbours(self, tile: Tile) -> list[Tile]:
        """The walkable tiles one step away (up, left, right, down, in that order)."""
        x, y = tile
        steps = ((x, y - 1), (x - 1, y), (x + 1, y), (x, y + 1))
        return [t for t in steps if t in self.walkable]

    def area(self, address: str) -> Area:
        """The area at an address ("" is the town); KeyError naming it otherwise."""
        try:
            return self._areas[address]
        except KeyError:
            raise KeyError(f"{self.name} has no area {address!r}") from None

    def object(self, address: str) -> WorldObject:
        """The object at an address; KeyError naming it otherwise."""
        try:
            return self._objects[address]
        except KeyError:
            raise KeyError(f"{self.name} has no object {address!r}") from None

    def has(self, address: str) -> bool:
        """Whether an area or an object has this address."""
        return address in self._areas or address in self._objects

    def is_object(self, address: str) -> bool:
        """Whether the address names an object (not an area)."""
        return address in self._objects

    def area_at(self, tile: Tile) -> Area:
        """The deepest area that covers the tile."""
        if not self.in_bounds(tile):
            raise KeyError(f"{tile} is outside the {self.width}x{self.height} map of {self.name}")
        return self._deepest.get(tile, self.root)

    def objects_at(self, tile: Tile) -> list[WorldObject]:
        """The objects on the tile, in declaration order."""
        return list(self._on_tile.get(tile, ()))

    def tiles_of(self, address: str) -> tuple[Tile, ...]:
        """The tiles an area covers or an object sits on, in row-major order."""
        if address in self._objects:
            return row_major(self._objects[address].tiles)
        return row_major(self.area(address).tiles)

    def contains(self, address: str, tile: Tile) -> bool:
        """Whether the tile lies in the area (or on the object) at `address`."""
        if address in self._objects:
            return tile in self._objects[address].tiles
        inner = self.area_at(tile).address
        return address == "" or inner == address or inner.startswith(address + SEP)

    def areas(self) -> list[Area]:
        """Every area, the town first, parents before children, in declaration order."""
        return list(self._areas.values())

    def objects(self) -> list[WorldObject]:
        """Every object, in the order of `areas()` and then declaration."""
        return list(self._objects.values())

    def addresses(self, under: str = "") -> list[str]:
        """The addresses of the areas and objects inside `under` (itself excluded), pre-order."""
        out: list[str] = []

        def walk(area: Area) -> None:
            for obj in area.objects:
                out.append(obj.address)
            for child in area.areas:
                out.append(child.address)
                walk(child)

        walk(self.area(under))
        return out

    def set_state(self, address: str, state: str) -> None:
        """Set the state of the object at `address`."""
        self.object(address).set_state(state)

    def states(self) -> dict[str, str]:
        """Every object's state by address, in declaration order."""
        return {a: o.state for a, o in self._objects.items()}


def _join(parent: str, name: str) -> str:
    return f"{parent}{SEP}{name}" if parent else name


def build_world(
    name: str,
    rows: Sequence[str],
    areas: Sequence[tuple[str, str | None]] = (),
    objects: Mapping[str, Sequence[Tile]] | None = None,
) -> World:
    """The world drawn by `rows`: `#` is a wall, `.` walkable ground of the town itself, any other
    character the code of an area in `areas` ((address, code or None), parents before children;
    its tiles are walkable). `objects` places each object address on its tiles. ValueError names
    the first thing wrong."""
    if not rows or not rows[0]:
        raise ValueError("a map needs at least one row and one column")
    width, height = len(rows[0]), len(rows)
    codes: dict[str, str] = {}
    nodes: dict[str, Area] = {}
    root = Area(name=name, address="", tiles=frozenset())
    nodes[""] = root
    for address, code in areas:
        if address in nodes:
            raise ValueError(f"area {address!r} is declared twice")
        parent = parent_of(address)
        if parent not in nodes:
            raise ValueError(f"area {address!r} comes before its parent {parent!r}")
        if code is not None:
            if len(code) != 1 or code in (WALL, STREET) or code in codes:
                raise ValueError(f"area {address!r}: code {code!r} is not one free character")
            codes[code] = address
        nodes[address] = Area(name=name_of(address), address=address, tiles=frozenset(), code=code)
        nodes[parent].areas.append(nodes[address])
    own: dict[str, set[Tile]] = {a: set() for a in nodes}
    walkable: set[Tile] = set()
    for y, row in enumerate(rows):
        if len(row) != width:
            raise ValueError(f"map row {y} has {len(row)} tiles, not {width}")
        for x, ch in enumerate(row):
            if ch == WALL:
                continue
            if ch != STREET and ch not in codes:
                raise ValueError(f"map tile {(x, y)} has the unknown code {ch!r}")
            walkable.add((x, y))
            own[codes.get(ch, "")].add((x, y))
    all_tiles = frozenset((x, y) for y in range(height) for x in range(width))

    def cover(area: Area) -> frozenset[Tile]:
        tiles = set(own[area.address])
        for child in area.areas:
            tiles |= cover(child)
        area.tiles = all_tiles if area.address == "" else frozenset(tiles)
        return area.tiles

    cover(root)
    for address, tiles in (objects or {}).items():
        holder = parent_of(address)
        if holder not in nodes:
            raise ValueError(f"object {address!r}: no area {holder!r}")
        nodes[holder].objects.append(WorldObject(name_of(address), address, row_major(tuple(tiles))))
    return World(name, width, height, frozenset(walkable), root)


def grid(rows: Sequence[str], name: str = "grid") -> World:
    """A world with no areas but the town: `#` walls, every other character walkable."""
    return build_world(name, ["".join(WALL if ch == WALL else STREET for ch in row) for row in rows])
