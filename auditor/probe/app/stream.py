"""Closing a bound TCP socket that an asyncio stream may have taken over."""

from __future__ import annotations

import asyncio
import contextlib
import socket


async def close(writer: asyncio.StreamWriter | None, sock: socket.socket) -> None:
    """Close through the transport when there is one: closing the socket under it would leave
    its descriptor registered with the loop, and the next socket reusing the number fails."""
    if writer is None:
        sock.close()
        return
    writer.close()
    with contextlib.suppress(Exception):
        async with asyncio.timeout(0.5):  # not wait_for: it can lose a cancellation on 3.11
            await writer.wait_closed()
