"""Memory around a big read: no collector walks while it allocates, and its freed memory given
back to the system afterwards.

Reading a million-row workbook makes tens of millions of short-lived objects (calamine's own
cells, then the Python grid: a list per row), an 835 batch hundreds of thousands of segment lists.
None of them are in reference cycles, yet each time enough containers have piled up, Python's
cyclic collector walks all of them again: on the 1M-row benchmark, fourteen full collections
during the workbook read cost ≈ 8 s CPU. `paused_gc` keeps the collector off for the read; the
collector runs as usual afterwards.

Once the tables are built the objects are freed, but glibc keeps the freed heap pages for itself,
scattered between the survivors, and the later steps grow the process beside them rather than
into them. `malloc_trim` returns those pages: on the 1M-row benchmark, called after the workbook
and after the 835s are read, it takes ~0.5 GB off the run's peak RSS (that of reconciling) for
0.1 s. Elsewhere (macOS, Windows, Pyodide: no glibc) it does nothing.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Disable the cyclic garbage collector during bulk allocation of small containers."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@functools.cache
def _malloc_trim():
    try:
        import ctypes

        return ctypes.CDLL(None).malloc_trim
    except (ImportError, OSError, AttributeError, TypeError):
        return None


def release_free_memory() -> None:
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
