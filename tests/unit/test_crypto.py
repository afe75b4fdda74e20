"""Property and tamper tests for ``backend.crypto``."""

from __future__ import annotations

import io
import math
import re
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend import crypto
from backend.crypto import (
    PASSWORD_KDF,
    RECEIPT_ALPHABET,
    RECEIPT_KEY_KDF,
    RECEIPT_LENGTH,
    RECEIPT_LOOKUP_KDF,
    TEST_KDF,
    DecryptionError,
    KdfParams,
    constant_time_equal,
    decrypt,
    decrypt_stream,
    decrypt_stream_to_bytes,
    derive_key,
    encrypt,
    encrypt_stream,
    generate_keypair,
    generate_signing_key,
    new_receipt,
    new_salt,
    new_session_key,
    normalize_receipt,
    open_sealed,
    receipt_key,
    receipt_lookup,
    seal,
    sign,
    unwrap_key,
    unwrap_private_key,
    verify,
    wrap_key_for,
    wrap_private_key,
)

# Keep the whole module well under ~20 s; Argon2 tests always use TEST_KDF.
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])

keys = st.binary(min_size=32, max_size=32)
payloads = st.binary(max_size=300)
aads = st.binary(max_size=40)
chunk_sizes = st.integers(min_value=16, max_value=64)
passwords = st.text(max_size=30)

STREAM_HEADER_SIZE = 12
TAG = 16


def _flip_each_byte(blob: bytes):
    """Yield copies of ``blob`` with one byte altered, once per position."""
    for i in range(len(blob)):
        yield blob[:i] + bytes([blob[i] ^ 0x01]) + blob[i + 1 :]


def _encrypt_stream_bytes(key: bytes, data: bytes, *, aad: bytes, chunk_size: int) -> bytes:
    """Return the encrypted stream for ``data`` as bytes."""
    out = io.BytesIO()
    written = encrypt_stream(key, io.BytesIO(data), out, aad=aad, chunk_size=chunk_size)
    assert written == len(out.getvalue())
    return out.getvalue()


def _split_stream(blob: bytes, chunk_size: int) -> tuple[bytes, list[bytes]]:
    """Return the header and ciphertext chunks of an encrypted stream."""
    header, body = blob[:STREAM_HEADER_SIZE], blob[STREAM_HEADER_SIZE:]
    step = chunk_size + TAG
    return header, [body[i : i + step] for i in range(0, len(body), step)]


def _decrypt_stream_bytes(key: bytes, blob: bytes, *, aad: bytes) -> bytes:
    return decrypt_stream_to_bytes(key, io.BytesIO(blob), aad=aad)


# --------------------------------------------------------------------------------------------
# Symmetric encryption
# --------------------------------------------------------------------------------------------


@FAST
@given(key=keys, plaintext=payloads, aad=aads)
def test_encrypt_round_trip(key: bytes, plaintext: bytes, aad: bytes) -> None:
    blob = encrypt(key, plaintext, aad=aad)
    assert blob[0] == 0x02
    assert len(blob) == 1 + 12 + len(plaintext) + 16
    assert decrypt(key, blob, aad=aad) == plaintext


@FAST
@given(key=keys, plaintext=payloads, aad=aads, other=aads)
def test_decrypt_rejects_different_aad(key: bytes, plaintext: bytes, aad: bytes, other: bytes):
    if other == aad:
        other = aad + b"x"
    with pytest.raises(DecryptionError):
        decrypt(key, encrypt(key, plaintext, aad=aad), aad=other)


@FAST
@given(key=keys, other=keys, plaintext=payloads)
def test_decrypt_rejects_wrong_key(key: bytes, other: bytes, plaintext: bytes) -> None:
    if other == key:
        other = bytes([key[0] ^ 1]) + key[1:]
    with pytest.raises(DecryptionError):
        decrypt(other, encrypt(key, plaintext, aad=b"a"), aad=b"a")


@FEW
@given(key=keys, plaintext=st.binary(max_size=16), aad=aads)
def test_decrypt_detects_every_flipped_byte(key: bytes, plaintext: bytes, aad: bytes) -> None:
    blob = encrypt(key, plaintext, aad=aad)
    for tampered in _flip_each_byte(blob):
        with pytest.raises(DecryptionError):
            decrypt(key, tampered, aad=aad)


@FAST
@given(key=keys, blob=st.binary(max_size=40))
def test_decrypt_rejects_garbage_and_truncation(key: bytes, blob: bytes) -> None:
    with pytest.raises(DecryptionError):
        decrypt(key, blob, aad=b"")
    good = encrypt(key, b"hello", aad=b"")
    for cut in range(len(good)):
        with pytest.raises(DecryptionError):
            decrypt(key, good[:cut], aad=b"")


def test_encrypt_uses_fresh_nonces() -> None:
    key = new_session_key()
    assert encrypt(key, b"same", aad=b"") != encrypt(key, b"same", aad=b"")


def test_keys_must_be_32_bytes() -> None:
    for bad in (b"", b"k" * 16, b"k" * 33):
        with pytest.raises(ValueError):
            encrypt(bad, b"x", aad=b"")
        with pytest.raises(ValueError):
            seal(bad, b"x", aad=b"")


def test_new_session_key_is_random_32_bytes() -> None:
    first, second = new_session_key(), new_session_key()
    assert len(first) == len(second) == 32
    assert first != second


# --------------------------------------------------------------------------------------------
# Sealed boxes
# --------------------------------------------------------------------------------------------

RECIPIENT = generate_keypair()
OTHER_RECIPIENT = generate_keypair()


def test_generate_keypair_shape_and_repr() -> None:
    pair = generate_keypair()
    assert len(pair.private) == 32
    assert len(pair.public) == 32
    assert pair.private != pair.public
    # The private key must never appear in logs.
    assert pair.private.hex() not in repr(pair)
    assert repr(pair.private) not in repr(pair)


@FAST
@given(plaintext=payloads, aad=aads)
def test_seal_round_trip(plaintext: bytes, aad: bytes) -> None:
    sealed = seal(RECIPIENT.public, plaintext, aad=aad)
    assert sealed[0] == 0x01
    assert len(sealed) == 1 + 32 + 12 + len(plaintext) + 16
    assert open_sealed(RECIPIENT.private, sealed, aad=aad) == plaintext


@FAST
@given(plaintext=payloads, aad=aads, other=aads)
def test_open_sealed_rejects_different_aad(plaintext: bytes, aad: bytes, other: bytes) -> None:
    if other == aad:
        other = aad + b"!"
    sealed = seal(RECIPIENT.public, plaintext, aad=aad)
    with pytest.raises(DecryptionError):
        open_sealed(RECIPIENT.private, sealed, aad=other)


@FAST
@given(plaintext=payloads)
def test_open_sealed_rejects_wrong_private_key(plaintext: bytes) -> None:
    sealed = seal(RECIPIENT.public, plaintext, aad=b"report:1")
    with pytest.raises(DecryptionError):
        open_sealed(OTHER_RECIPIENT.private, sealed, aad=b"report:1")


@FEW
@given(plaintext=st.binary(max_size=16), aad=aads)
def test_open_sealed_detects_every_flipped_byte(plaintext: bytes, aad: bytes) -> None:
    sealed = seal(RECIPIENT.public, plaintext, aad=aad)
    for tampered in _flip_each_byte(sealed):
        with pytest.raises(DecryptionError):
            open_sealed(RECIPIENT.private, tampered, aad=aad)


def test_open_sealed_rejects_truncation_and_low_order_ephemeral() -> None:
    sealed = seal(RECIPIENT.public, b"secret", aad=b"")
    for cut in range(len(sealed)):
        with pytest.raises(DecryptionError):
            open_sealed(RECIPIENT.private, sealed[:cut], aad=b"")
    # An all-zero ephemeral key is a low-order point: must fail as a DecryptionError.
    zeroed = sealed[:1] + bytes(32) + sealed[33:]
    with pytest.raises(DecryptionError):
        open_sealed(RECIPIENT.private, zeroed, aad=b"")


def test_seal_is_randomised() -> None:
    assert seal(RECIPIENT.public, b"x", aad=b"") != seal(RECIPIENT.public, b"x", aad=b"")


@FAST
@given(key=keys, aad=aads)
def test_wrap_key_for_round_trip(key: bytes, aad: bytes) -> None:
    wrapped = wrap_key_for(RECIPIENT.public, key, aad=aad)
    assert unwrap_key(RECIPIENT.private, wrapped, aad=aad) == key
    with pytest.raises(DecryptionError):
        unwrap_key(OTHER_RECIPIENT.private, wrapped, aad=aad)
    with pytest.raises(DecryptionError):
        unwrap_key(RECIPIENT.private, wrapped, aad=aad + b"x")


def test_formats_are_not_interchangeable() -> None:
    key = new_session_key()
    sym = encrypt(key, b"x" * 40, aad=b"")
    sealed = seal(RECIPIENT.public, b"x", aad=b"")
    with pytest.raises(DecryptionError):
        open_sealed(RECIPIENT.private, sym, aad=b"")
    with pytest.raises(DecryptionError):
        decrypt(key, sealed, aad=b"")


# --------------------------------------------------------------------------------------------
# Argon2id and password-wrapped private keys
# --------------------------------------------------------------------------------------------


@FAST
@given(secret=st.one_of(st.text(max_size=20), st.binary(max_size=20)))
def test_derive_key_is_deterministic_and_salted(secret: str | bytes) -> None:
    salt, other_salt = b"s" * 16, b"t" * 16
    first = derive_key(secret, salt, params=TEST_KDF)
    assert len(first) == 32
    assert derive_key(secret, salt, params=TEST_KDF) == first
    assert derive_key(secret, other_salt, params=TEST_KDF) != first
    assert derive_key(secret, salt, params=TEST_KDF, context=b"other") != first


@FAST
@given(
    secret=st.binary(max_size=40),
    salt=st.binary(min_size=16, max_size=32),
    context=st.binary(max_size=24),
    lanes=st.integers(min_value=1, max_value=4),
    iterations=st.integers(min_value=1, max_value=3),
)
def test_derive_key_computes_the_same_argon2id_as_cryptography(
    secret: bytes, salt: bytes, context: bytes, lanes: int, iterations: int
) -> None:
    # Keys wrapped before the switch to libargon2 must still open: same values, bit for bit.
    from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

    params = KdfParams(memory_kib=8 * lanes + 8, iterations=iterations, lanes=lanes)
    reference = Argon2id(
        salt=salt,
        length=32,
        iterations=iterations,
        lanes=lanes,
        memory_cost=params.memory_kib,
        ad=context or None,
    ).derive(secret)
    assert derive_key(secret, salt, params=params, context=context) == reference


def test_derive_key_lets_other_threads_run_meanwhile() -> None:
    # A derivation holding the GIL would stop the server's event loop and its health-check
    # thread for its whole length. Here the main thread keeps waking from short sleeps while
    # another thread derives; with the GIL held it could not wake until the end.
    import threading

    finished = threading.Event()

    def derive() -> None:
        derive_key("pw", new_salt(), params=KdfParams(memory_kib=64 * 1024, iterations=3, lanes=1))
        finished.set()

    worker = threading.Thread(target=derive)
    worker.start()
    wakeups = 0
    while not finished.is_set():
        threading.Event().wait(0.001)
        wakeups += 1
    worker.join()
    assert wakeups >= 5


def test_derive_key_normalises_unicode() -> None:
    composed, decomposed = "caf\u00e9", "cafe\u0301"
    salt = new_salt()
    assert derive_key(composed, salt, params=TEST_KDF) == derive_key(
        decomposed, salt, params=TEST_KDF
    )


def test_derive_key_rejects_short_salt() -> None:
    with pytest.raises(ValueError):
        derive_key("pw", b"short", params=TEST_KDF)


def test_kdf_params_validation() -> None:
    for bad in (
        dict(memory_kib=7, iterations=1, lanes=1),
        dict(memory_kib=8, iterations=0, lanes=1),
        dict(memory_kib=8, iterations=1, lanes=0),
        dict(memory_kib=8 * 1024 * 1024, iterations=1, lanes=1),
        dict(memory_kib=16, iterations=1, lanes=4),
    ):
        with pytest.raises(ValueError):
            KdfParams(**bad)


def test_kdf_constants_are_ordered_sensibly() -> None:
    # Passwords are low-entropy and need the highest cost; receipts need only a modest one.
    assert PASSWORD_KDF.memory_kib >= 64 * 1024
    assert PASSWORD_KDF.iterations >= 3
    for params in (RECEIPT_LOOKUP_KDF, RECEIPT_KEY_KDF):
        assert 19 * 1024 <= params.memory_kib <= PASSWORD_KDF.memory_kib
        assert params.iterations >= 2
    assert TEST_KDF.memory_kib < RECEIPT_LOOKUP_KDF.memory_kib


@FEW
@given(private=keys, password=passwords, aad=aads)
def test_wrap_private_key_round_trip(private: bytes, password: str, aad: bytes) -> None:
    blob = wrap_private_key(private, password, params=TEST_KDF, aad=aad)
    assert unwrap_private_key(blob, password, aad=aad) == private
    with pytest.raises(DecryptionError):
        unwrap_private_key(blob, password + "x", aad=aad)
    with pytest.raises(DecryptionError):
        unwrap_private_key(blob, password, aad=aad + b"x")


def test_wrap_private_key_detects_every_flipped_byte() -> None:
    private = generate_keypair().private
    blob = wrap_private_key(private, "hunter2", params=TEST_KDF)
    for tampered in _flip_each_byte(blob):
        with pytest.raises(DecryptionError):
            unwrap_private_key(tampered, "hunter2")
    for cut in range(len(blob)):
        with pytest.raises(DecryptionError):
            unwrap_private_key(blob[:cut], "hunter2")


def test_wrap_private_key_rejects_hostile_params_without_deriving() -> None:
    blob = wrap_private_key(b"k" * 32, "pw", params=TEST_KDF)
    # Ask for 4 GiB of memory: must be refused before Argon2 runs.
    hostile = blob[:1] + struct.pack(">I", 4 * 1024 * 1024) + blob[5:]
    with pytest.raises(DecryptionError):
        unwrap_private_key(hostile, "pw")


def test_wrap_private_key_default_params_round_trip() -> None:
    private = generate_keypair().private
    blob = wrap_private_key(private, "correct horse battery staple")
    assert unwrap_private_key(blob, "correct horse battery staple") == private


# --------------------------------------------------------------------------------------------
# Receipts
# --------------------------------------------------------------------------------------------

RECEIPT_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){5}$")


def test_receipt_entropy_is_at_least_100_bits() -> None:
    assert len(set(RECEIPT_ALPHABET)) == len(RECEIPT_ALPHABET) == 32
    bits = RECEIPT_LENGTH * math.log2(len(RECEIPT_ALPHABET))
    assert bits >= 100
    assert bits == crypto.RECEIPT_BITS


def test_new_receipt_format_and_uniqueness() -> None:
    receipts = {new_receipt() for _ in range(2000)}
    assert len(receipts) == 2000
    for receipt in receipts:
        assert RECEIPT_RE.match(receipt), receipt
        assert normalize_receipt(receipt) == receipt
    # Every symbol shows up, so no part of the alphabet is silently unused.
    assert set("".join(receipts).replace("-", "")) == set(RECEIPT_ALPHABET)


_CONFUSE = {"0": ["0", "o", "O"], "1": ["1", "i", "I", "l", "L"]}


@st.composite
def typed_receipts(draw: st.DrawFn) -> tuple[str, str]:
    """Return (canonical receipt, a sloppy way a person might type it)."""
    symbols = draw(
        st.lists(
            st.sampled_from(RECEIPT_ALPHABET), min_size=RECEIPT_LENGTH, max_size=RECEIPT_LENGTH
        )
    )
    canonical = "-".join("".join(symbols[i : i + 4]) for i in range(0, RECEIPT_LENGTH, 4))
    typed = []
    for symbol in symbols:
        variant = draw(st.sampled_from(_CONFUSE.get(symbol, [symbol, symbol.lower()])))
        separator = draw(st.sampled_from(["", "", " ", "-", " - "]))
        typed.append(variant + separator)
    return canonical, draw(st.sampled_from(["", " "])) + "".join(typed)


@FAST
@given(pair=typed_receipts())
def test_normalize_receipt_accepts_sloppy_input(pair: tuple[str, str]) -> None:
    canonical, typed = pair
    assert normalize_receipt(typed) == canonical
    assert normalize_receipt(canonical) == canonical


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "ABCD",
        "ABCD-EFGH-JKMN-PQRS-TVWX-YZ0",  # one symbol short
        "ABCD-EFGH-JKMN-PQRS-TVWX-YZ012",  # one symbol too many
        "ABCD-EFGH-JKMN-PQRS-TVWX-YZ0U",  # U is not Crockford
        "ABCD-EFGH-JKMN-PQRS-TVWX-YZ0!",
        "ABCD_EFGH_JKMN_PQRS_TVWX_YZ01",
        "ÀBCD-EFGH-JKMN-PQRS-TVWX-YZ01",
    ],
)
def test_normalize_receipt_rejects_malformed(bad: str) -> None:
    with pytest.raises(ValueError):
        normalize_receipt(bad)


@FAST
@given(text=st.text(max_size=40))
def test_normalize_receipt_never_crashes_otherwise(text: str) -> None:
    try:
        result = normalize_receipt(text)
    except ValueError:
        return
    assert RECEIPT_RE.match(result)


@FEW
@given(pair=typed_receipts())
def test_receipt_lookup_and_key(pair: tuple[str, str]) -> None:
    canonical, typed = pair
    installation_salt, report_salt = b"i" * 16, b"r" * 16
    lookup = receipt_lookup(canonical, installation_salt, params=TEST_KDF)
    assert len(lookup) == 32
    # Deterministic and insensitive to how the receipt was typed.
    assert receipt_lookup(typed, installation_salt, params=TEST_KDF) == lookup
    assert receipt_lookup(canonical, b"j" * 16, params=TEST_KDF) != lookup
    key = receipt_key(typed, report_salt, params=TEST_KDF)
    assert key == receipt_key(canonical, report_salt, params=TEST_KDF)
    # Domain separation: the stored lookup value never equals the key, even with one salt.
    assert receipt_key(canonical, installation_salt, params=TEST_KDF) != lookup


def test_receipt_lookup_distinguishes_receipts() -> None:
    salt = new_salt()
    first, second = new_receipt(), new_receipt()
    assert receipt_lookup(first, salt, params=TEST_KDF) != receipt_lookup(
        second, salt, params=TEST_KDF
    )


def test_receipt_derivations_reject_malformed() -> None:
    with pytest.raises(ValueError):
        receipt_lookup("nope", new_salt(), params=TEST_KDF)
    with pytest.raises(ValueError):
        receipt_key("nope", new_salt(), params=TEST_KDF)


def test_receipt_default_params_work() -> None:
    receipt, salt = new_receipt(), new_salt()
    assert receipt_lookup(receipt, salt) == receipt_lookup(receipt.lower(), salt)
    assert len(receipt_key(receipt, salt)) == 32


# --------------------------------------------------------------------------------------------
# Signatures
# --------------------------------------------------------------------------------------------

SIGNER = generate_signing_key()


@FAST
@given(message=payloads)
def test_sign_verify_round_trip(message: bytes) -> None:
    signature = sign(SIGNER.private, message)
    assert len(signature) == 64
    assert verify(SIGNER.public, message, signature) is True


@FEW
@given(message=st.binary(min_size=1, max_size=32))
def test_verify_false_on_any_tampering(message: bytes) -> None:
    signature = sign(SIGNER.private, message)
    for tampered in _flip_each_byte(message):
        assert verify(SIGNER.public, tampered, signature) is False
    for tampered in _flip_each_byte(signature):
        assert verify(SIGNER.public, message, tampered) is False
    assert verify(generate_signing_key().public, message, signature) is False


@pytest.mark.parametrize(
    ("public", "signature"),
    [(b"", b"x" * 64), (b"p" * 31, b"x" * 64), (SIGNER.public, b""), (SIGNER.public, b"x" * 65)],
    # Stable ids: the signer's key is random, and parallel workers must collect the same tests.
    ids=["empty-key", "short-key", "empty-signature", "long-signature"],
)
def test_verify_never_raises_on_malformed_input(public: bytes, signature: bytes) -> None:
    assert verify(public, b"message", signature) is False


# --------------------------------------------------------------------------------------------
# Streams
# --------------------------------------------------------------------------------------------


@FAST
@given(key=keys, data=st.binary(max_size=400), aad=aads, chunk_size=chunk_sizes)
def test_stream_round_trip(key: bytes, data: bytes, aad: bytes, chunk_size: int) -> None:
    blob = _encrypt_stream_bytes(key, data, aad=aad, chunk_size=chunk_size)
    chunks = max(1, math.ceil(len(data) / chunk_size))
    assert len(blob) == STREAM_HEADER_SIZE + len(data) + chunks * TAG
    out = io.BytesIO()
    assert decrypt_stream(key, io.BytesIO(blob), out, aad=aad) == len(data)
    assert out.getvalue() == data
    assert _decrypt_stream_bytes(key, blob, aad=aad) == data


def test_stream_empty_input_has_one_final_chunk() -> None:
    key = new_session_key()
    blob = _encrypt_stream_bytes(key, b"", aad=b"", chunk_size=16)
    assert len(blob) == STREAM_HEADER_SIZE + TAG
    assert _decrypt_stream_bytes(key, blob, aad=b"") == b""
    with pytest.raises(DecryptionError):
        _decrypt_stream_bytes(key, blob[:STREAM_HEADER_SIZE], aad=b"")


class _TrickleReader(io.RawIOBase):
    """A reader returning at most three bytes per call, like a slow socket."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self._data.read(min(size, 3) if size >= 0 else 3)


@FEW
@given(key=keys, data=st.binary(max_size=200), chunk_size=chunk_sizes)
def test_stream_handles_short_reads(key: bytes, data: bytes, chunk_size: int) -> None:
    out = io.BytesIO()
    encrypt_stream(key, _TrickleReader(data), out, aad=b"a", chunk_size=chunk_size)
    assert decrypt_stream_to_bytes(key, _TrickleReader(out.getvalue()), aad=b"a") == data


@FAST
@given(key=keys, other=keys, data=st.binary(max_size=100), aad=aads, other_aad=aads)
def test_stream_rejects_wrong_key_and_aad(
    key: bytes, other: bytes, data: bytes, aad: bytes, other_aad: bytes
) -> None:
    if other == key:
        other = bytes([key[0] ^ 1]) + key[1:]
    if other_aad == aad:
        other_aad = aad + b"x"
    blob = _encrypt_stream_bytes(key, data, aad=aad, chunk_size=32)
    with pytest.raises(DecryptionError):
        _decrypt_stream_bytes(other, blob, aad=aad)
    with pytest.raises(DecryptionError):
        _decrypt_stream_bytes(key, blob, aad=other_aad)


@FEW
@given(key=keys, data=st.binary(max_size=50), chunk_size=st.integers(16, 24))
def test_stream_detects_every_flipped_byte(key: bytes, data: bytes, chunk_size: int) -> None:
    blob = _encrypt_stream_bytes(key, data, aad=b"ctx", chunk_size=chunk_size)
    for tampered in _flip_each_byte(blob):
        with pytest.raises(DecryptionError):
            _decrypt_stream_bytes(key, tampered, aad=b"ctx")


@FAST
@given(key=keys, data=st.binary(min_size=1, max_size=200), chunk_size=chunk_sizes)
def test_stream_detects_truncation(key: bytes, data: bytes, chunk_size: int) -> None:
    blob = _encrypt_stream_bytes(key, data, aad=b"", chunk_size=chunk_size)
    header, chunks = _split_stream(blob, chunk_size)
    if len(chunks) > 1:
        # Dropping the final chunk leaves a non-final chunk at the end.
        with pytest.raises(DecryptionError):
            _decrypt_stream_bytes(key, header + b"".join(chunks[:-1]), aad=b"")
    # Cutting anywhere, including mid-chunk and right after the header.
    for cut in range(0, len(blob), 7):
        with pytest.raises(DecryptionError):
            _decrypt_stream_bytes(key, blob[:cut], aad=b"")
    with pytest.raises(DecryptionError):
        _decrypt_stream_bytes(key, blob[:-1], aad=b"")


@FAST
@given(key=keys, data=st.binary(min_size=33, max_size=200), extra=st.binary(min_size=1))
def test_stream_detects_appended_data(key: bytes, data: bytes, extra: bytes) -> None:
    blob = _encrypt_stream_bytes(key, data, aad=b"", chunk_size=16)
    with pytest.raises(DecryptionError):
        _decrypt_stream_bytes(key, blob + extra, aad=b"")


@FAST
@given(
    key=keys,
    data=st.binary(min_size=3 * 16 + 1, max_size=200),
    chunk_size=chunk_sizes,
    picks=st.data(),
)
def test_stream_detects_reorder_and_duplicate(
    key: bytes, data: bytes, chunk_size: int, picks: st.DataObject
) -> None:
    blob = _encrypt_stream_bytes(key, data, aad=b"", chunk_size=chunk_size)
    header, chunks = _split_stream(blob, chunk_size)
    if len(chunks) < 2:
        data = data * 4
        blob = _encrypt_stream_bytes(key, data, aad=b"", chunk_size=chunk_size)
        header, chunks = _split_stream(blob, chunk_size)
    n = len(chunks)
    i = picks.draw(st.integers(0, n - 2))
    j = picks.draw(st.integers(i + 1, n - 1))

    swapped = list(chunks)
    swapped[i], swapped[j] = swapped[j], swapped[i]
    with pytest.raises(DecryptionError):
        _decrypt_stream_bytes(key, header + b"".join(swapped), aad=b"")

    duplicated = chunks[: i + 1] + [chunks[i]] + chunks[i + 1 :]
    with pytest.raises(DecryptionError):
        _decrypt_stream_bytes(key, header + b"".join(duplicated), aad=b"")

    dropped = chunks[:i] + chunks[i + 1 :]
    with pytest.raises(DecryptionError):
        _decrypt_stream_bytes(key, header + b"".join(dropped), aad=b"")


@FAST
@given(key=keys, data=st.binary(min_size=1, max_size=100))
def test_stream_detects_header_and_chunk_swaps(key: bytes, data: bytes) -> None:
    first = _encrypt_stream_bytes(key, data, aad=b"", chunk_size=16)
    second = _encrypt_stream_bytes(key, data, aad=b"", chunk_size=16)
    header_a, chunks_a = _split_stream(first, 16)
    header_b, chunks_b = _split_stream(second, 16)
    # Another stream's header (different nonce prefix) with our chunks.
    with pytest.raises(DecryptionError):
        _decrypt_stream_bytes(key, header_b + b"".join(chunks_a), aad=b"")
    # Splicing the first chunk of another stream into ours.
    spliced = [chunks_b[0], *chunks_a[1:]]
    with pytest.raises(DecryptionError):
        _decrypt_stream_bytes(key, header_a + b"".join(spliced), aad=b"")


def test_stream_rejects_hostile_header() -> None:
    key = new_session_key()
    blob = _encrypt_stream_bytes(key, b"data", aad=b"", chunk_size=16)
    for chunk_size in (0, crypto.MAX_STREAM_CHUNK_SIZE + 1, 2**32 - 1):
        hostile = blob[:8] + struct.pack(">I", chunk_size) + blob[12:]
        with pytest.raises(DecryptionError):
            _decrypt_stream_bytes(key, hostile, aad=b"")
    with pytest.raises(DecryptionError):
        _decrypt_stream_bytes(key, bytes([0x02]) + blob[1:], aad=b"")
    with pytest.raises(DecryptionError):
        _decrypt_stream_bytes(key, b"", aad=b"")


def test_stream_rejects_bad_chunk_size_argument() -> None:
    key = new_session_key()
    for chunk_size in (0, -1, crypto.MAX_STREAM_CHUNK_SIZE + 1):
        with pytest.raises(ValueError):
            encrypt_stream(key, io.BytesIO(b"x"), io.BytesIO(), aad=b"", chunk_size=chunk_size)


def test_stream_exact_multiple_of_chunk_size_and_default_chunk() -> None:
    key = new_session_key()
    data = bytes(range(256)) * 2  # 512 bytes = exactly 16 chunks of 32
    blob = _encrypt_stream_bytes(key, data, aad=b"", chunk_size=32)
    _, chunks = _split_stream(blob, 32)
    assert len(chunks) == 16
    assert _decrypt_stream_bytes(key, blob, aad=b"") == data
    big = b"z" * (200 * 1024 + 5)  # several default-size (64 KiB) chunks
    out = io.BytesIO()
    encrypt_stream(key, io.BytesIO(big), out, aad=b"f")
    assert _decrypt_stream_bytes(key, out.getvalue(), aad=b"f") == big


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


@FAST
@given(a=st.binary(max_size=40), b=st.binary(max_size=40))
def test_constant_time_equal_matches_equality(a: bytes, b: bytes) -> None:
    assert constant_time_equal(a, b) is (a == b)
    assert constant_time_equal(a, a) is True


def test_new_salt() -> None:
    assert len(new_salt()) == 16
    assert new_salt() != new_salt()


def test_decryption_error_is_generic() -> None:
    key = new_session_key()
    blob = encrypt(key, b"x", aad=b"")
    messages = set()
    for attempt in (
        lambda: decrypt(key, blob, aad=b"y"),
        lambda: decrypt(key, blob[:5], aad=b""),
        lambda: decrypt(new_session_key(), blob, aad=b""),
    ):
        with pytest.raises(DecryptionError) as info:
            attempt()
        messages.add(str(info.value))
    assert messages == {"decryption failed"}


# --------------------------------------------------------------------------------------------
# Session keys and fingerprints
# --------------------------------------------------------------------------------------------


@FAST
@given(token=st.text(min_size=16, max_size=64))
def test_session_key_is_deterministic_and_not_the_stored_token_hash(token: str) -> None:
    import hashlib

    key = crypto.session_key_from_token(token)
    assert len(key) == 32
    assert crypto.session_key_from_token(token) == key
    # What the server stores to find the session row must never be the key itself.
    assert key != hashlib.sha256(token.encode()).digest()
    assert crypto.session_key_from_token(token + "x") != key


def test_session_key_refuses_short_tokens() -> None:
    with pytest.raises(ValueError):
        crypto.session_key_from_token("short")


def test_fingerprint_is_stable_and_distinguishes_keys() -> None:
    first, second = generate_signing_key(), generate_signing_key()
    assert crypto.fingerprint(first.public) == crypto.fingerprint(first.public)
    assert crypto.fingerprint(first.public) != crypto.fingerprint(second.public)
    assert re.fullmatch(r"([0-9A-F]{4} ){7}[0-9A-F]{4}", crypto.fingerprint(first.public))


# --- the sign-in side's primitives (moved here from backend/auth/service.py) ------------------

_INSTALLATION_SECRET = "an-installation-secret-key-for-tests"


def test_installation_keys_are_independent_per_purpose_and_stable() -> None:
    throttle = crypto.installation_key(_INSTALLATION_SECRET, "login-throttle")
    device = crypto.installation_key(_INSTALLATION_SECRET, "device-cookie")
    assert len(throttle) == len(device) == 32 and throttle != device
    assert crypto.installation_key("another secret", "login-throttle") != throttle
    # Known answers computed with the code that lived in backend/auth/service.py: counters,
    # device cookies and anonymous form tokens issued before the move keep working.
    assert (
        crypto.mac_hex(throttle, "account|ana@example.org")
        == "a6c6c5eaf3581d8fefe85761d8b4e3dfd70756a84e86703466aec74418db3eb3"
    )
    assert crypto.mac_hex(device, "7|abc", length=40) == "63363a55cdbb6657ec00115de417c7cdc296327f"
    assert (
        crypto.mac_hex(_INSTALLATION_SECRET, "anon-csrf|b|1700000000|cookie", length=40)
        == "586aed36dc80eabeb75d2aeeb1301cea023e2a03"
    )


def test_sealed_text_round_trips_and_is_bound_to_its_row() -> None:
    key = crypto.installation_key(_INSTALLATION_SECRET, "totp-secret")
    sealed = crypto.seal_text(key, "JBSWY3DPEHPK3PXP", aad=b"totp|7")
    assert sealed.startswith("v1:") and "JBSWY3DPEHPK3PXP" not in sealed
    assert crypto.seal_text(key, "JBSWY3DPEHPK3PXP", aad=b"totp|7") != sealed
    assert crypto.open_text(key, sealed, aad=b"totp|7") == "JBSWY3DPEHPK3PXP"
    other_key = crypto.installation_key("another secret", "totp-secret")
    for wrong_key, value, aad in [
        (key, sealed, b"totp|8"),  # copied into another person's row
        (other_key, sealed, b"totp|7"),  # another installation's secret key
        (key, sealed[:-4] + ("AAAA" if sealed[-4:] != "AAAA" else "BBBB"), b"totp|7"),
        (key, "v0:" + sealed[3:], b"totp|7"),
        (key, "v1:not base64!", b"totp|7"),
        (key, "", b"totp|7"),
    ]:
        with pytest.raises(DecryptionError):
            crypto.open_text(wrong_key, value, aad=aad)


def test_sealed_text_opens_values_sealed_before_the_move() -> None:
    key = crypto.installation_key(_INSTALLATION_SECRET, "totp-secret")
    before = "v1:AAECAwQFBgcICQoLCW8hIwPCMNvb_F0f8M9p9BqpSILHb_bHcyhz23XsCgw="
    assert crypto.open_text(key, before, aad=b"totp|7") == "JBSWY3DPEHPK3PXP"


def test_passwords_verify_and_unknown_accounts_cost_a_verification(monkeypatch) -> None:
    stored = crypto.hash_password("correct horse battery", fast=True)
    assert stored.startswith("$argon2id$")
    assert crypto.verify_password("correct horse battery", stored, fast=True) == (True, "")
    assert crypto.verify_password("wrong", stored, fast=True) == (False, "")
    calls = []
    context = crypto._password_context(True)
    monkeypatch.setattr(
        type(context), "verify", lambda self, *a, **k: calls.append(a) or False, raising=True
    )
    assert crypto.verify_password("anything", None, fast=True) == (False, "")
    assert len(calls) == 1  # the dummy hash was verified: same cost as a known account


def test_a_weaker_stored_password_hash_is_replaced() -> None:
    weak = crypto.hash_password("correct horse battery", fast=True)
    valid, upgraded = crypto.verify_password("correct horse battery", weak, fast=False)
    assert valid and upgraded.startswith("$argon2id$") and "m=65536" in upgraded
