"""A receipt's Argon2id derivations reuse their memory, and leave nothing of the receipt in it
(whistleblowing.service.receipts.keep_derivation_memory; issue #20, submission CPU).

glibc mapped the receipt key's 32 MiB afresh for every derivation (8,192 page faults, about
17 ms of kernel time a submission). With the malloc thresholds raised, the next derivation
reuses the same heap memory; libargon2 wipes it before freeing it, so the reused memory holds
zeros, not the derivation's blocks.
"""

from __future__ import annotations

import ctypes
import importlib.util
import platform
import resource
import threading
from collections.abc import Callable
from contextlib import contextmanager

import pytest

from backend import crypto
from whistleblowing.service import receipts

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="the malloc thresholds are glibc's",
)

KEY_BLOCK = crypto.RECEIPT_KEY_KDF.memory_kib * 1024


def _libc():
    libc = ctypes.CDLL(None)
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.restype, libc.free.argtypes = None, [ctypes.c_void_p]
    return libc


def _in_a_thread(work: Callable[[], object]) -> object:
    """Run `work` in a fresh thread, as a request thread runs it; return what it returned."""
    out: list[object] = []
    thread = threading.Thread(target=lambda: out.append(work()))
    thread.start()
    thread.join()
    return out[0]


def _derive_key() -> None:
    crypto.receipt_key(crypto.new_receipt(), crypto.new_salt())


def _faults_of_second_derivation() -> int:
    _derive_key()
    before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
    _derive_key()
    return resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before


def test_the_receipt_key_derivation_reuses_its_memory_instead_of_mapping_it_again():
    assert receipts.keep_derivation_memory() is True
    assert receipts.REUSED_DERIVATION_BYTES > KEY_BLOCK
    # Without the setting every derivation faults in all its 8,192 pages anew.
    assert _in_a_thread(_faults_of_second_derivation) < KEY_BLOCK // 4096 // 8


@contextmanager
def _argon2_wipes(wipes: bool):
    """libargon2's own switch (on by default) for wiping its memory before freeing it."""
    spec = importlib.util.find_spec("_argon2_cffi_bindings._ffi")
    flag = ctypes.c_int.in_dll(ctypes.CDLL(spec.origin), "FLAG_clear_internal_memory")
    assert flag.value == 1, "libargon2 must wipe its memory by default"
    flag.value = int(wipes)
    try:
        yield
    finally:
        flag.value = 1


def _left_in_reused_memory() -> bytes:
    """Return what a derivation leaves in the heap memory it used and the next block reuses.

    The block is first filled with 0xAA and freed; the derivation takes it (it is the only
    free block that large), and the block allocated after it is the same memory."""
    libc = _libc()
    size = KEY_BLOCK
    before = libc.malloc(size)
    ctypes.memset(before + 64, 0xAA, size - 128)
    libc.free(before)
    _derive_key()
    after = libc.malloc(size)
    try:
        # The first bytes of a freed block hold malloc's own list pointers.
        return ctypes.string_at(after + 64, size - 128)
    finally:
        libc.free(after)


def test_a_derivation_leaves_nothing_of_the_receipt_in_the_memory_it_reuses():
    receipts.keep_derivation_memory()
    with _argon2_wipes(True):
        left = _in_a_thread(_left_in_reused_memory)
    assert left.count(0) == len(left)
    # The check can fail: were libargon2 not to wipe, its blocks would be found there.
    with _argon2_wipes(False):
        left = _in_a_thread(_left_in_reused_memory)
    # Its blocks look random: about 1/256 of their bytes are 0xAA, none of the rest of the fill.
    assert left.count(0xAA) < len(left) // 64 and left.count(0) < len(left) // 64
