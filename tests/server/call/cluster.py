"""Balie nodes in this process sharing one data directory (so one set of key files), one
Redis and one PostgreSQL: the cluster of tests/server/call/test_cluster.py and of the tests
of features that must work on several nodes (tests/server/walkin/test_cluster.py)."""

from __future__ import annotations

import asyncio
import base64
import io
import os
from contextlib import AsyncExitStack
from pathlib import Path

from server.config import ClusterSettings, DatabaseSettings
from tests.support import LiveServer, config_for, live_server

BUS_KEYS = "k1:" + base64.b64encode(os.urandom(32)).decode()
#: a node stops in well under a second; far longer means it hangs
STOP_PATIENCE = 60.0


class Cluster:
    """Nodes sharing one data directory (so one set of key files), Redis and database."""

    def __init__(
        self, data_dir: Path, redis_url: str, database_url: str, *, links: bool = True
    ) -> None:
        self.data_dir = data_dir
        self.redis_url = redis_url
        self.database_url = database_url
        #: nodes send each other frames over links (BALIE_LINK_LISTEN), as deployed
        self.links = links
        self.nodes: list[LiveServer] = []
        self._stacks: dict[int, AsyncExitStack] = {}

    async def start(self) -> LiveServer:
        config = config_for(
            self.data_dir,
            database=DatabaseSettings(url=self.database_url, demo_data=False),
            cluster=ClusterSettings(
                redis_url=self.redis_url,
                bus_keys=BUS_KEYS,
                link_listen="127.0.0.1:0" if self.links else "",
            ),
        )
        stack = AsyncExitStack()
        node = await stack.enter_async_context(live_server(self.data_dir, config=config))
        self.nodes.append(node)
        self._stacks[id(node)] = stack
        return node

    async def stop(self, node: LiveServer) -> None:
        """Stop a node as SIGTERM does: sockets told to go, rooms given up."""
        await self._stacks.pop(id(node)).aclose()

    async def stop_all(self) -> None:
        try:
            async with asyncio.timeout(STOP_PATIENCE):
                for stack in list(self._stacks.values()):
                    await stack.aclose()
        except TimeoutError:
            # say where it hangs instead of waiting for the suite's timeout
            stacks = io.StringIO()
            for task in asyncio.all_tasks():
                task.print_stack(file=stacks)
            where = stacks.getvalue()
            raise AssertionError(f"nodes did not stop in {STOP_PATIENCE} s:\n{where}") from None
        finally:
            self._stacks.clear()
