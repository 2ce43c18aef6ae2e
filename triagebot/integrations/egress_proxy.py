"""A forward proxy for the gate's Chromium that only ever connects to the preview's host and port.

Route interception sees a request's first hop only: Chromium follows server redirects inside its
network stack without asking the route handler again. Sending every connection through this proxy
closes that gap, and also covers what routing never sees (preconnects, redirect chains, WebSocket
upgrades): whatever the page does, the only socket opened is to the preview. Everything else gets
a 403 (plain HTTP) or a refused tunnel (CONNECT).
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit

from triagebot.origin import DEFAULT_PORTS, origin_of

MAX_HEAD_BYTES = 64 * 1024
CONNECT_TIMEOUT_S = 10
HOP_BY_HOP = {"proxy-connection", "proxy-authorization", "connection", "keep-alive"}


class EgressProxy:
    """Listens on 127.0.0.1 and forwards only to `origin`; `blocked` lists what it refused."""

    def __init__(self, origin: str) -> None:
        parts = urlsplit(origin)
        self.origin = origin
        self.host = (parts.hostname or "").lower()
        self.port = parts.port or DEFAULT_PORTS[parts.scheme]
        self.blocked: list[str] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        """The proxy's own address, for Chromium's `--proxy-server`."""
        assert self._server is not None, "start() first"
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def start(self) -> None:
        """Start listening on an ephemeral loopback port."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)

    async def stop(self) -> None:
        """Stop listening and drop every open connection."""
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    def _allowed(self, host: str, port: int) -> bool:
        return host.lower().strip("[]") == self.host.strip("[]") and port == self.port

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > MAX_HEAD_BYTES:
            return
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, target, version = [*request_line.split(" ", 2), "", ""][:3]
        if method == "CONNECT":
            host, _, port_text = target.rpartition(":")
            if not port_text.isdigit() or not self._allowed(host, int(port_text)):
                self.blocked.append(f"CONNECT {target}")
                writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                await writer.drain()
                return
            upstream = await self._upstream(writer)
            if upstream is None:
                return
            writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            await _pipe_both(reader, writer, *upstream)
            return
        if origin_of(target) != self.origin or not target.lower().startswith("http://"):
            self.blocked.append(f"{method} {target}")
            body = b"blocked by the gate: not the preview origin"
            writer.write(
                b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            await writer.drain()
            return
        parts = urlsplit(target)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = [line for line in header_lines if line and line.split(":", 1)[0].lower() not in HOP_BY_HOP]
        # One request per upstream connection: the upstream closes after answering, and so do we, so
        # a reused client connection can never carry a second request past this check.
        upstream = await self._upstream(writer)
        if upstream is None:
            return
        upstream_reader, upstream_writer = upstream
        upstream_writer.write(
            f"{method} {path} {version}\r\n".encode("latin-1")
            + "".join(f"{line}\r\n" for line in headers).encode("latin-1")
            + b"Connection: close\r\n\r\n"
        )
        await _pipe_both(reader, writer, upstream_reader, upstream_writer)

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.wait_for(
            asyncio.open_connection(self.host.strip("[]"), self.port), CONNECT_TIMEOUT_S
        )

    async def _upstream(
        self, writer: asyncio.StreamWriter
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """Connect to the preview, or answer 502 saying why (a name that does not resolve, a refusal)."""
        try:
            return await self._connect()
        except (OSError, TimeoutError) as exc:
            body = f"the preview is unreachable: {exc.__class__.__name__}: {exc}".encode()
            writer.write(
                b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            await writer.drain()
            return None


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.write_eof()


async def _pipe_both(
    client_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
    upstream_reader: asyncio.StreamReader,
    upstream_writer: asyncio.StreamWriter,
) -> None:
    """Copy bytes both ways until the upstream is done answering."""
    to_upstream = asyncio.create_task(_pipe(client_reader, upstream_writer))
    try:
        await _pipe(upstream_reader, client_writer)
    finally:
        to_upstream.cancel()
        await asyncio.gather(to_upstream, return_exceptions=True)
        upstream_writer.close()
