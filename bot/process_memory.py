"""The web process's C heap: fewer glibc arenas, and freed pages given back (issue 16, memory target).

glibc gives each thread that allocates its own arena (up to 8 per core), and an arena keeps the pages it
freed. The web process's threads (TensorFlow's, ONNX Runtime's, the worker threads of the tracker store
and the person gate) each grew one under load: after 200 customers the process held 11-17 MB more than
with two arenas (three runs each), for the same speed in the bench's loads. Both calls do nothing
where the C library is not glibc.
"""
from __future__ import annotations

import ctypes

M_ARENA_MAX = -8  # mallopt's parameter number in glibc's malloc.h
ARENAS = 2


def _glibc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Cap the arenas; call before the process starts threads (before importing TensorFlow)."""
    libc = _glibc()
    return bool(libc is not None and hasattr(libc, "mallopt") and libc.mallopt(M_ARENA_MAX, arenas) == 1)


def release_freed_memory() -> bool:
    """Give the C heap's free pages back to the system after loading (glibc keeps them): 10-30 MB less
    resident once the model's build-time copies are freed."""
    libc = _glibc()
    return bool(libc is not None and hasattr(libc, "malloc_trim") and libc.malloc_trim(0) in (0, 1))
