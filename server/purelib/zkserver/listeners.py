"""Listening sockets for the client ports, made as `loop.create_server(host=...)` makes them.

The event loop would resolve the address with `host.encode("idna")`, which imports the IDNA
codec and the Unicode database at every launch; an address that is plain ASCII (an IP literal
or an ordinary host name) needs no codec, so it is resolved as bytes here.
"""

from __future__ import annotations

import socket


def listening_sockets(host: str | None, port: int, backlog: int) -> list[socket.socket]:
    """Bound, listening, non-blocking sockets for `host:port`: one per address it resolves to
    (both families for None or ""), each with SO_REUSEADDR, IPv6 ones IPv6-only. Raises OSError
    naming the address that could not be bound; nothing stays open then."""
    name: str | bytes | None = host or None
    if isinstance(name, str) and name.isascii():
        name = name.encode("ascii")
    infos = socket.getaddrinfo(
        name, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE
    )
    made: list[socket.socket] = []
    seen: set[tuple[int, object]] = set()
    try:
        for family, kind, proto, _canon, address in infos:
            if (family, address) in seen:
                continue
            seen.add((family, address))
            try:
                sock = socket.socket(family, kind, proto)
            except OSError:
                continue  # a family this host lacks (IPv6 off): asyncio skips it too
            made.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                # Each family gets its own socket, as asyncio does.
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(address)
            except OSError as e:
                raise OSError(
                    e.errno, f"error while attempting to bind on address {address!r}: {e.strerror}"
                ) from None
            sock.listen(backlog)
            sock.setblocking(False)
    except BaseException:
        for sock in made:
            sock.close()
        raise
    return made
