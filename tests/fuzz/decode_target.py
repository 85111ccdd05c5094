"""atheris target: bytes from the fuzzer go through the Rust decoder and the whole engine.

Run by test_decoder_fuzz.py as `python decode_target.py -runs=N corpus_dir`. A Rust panic
surfaces as pyo3's PanicException (a BaseException), which atheris reports as a crash; a
JuteError, or the engine closing the connection, is the expected answer to bad bytes.
"""

from __future__ import annotations

import contextlib
import sys

import atheris

with atheris.instrument_imports():
    from zkrecipes._core import Engine, JuteError, decode_request

OPCODES = [
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    11,
    12,
    13,
    14,
    15,
    16,
    17,
    18,
    19,
    20,
    21,
    22,
    100,
    101,
    102,
    103,
    104,
    105,
    106,
    107,
    -10,
    -11,
    999,
]


def one_input(data: bytes) -> None:
    if not data:
        return
    opcode = OPCODES[data[0] % len(OPCODES)]
    with contextlib.suppress(JuteError):
        decode_request(opcode, data[1:])
    engine = Engine(
        now_ms=1,
        min_session_timeout_ms=4000,
        max_session_timeout_ms=40000,
        max_buffer_bytes=1 << 16,
    )
    engine.open_connection(1, "127.0.0.1")
    engine.receive(1, data, 2)


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
