"""The queue's statements written to SQL once per shape, then run with each request's values.

Peewee takes longer to write a page's SQL (a union of four index walks, which its IN check
writes out a second time) than PostgreSQL takes to run it: about 4 ms of CPU a statement,
a dozen milliseconds a queue page. What varies between two requests for the same list is
only values (who asks, the time, a filter's value, the position to go on from); the shape
(which list, which ways of seeing, which filters are set) takes a few forms. So a statement
is built with each varying value given through `Holes` (a named hole in the text), written
once per shape, and later requests fill the holes. The conditions themselves stay one rule
each (`visibility`, `filters`, `QueueList.where`): they take a `Bind`, `as_is` by default.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from peewee import Context, Database, DatabaseProxy, Node

__all__ = ["Bind", "as_is", "Hole", "Holes", "compiled", "forget"]

#: Gives a query a value: the value itself (`as_is`) or a hole named for it (`Holes`).
Bind = Callable[[str, Any], Any]

#: Shapes kept before the oldest are forgotten (a queue has a few dozen in use).
MAX_SHAPES = 512


def as_is(name: str, value: Any) -> Any:
    """The value itself, written into the query (a statement built for one use)."""
    return value


@dataclass(frozen=True)
class _Slot:
    """A parameter that a compiled statement leaves for its caller, and how peewee would have
    converted the value (the field's `db_value` on the other side of the comparison)."""

    name: str
    converter: Callable[[Any], Any] | None


class Hole(Node):  # type: ignore[misc]
    """A value left out of a statement's text, named to be filled in when it runs."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def __sql__(self, ctx: Context) -> Context:
        # As peewee writes a value: a parameter, converted the way its context would have.
        return ctx.value(_Slot(self.name, ctx.state.converter), converter=False)


class Holes:
    """A `Bind` that leaves holes, and keeps the values that fill them in this request."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def __call__(self, name: str, value: Any) -> Hole:
        if name in self.values and self.values[name] != value:
            raise ValueError(f"two values for the hole {name!r} of one statement")
        self.values[name] = value
        return Hole(name)


_compiled: dict[tuple[Any, ...], tuple[str, list[Any]]] = {}


def compiled(
    database: Database | DatabaseProxy, key: tuple[Any, ...], query: Node, holes: Holes
) -> tuple[str, list[Any]]:
    """`query`'s SQL and parameters on `database`. The text is written once for `key` (what the
    holes do not say about the query's shape: the list, the statement's kind) and the holes
    given; every value that differs between two queries of one key must come through `holes`."""
    real = database.obj if isinstance(database, DatabaseProxy) else database  # the one behind the proxy
    shape = (type(real), key, tuple(holes.values))
    found = _compiled.get(shape)
    if found is None:
        found = real.get_sql_context().parse(query)
        if len(_compiled) >= MAX_SHAPES:
            _compiled.clear()
        _compiled[shape] = found
    sql, template = found
    return sql, [_fill(param, holes.values) for param in template]


def _fill(param: Any, values: dict[str, Any]) -> Any:
    if not isinstance(param, _Slot):
        return param
    value = values[param.name]
    return param.converter(value) if param.converter is not None else value


def forget() -> None:
    """Drop every compiled statement (tests that compare them with freshly written ones)."""
    _compiled.clear()
