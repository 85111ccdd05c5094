"""Returning freed heap memory to the operating system.

A snapshot copies the tree's node table while writes go on; once written, that copy is freed,
but glibc keeps freed pages inside the heap, so the resident size stays as if the copy were
still there. `malloc_trim` hands whole free pages back. Elsewhere than glibc it is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


def release_free_memory() -> None:
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
