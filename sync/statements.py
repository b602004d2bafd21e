"""Statements written to SQL once, then run with each request's values.

Peewee writes a query's SQL anew every time it runs, which can cost more than the database
takes to run it: about 4 ms of CPU for a consultant's queue statement (a union of four index
walks), and several times the query itself for the lookups every signed request makes. What
varies between two runs is only values; so a statement is built with each varying value given
through `Holes` (a named hole in the text), written once, and later runs fill the holes, each
value converted as peewee would have converted it.

- `Prepared`: one fixed statement (a signed request's node, the change counter), written once
  per bound database;
- `compiled`: statements of a few shapes (the queue: which list, which ways of seeing, which
  filters are set), written once per shape. Its conditions stay one rule each
  (`central.appeals.visibility`, `filters`, `QueueList.where`): they take a `Bind`, `as_is`
  by default.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from peewee import Context, Database, DatabaseProxy, Model, Node

from .db import database as bound_database

__all__ = ["Bind", "as_is", "Hole", "Holes", "compiled", "forget", "Prepared"]

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


class Prepared:
    """One statement, written once per bound database (again after a rebind: tests, tools),
    then run with new values for its holes. `build` makes the query, taking its varying values
    from the `Bind` it is given: ``Prepared(lambda bind: Node.select().where(Node.id == bind("id",
    "")))``, then ``.first(Node, id=…)``."""

    def __init__(self, build: Callable[[Bind], Any]) -> None:
        self._build = build
        self._written: tuple[Database, str, list[Any]] | None = None

    def sql(self) -> tuple[str, list[Any]]:
        """The statement's SQL for the database bound now, and its parameters' template."""
        db = bound_database.obj
        written = self._written
        if written is None or written[0] is not db:
            sql, template = db.get_sql_context().parse(self._build(Holes()))
            written = self._written = (db, sql, template)
        return written[1], written[2]

    def execute(self, **values: Any) -> Any:
        """The database's cursor after running the statement with these values in its holes."""
        sql, template = self.sql()
        return bound_database.execute_sql(sql, [_fill(param, values) for param in template])

    def scalar(self, **values: Any) -> Any:
        """The first column of the first row (None without a row)."""
        row = self.execute(**values).fetchone()
        return None if row is None else row[0]

    def first(self, model: type[Model], **values: Any) -> Any:
        """The first row as an instance of `model` (whose columns the query selects), or None."""
        cursor = self.execute(**values)
        row = cursor.fetchone()
        if row is None:
            return None
        columns = model._meta.columns
        fields = [columns[d[0]] for d in cursor.description]
        data = {field.name: field.python_value(value) for field, value in zip(fields, row, strict=True)}
        instance: Any = model(__no_default__=1, **data)  # as peewee's own cursor makes its rows
        instance._dirty.clear()
        return instance
