"""A short, bounded atheris run over the decoder and the engine, seeded with Apache's golden
bytes (every record and frame of tests/golden). Fails on any crash (a Rust panic or an
unexpected Python exception)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

atheris = pytest.importorskip("atheris", reason="atheris is in the test extra; not installed")

HERE = Path(__file__).resolve().parent
GOLDEN = HERE.parents[1] / "rust" / "zkcore" / "testdata" / "golden"
RUNS = 50_000


def test_decoder_and_engine_survive_fuzzing(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    seeds = sorted(GOLDEN.glob("*.hex"))
    assert seeds, "golden files are missing"
    for i, f in enumerate(seeds):
        raw = bytes.fromhex("".join(f.read_text().split()))
        # First byte picks the opcode in the target; the rest is the body or a whole stream.
        (corpus / f"seed{i}").write_bytes(bytes([i % 32]) + raw)
    proc = subprocess.run(
        [
            sys.executable,
            str(HERE / "decode_target.py"),
            f"-runs={RUNS}",
            "-max_len=4096",
            "-seed=1",
            str(corpus),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    tail = proc.stderr[-3000:]
    assert proc.returncode == 0, tail
    assert f"Done {RUNS} runs" in proc.stderr, tail
