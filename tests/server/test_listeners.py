"""The client port's listening sockets and the command line's help width."""

import errno
import socket

import pytest

from zkserver.argformat import Parser, terminal_columns
from zkserver.listeners import listening_sockets


def _close(socks: list[socket.socket]) -> None:
    for s in socks:
        s.close()


def test_an_ip_literal_gives_one_listening_socket_that_accepts() -> None:
    socks = listening_sockets("127.0.0.1", 0, 16)
    try:
        assert len(socks) == 1
        (sock,) = socks
        assert sock.family == socket.AF_INET
        assert sock.getblocking() is False
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) == 1
        host, port = sock.getsockname()
        assert host == "127.0.0.1" and port > 0
        with socket.create_connection((host, port), timeout=2.0):
            sock.setblocking(True)
            conn, _ = sock.accept()
            conn.close()
    finally:
        _close(socks)


def test_a_host_name_resolves_as_the_event_loop_would() -> None:
    expected = {
        (family, address[0])
        for family, _, _, _, address in socket.getaddrinfo(
            "localhost", 0, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE
        )
    }
    socks = listening_sockets("localhost", 0, 16)
    try:
        assert {(s.family, s.getsockname()[0]) for s in socks} == expected
        for s in socks:
            if s.family == socket.AF_INET6:
                assert s.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) == 1
    finally:
        _close(socks)


def test_a_port_in_use_names_the_address_and_leaves_nothing_open() -> None:
    taken = socket.create_server(("127.0.0.1", 0))
    try:
        port = taken.getsockname()[1]
        with pytest.raises(OSError) as caught:
            listening_sockets("127.0.0.1", port, 16)
        assert caught.value.errno == errno.EADDRINUSE
        assert f"('127.0.0.1', {port})" in str(caught.value)
    finally:
        taken.close()


def test_help_follows_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "50")
    assert terminal_columns() == 50
    parser = Parser(prog="zkr", description="a description long enough to be wrapped " * 3)
    parser.add_argument("--flag", help="what the flag does, in more words than fit " * 2)
    lines = parser.format_help().splitlines()
    assert max(len(line) for line in lines) <= 48
    monkeypatch.setenv("COLUMNS", "not a number")
    assert terminal_columns() > 0
