"""A webhook receiver on a real local port (uvicorn on 127.0.0.1), answering each
request with the next status of a script, then ``otherwise``; it keeps what it got.

    async with receiving([500, 500, 500]) as receiver:   # three failures, then 204s
        ... receiver.url, receiver.got ...
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

import uvicorn


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() when it arrived


@dataclass
class Receiver:
    script: list[int]
    otherwise: int = 204
    got: list[Received] = field(default_factory=list)
    port: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        self.got.append(Received(headers, body, time.time()))
        self.arrived.set()
        status = self.script.pop(0) if self.script else self.otherwise
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def wait_for(self, count: int, within: float = 20.0) -> list[Received]:
        """What arrived, once ``count`` requests did (an AssertionError after ``within``)."""
        try:
            async with asyncio.timeout(within):
                while len(self.got) < count:
                    self.arrived.clear()
                    await self.arrived.wait()
        except TimeoutError:
            raise AssertionError(f"{len(self.got)} of {count} requests within {within} s") from None
        return self.got


@contextlib.asynccontextmanager
async def receiving(script: Iterable[int] = (), otherwise: int = 204) -> AsyncIterator[Receiver]:
    receiver = Receiver(list(script), otherwise)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    receiver.port = sock.getsockname()[1]
    config = uvicorn.Config(receiver, log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(10):
            while not server.started:  # noqa: ASYNC110 (uvicorn has no event to wait on)
                await asyncio.sleep(0.01)
        yield receiver
    finally:
        server.should_exit = True
        await task
        sock.close()
