"""What every store offers the repositories: the SQLite file and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

Params = Iterable[Any] | Mapping[str, Any]


class Row(Protocol):
    """A result row: by column name or position, as both engines' rows allow."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def keys(self) -> Iterable[str]: ...


class Cursor(Protocol):
    """What a statement run inside a transaction leaves behind."""

    @property
    def rowcount(self) -> int: ...

    async def fetchone(self) -> Any: ...

    async def fetchall(self) -> Iterable[Any]: ...


class Statement(Protocol):
    """`await tx.execute(...)` runs it; `async with tx.execute(...) as cursor` runs it and reads its rows."""

    def __await__(self) -> Iterator[Any]: ...

    async def __aenter__(self) -> Cursor: ...

    async def __aexit__(self, *exc: object) -> None: ...


class Transaction(Protocol):
    """An open unit of work: hand it to the repository calls that must commit or roll back together.
    Services only pass it along; the repositories in bot/db run their statements on it."""

    def execute(self, sql: str, params: Params = ()) -> Statement: ...

    def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> Statement: ...


class Database(Protocol):
    """Every write that spans statements goes through `transaction()`; single statements are atomic by themselves."""

    dialect: str  # "sqlite" or "postgresql"

    def transaction(self, *, lock: str | None = None) -> AbstractAsyncContextManager[Transaction]:
        """BEGIN … COMMIT, rolled back on any error. `lock` names a critical section that must run one at a time
        across every process sharing the database (SQLite's writers already do)."""
        ...

    async def execute(self, sql: str, params: Params = ()) -> int: ...

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None: ...

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]: ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...
