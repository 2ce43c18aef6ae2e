"""Is the preview there at all? One TCP connection (and TLS handshake for https) before a gate browses.

A preview that is down, refuses connections, has no DNS name or a certificate the browser would refuse
says nothing about the change under test; the gate reports it as "could not run", not as failures.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from urllib.parse import urlsplit


async def probe_origin(origin: str, timeout_s: float) -> str | None:
    """Return why `origin` cannot be reached (in a short phrase), or None when it answers."""
    parts = urlsplit(origin)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    context = ssl.create_default_context() if parts.scheme == "https" else None
    try:
        _reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=context, server_hostname=host if context else None),
            timeout_s,
        )
    except TimeoutError:
        return f"no answer from {host}:{port} within {timeout_s:g} s"
    except ssl.SSLCertVerificationError as exc:
        return f"its TLS certificate is not valid ({exc.verify_message})"
    except ssl.SSLError as exc:
        return f"the TLS handshake failed ({exc.reason or exc.__class__.__name__})"
    except socket.gaierror:
        return f"the host name {host} does not resolve"
    except ConnectionRefusedError:
        return f"{host}:{port} refused the connection"
    except OSError as exc:
        return f"{host}:{port} cannot be reached ({exc.strerror or exc.__class__.__name__})"
    writer.close()
    with contextlib.suppress(OSError, TimeoutError):  # a peer that drops the connection rudely is there
        await asyncio.wait_for(writer.wait_closed(), timeout_s)
    return None
