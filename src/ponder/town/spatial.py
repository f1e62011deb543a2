"""What an agent sees from its tile, and the spatial memory built from what it has seen.

Sight reaches the tiles within `radius` in Chebyshev distance (a square around the agent: a
diagonal step counts 1) that a straight line reaches without crossing a wall: walls block sight,
so an agent in a kitchen does not see through into the house next door. An object is seen when any
of its tiles is; an agent when its tile is. Both functions here are pure: perception reads the
world, and a spatial memory is a frozen value that `update` returns a grown copy of.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ponder.town.world import SEP, Tile, World, ancestors, row_major

VISION_RADIUS = 4


def chebyshev(a: Tile, b: Tile) -> int:
    """max(|dx|, |dy|)."""
    return max(abs(a[0] - b[0]), abs(a[1] - b[1]))


def line(a: Tile, b: Tile) -> list[Tile]:
    """The tiles of the straight (Bresenham) line from `a` to `b`, both included."""
    (x0, y0), (x1, y1) = a, b
    dx, dy = abs(x1 - x0), -abs(y1 - y0)
    sx, sy = (1 if x1 > x0 else -1), (1 if y1 > y0 else -1)
    err = dx + dy
    out = [(x0, y0)]
    while (x0, y0) != (x1, y1):
        e2 = 2 * err
        if e2 >= dy:
            err += dy
            x0 += sx
        if e2 <= dx:
            err += dx
            y0 += sy
        out.append((x0, y0))
    return out


def visible_tiles(world: World, tile: Tile, radius: int = VISION_RADIUS) -> tuple[Tile, ...]:
    """The walkable tiles within `radius` (Chebyshev) that a wall does not hide from `tile`, in
    row-major order."""
    x, y = tile
    out = []
    for ty in range(y - radius, y + radius + 1):
        for tx in range(x - radius, x + radius + 1):
            t = (tx, ty)
            if world.is_walkable(t) and all(world.is_walkable(s) for s in line(tile, t)[1:-1]):
                out.append(t)
    return row_major(out)


@dataclass(frozen=True)
class SeenObject:
    """An object in sight: where it is, what it is doing, how far (Chebyshev, to its nearest tile)."""

    address: str
    name: str
    state: str
    distance: int

    def describe(self) -> str:
        """ "stove: cooking"."""
        return f"{self.name}: {self.state}"


@dataclass(frozen=True)
class SeenAgent:
    """Another agent in sight, its tile and how far it is (Chebyshev)."""

    name: str
    tile: Tile
    distance: int


@dataclass(frozen=True)
class Perception:
    """What an agent at `tile` sees: the area it stands in, the areas in sight (pre-order, the town
    itself left out), the objects and the other agents in sight (nearest first, then by address or
    name)."""

    tile: Tile
    area: str
    areas: tuple[str, ...]
    objects: tuple[SeenObject, ...]
    agents: tuple[SeenAgent, ...]


def perceive(
    world: World,
    tile: Tile,
    others: Mapping[str, Tile] | None = None,
    *,
    me: str | None = None,
    radius: int = VISION_RADIUS,
) -> Perception:
    """What an agent standing on `tile` sees of the world and of the agents at `others` (name →
    tile; `me` is left out)."""
    sight = frozenset(visible_tiles(world, tile, radius))
    in_sight = {world.area_at(t).address for t in sight}
    seen_areas = set()
    for address in in_sight:
        if address:
            seen_areas.add(address)
            seen_areas.update(ancestors(address))
    areas = tuple(a.address for a in world.areas() if a.address in seen_areas)
    objects = [
        SeenObject(o.address, o.name, o.state, min(chebyshev(tile, t) for t in o.tiles))
        for o in world.objects()
        if any(t in sight for t in o.tiles)
    ]
    objects.sort(key=lambda s: s.distance)
    agents = [
        SeenAgent(name, at, chebyshev(tile, at))
        for name, at in sorted((others or {}).items())
        if name != me and at in sight
    ]
    agents.sort(key=lambda s: s.distance)
    return Perception(tile, world.area_at(tile).address, areas, tuple(objects), tuple(agents))


@dataclass(frozen=True)
class SpatialMemory:
    """The places and objects one agent knows of: only those it has seen (or was told of through
    `learn`), as addresses in the order first known, each with the areas above it."""

    agent: str
    known: tuple[str, ...] = ()

    def knows(self, address: str) -> bool:
        """Whether the agent knows the area or object at `address` ("" the town: always)."""
        return address == "" or address in self.known

    def learn(self, addresses: Iterable[str]) -> SpatialMemory:
        """A copy that also knows `addresses` and every area above each."""
        known = dict.fromkeys(self.known)
        for address in addresses:
            for a in [*ancestors(address), address]:
                if a:
                    known.setdefault(a)
        return SpatialMemory(self.agent, tuple(known))

    def update(self, seen: Perception) -> SpatialMemory:
        """A copy grown by what the perception shows: its areas and its objects."""
        return self.learn([*seen.areas, *(o.address for o in seen.objects)])

    def children(self, address: str = "") -> list[str]:
        """The names known directly inside `address`, in the order first known."""
        depth = address.count(SEP) + 1 if address else 0
        prefix = address + SEP if address else ""
        return [a.split(SEP)[depth] for a in self.known if a.startswith(prefix) and a.count(SEP) == depth]

    def tree(self) -> dict[str, Any]:
        """The known addresses as nested dicts: {"Lin house": {"kitchen": {"stove": {}}}}."""
        root: dict[str, Any] = {}
        for address in self.known:
            node = root
            for part in address.split(SEP):
                node = node.setdefault(part, {})
        return root

    def describe(self) -> str:
        """The tree as indented lines, two spaces a level, for a prompt."""
        lines: list[str] = []

        def walk(node: dict[str, Any], depth: int) -> None:
            for name, sub in node.items():
                lines.append("  " * depth + name)
                walk(sub, depth + 1)

        walk(self.tree(), 0)
        return "\n".join(lines)
