"""Many connections to fal as several small httpx clients rather than one big pool.

httpcore walks every connection of a pool on each request and again as each response closes, and checks each idle one
with two system calls. With one pool of hundreds of connections (the reads of thousands of jobs, or one status stream
per job) that walk costs more CPU than the request itself, and grows with the square of the jobs. Small pools keep
each walk short."""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator, Callable

import httpx

# Connections per client: a walk over this many is cheap, and a handful of clients covers the reads.
PER_CLIENT = 16


class ClientPools:
    """Up to `connections` connections, as clients of at most `per_client` each, made as they are needed. Each
    request takes the first client with a free connection, so the clients fill in turn."""

    def __init__(
        self, make: Callable[[httpx.Limits], httpx.AsyncClient], connections: int, per_client: int = PER_CLIENT
    ) -> None:
        self._make = make
        self._per_client = max(1, min(per_client, connections))
        self._most = max(1, math.ceil(connections / self._per_client))
        self._clients: list[httpx.AsyncClient] = []
        self._busy: list[int] = []  # requests in each client now

    @contextlib.asynccontextmanager
    async def client(self) -> AsyncIterator[httpx.AsyncClient]:
        """A client for one request (or one stream): hold it until the response is closed."""
        index = self._pick()
        self._busy[index] += 1
        try:
            yield self._clients[index]
        finally:
            self._busy[index] -= 1

    def _pick(self) -> int:
        for index, busy in enumerate(self._busy):
            if busy < self._per_client:
                return index
        if len(self._clients) < self._most:
            limits = httpx.Limits(max_connections=self._per_client, max_keepalive_connections=self._per_client)
            self._clients.append(self._make(limits))
            self._busy.append(0)
            return len(self._clients) - 1
        return min(range(len(self._busy)), key=self._busy.__getitem__)  # all full: it waits in the least busy

    @property
    def clients(self) -> int:
        return len(self._clients)

    async def aclose(self) -> None:
        # The lists stay: a stream still inside `client()` as the process stops gives its client back afterwards.
        for client in self._clients:
            await client.aclose()
