"""Returning freed heap memory to the operating system.

A snapshot copies the tree's node table while writes go on; once written, that copy is freed,
but an allocator keeps freed pages for reuse, so the resident size stays as if the copy were
still there. The Rust core's heap (mimalloc) is collected through the extension, and Python's
(glibc malloc) by `malloc_trim`, which is a no-op elsewhere than glibc.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from zkrecipes import _core


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    # The symbols already loaded into the process: ctypes.util.find_library would run
    # `ldconfig -p` in a subprocess, 15 ms of every launch. ctypes itself is imported here,
    # at the first snapshot or recovery, not at launch.
    import ctypes

    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


def release_free_memory() -> None:
    """Free pages of both heaps: the Rust core's (mimalloc) and Python's (glibc malloc)."""
    _core.release_free_memory()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
