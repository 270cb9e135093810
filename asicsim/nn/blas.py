"""Pin numpy's OpenBLAS to one thread (best effort, no extra dependency).

On small matrices a multi-threaded OpenBLAS is slower (10× for a 120×400 SVD on a 2-core VM) and
its thread split can change the rounding of a result; the trainer runs single-threaded so that
runs are deterministic and several runs can share a machine. Environment variables are too late
once numpy is imported, so this calls ``*openblas_set_num_threads*`` in the loaded library.
"""
from __future__ import annotations

import ctypes

_NAMES = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads_64_",
          "openblas_set_num_threads64_", "openblas_set_num_threads_64_", "openblas_set_num_threads")


def limit_blas_threads(n: int = 1) -> bool:
    """Set the thread count of every OpenBLAS loaded in this process; True if one was found."""
    import numpy  # noqa: F401  (make sure numpy's BLAS is loaded)
    try:
        with open("/proc/self/maps") as f:
            libs = sorted({line.split()[-1] for line in f if "openblas" in line.lower() and "/" in line})
    except OSError:
        return False
    done = False
    for path in libs:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in _NAMES:
            fn = getattr(lib, name, None)
            if fn is not None:
                fn.argtypes = [ctypes.c_int]
                fn.restype = None
                fn(int(n))
                done = True
                break
    return done


def keep_freed_memory(limit_bytes: int = 1 << 30) -> bool:
    """Ask glibc to serve large arrays from the heap and keep freed memory (mallopt
    M_MMAP_THRESHOLD / M_TRIM_THRESHOLD) instead of mmap/munmap per array: the trainer allocates
    the same ~10 MB im2col buffers every step and fresh pages cost more than the copy itself.
    Best effort; False where not glibc."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
        ok1 = libc.mallopt(M_MMAP_THRESHOLD, ctypes.c_int(min(limit_bytes, 1 << 30) // 4))
        ok2 = libc.mallopt(M_TRIM_THRESHOLD, ctypes.c_int(min(limit_bytes, (1 << 31) - 1)))
        return bool(ok1 and ok2)
    except (OSError, AttributeError):
        return False
