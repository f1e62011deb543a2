"""Shortest walks on the town's tiles: A* over walkable tiles, 4-neighbour steps of cost 1, the
Manhattan distance (to the nearest goal) as heuristic.

Ties are broken deterministically: among equal f = g + h the tile nearer the goal (smaller h) is
expanded first, then the one higher up and further left; neighbours are tried up, left, right,
down. The same world, start and goal always give the same path.

An unreachable goal (a wall, off the map, or walled off) raises `NoPath`; it is never returned as
an empty or partial path.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable

from ponder.errors import PonderError
from ponder.town.world import Tile, World


class NoPath(PonderError):
    """No walk leads from the start to the goal; the message names both and why."""


def manhattan(a: Tile, b: Tile) -> int:
    """|dx| + |dy|: the number of 4-neighbour steps between two tiles with no walls between them."""
    return abs(a[0] - b[0]) + abs(a[1] - b[1])


def path(world: World, start: Tile, goal: Tile) -> list[Tile]:
    """A shortest walk from `start` to `goal`, both included (`[start]` when they are the same
    tile). NoPath when either is not a walkable tile or the goal cannot be reached."""
    return _search(world, start, [goal], f"{goal}")


def path_to(world: World, start: Tile, address: str) -> list[Tile]:
    """A shortest walk from `start` to the nearest walkable tile of the area or object at
    `address`. NoPath when none can be reached; KeyError when the address names nothing."""
    tiles = world.tiles_of(address)
    goals = [t for t in tiles if world.is_walkable(t)]
    return _search(world, start, goals, repr(address or world.name))


def _search(world: World, start: Tile, goals: Iterable[Tile], what: str) -> list[Tile]:
    targets = frozenset(goals)
    if not world.is_walkable(start):
        raise NoPath(f"no path from {start} to {what} in {world.name}: the start is not a walkable tile")
    if not targets or not all(world.is_walkable(t) for t in targets):
        raise NoPath(f"no path from {start} to {what} in {world.name}: the goal is not a walkable tile")

    def h(tile: Tile) -> int:
        return min(manhattan(tile, t) for t in targets)

    came_from: dict[Tile, Tile] = {}
    g: dict[Tile, int] = {start: 0}
    h0 = h(start)
    frontier: list[tuple[int, int, int, int]] = [(h0, h0, start[1], start[0])]
    closed: set[Tile] = set()
    while frontier:
        _, _, y, x = heapq.heappop(frontier)
        tile = (x, y)
        if tile in closed:
            continue
        if tile in targets:
            return _walk_back(came_from, tile)
        closed.add(tile)
        for nxt in world.neighbours(tile):
            cost = g[tile] + 1
            if nxt in closed or cost >= g.get(nxt, cost + 1):
                continue
            g[nxt] = cost
            came_from[nxt] = tile
            hn = h(nxt)
            heapq.heappush(frontier, (cost + hn, hn, nxt[1], nxt[0]))
    raise NoPath(f"no path from {start} to {what} in {world.name}: walls cut it off")


def _walk_back(came_from: dict[Tile, Tile], end: Tile) -> list[Tile]:
    out = [end]
    while out[-1] in came_from:
        out.append(came_from[out[-1]])
    out.reverse()
    return out
