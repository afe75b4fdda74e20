"""Every cryptographic primitive Mérito uses, in one reviewed module.

No other module imports ``secrets``, ``hmac``, ``hashlib``, ``cryptography`` or ``argon2``
(``tests/unit/test_architecture.py`` checks it): sign-in tokens, CSRF and device MACs, TOTP
secrets at rest, file digests, reference codes and the reporting channel's keys all come from
here. Everything confidential is built from a handful of well-known constructions provided by
the ``cryptography`` package, and Argon2id from the reference implementation (libargon2,
through ``argon2-cffi``):

* **Sealed boxes** (X25519 ephemeral-static ECDH + HKDF-SHA256 + AES-256-GCM) encrypt data to a
  holder's public key so that the server, which only stores public keys, cannot read it.
* **Symmetric AEAD** (AES-256-GCM, random 96-bit nonce) protects small values under a key.
* **Argon2id** turns passwords and receipts into keys / lookup values.
* **Receipts** are random Crockford base32 codes (120 bits) given to anonymous reporters.
* **Ed25519** signs statements whose origin must be verifiable.
* **Chunked streams** (a STREAM-like AES-256-GCM construction) encrypt attachments without
  holding them in memory.

Every authentication failure surfaces as :class:`DecryptionError` with a generic message, so
callers (and attackers) cannot learn which check failed.

Each binary format starts with its own distinct version/format byte. Because the values differ,
a blob of one kind handed to another kind's parser is rejected up front, and the byte is also
authenticated (via AAD or KDF info) so it cannot be swapped without detection.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import secrets
import struct
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import BinaryIO

from argon2.low_level import ARGON2_VERSION, Type, core, ffi, lib
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from passlib.context import CryptContext

# fmt: off
__all__ = [
    "DecryptionError", "KdfParams", "KeyPair", "MAX_STREAM_CHUNK_SIZE", "PASSWORD_KDF",
    "RECEIPT_ALPHABET", "RECEIPT_BITS", "RECEIPT_GROUP_SIZE", "RECEIPT_KEY_KDF", "RECEIPT_LENGTH",
    "RECEIPT_LOOKUP_KDF", "TEST_KDF", "constant_time_equal", "decrypt", "decrypt_stream",
    "decrypt_stream_to_bytes", "derive_key", "derive_subkey", "encrypt", "encrypt_stream",
    "fingerprint", "generate_keypair", "generate_signing_key", "hash_password", "installation_key",
    "keyed_hash", "mac_hex", "macs_equal", "new_digest", "new_hex", "new_receipt", "new_salt",
    "new_session_key", "new_token", "normalize_receipt", "open_sealed", "open_text",
    "random_below", "random_bits", "random_code", "receipt_key", "receipt_lookup", "seal",
    "seal_text", "session_key_from_token", "sha256_hex", "shuffle", "sign", "token_digest",
    "unwrap_key", "unwrap_private_key", "verify", "verify_password", "wrap_key_for",
    "wrap_private_key",
]
# fmt: on

KEY_SIZE = 32  # AES-256 / X25519 / Ed25519 raw key length in bytes
NONCE_SIZE = 12  # 96-bit GCM nonce
TAG_SIZE = 16  # GCM authentication tag
SALT_SIZE = 16  # 128-bit salts: collisions are negligible across all installations/reports

# Distinct per-format version bytes (see module docstring for why they differ).
_SEAL_VERSION = 0x01
_SYMMETRIC_VERSION = 0x02
_WRAPPED_PRIVATE_VERSION = 0x03
_STREAM_VERSION = 0x04

_SEAL_HKDF_INFO = b"merito/whistleblowing/seal/v1"
_RECEIPT_LOOKUP_CONTEXT = b"merito/whistleblowing/receipt-lookup/v1"
_RECEIPT_KEY_CONTEXT = b"merito/whistleblowing/receipt-key/v1"
_WRAPPED_PRIVATE_CONTEXT = b"merito/whistleblowing/wrapped-private-key/v1"
_SESSION_KEY_INFO = b"merito/session-key/v1"

_GENERIC_FAILURE = "decryption failed"


class DecryptionError(Exception):
    """Raised whenever ciphertext cannot be authenticated or parsed.

    The message is deliberately generic: it never says whether the key, the associated data,
    the framing or the tag was at fault.
    """

    def __init__(self, message: str = _GENERIC_FAILURE) -> None:
        super().__init__(message)


@dataclass(frozen=True)
class KeyPair:
    """A raw 32-byte private key and its raw 32-byte public key (X25519 or Ed25519)."""

    # repr=False so a stray log line or traceback never prints the private key.
    private: bytes = field(repr=False)
    public: bytes


# --- small helpers --------------------------------------------------------------------------------


def constant_time_equal(a: bytes, b: bytes) -> bool:
    """Return whether ``a == b``, taking time independent of where they differ."""
    return hmac.compare_digest(a, b)


def new_salt() -> bytes:
    """Return a fresh random 16-byte salt for :func:`derive_key` and friends."""
    return secrets.token_bytes(SALT_SIZE)


def new_session_key() -> bytes:
    """Return a fresh random 32-byte key for :func:`encrypt` / :func:`decrypt`."""
    return secrets.token_bytes(KEY_SIZE)


def session_key_from_token(token: str | bytes) -> bytes:
    """Return the 32-byte key that protects key material held in a session row.

    The key is derived from the session cookie's random token with HKDF-SHA256. The server
    keeps only SHA-256 of the token (to find the row), and HKDF with its own ``info`` is an
    independent function of the token, so nothing at rest allows recomputing this key: only a
    request carrying the cookie can unlock what the session row holds.
    """
    secret = token.encode("utf-8") if isinstance(token, str) else bytes(token)
    if len(secret) < 16:
        raise ValueError("session token too short")
    return HKDF(
        algorithm=hashes.SHA256(), length=KEY_SIZE, salt=None, info=_SESSION_KEY_INFO
    ).derive(secret)


def derive_subkey(key: bytes, *, context: bytes) -> bytes:
    """Return a 32-byte key derived from `key` for one purpose (HKDF-SHA256, info=context).

    Different contexts give independent keys, so one secret can serve several purposes
    without any of them revealing another.
    """
    _check_key(key)
    return HKDF(algorithm=hashes.SHA256(), length=KEY_SIZE, salt=None, info=context).derive(key)


def keyed_hash(key: bytes, message: bytes) -> bytes:
    """Return HMAC-SHA256 of `message` under `key`: a tag that only the key's holder can
    compute, so a list of tags reveals nothing to anyone without the key."""
    _check_key(key)
    return hmac.new(bytes(key), message, "sha256").digest()


@lru_cache(maxsize=16)
def installation_key(secret: str, purpose: str) -> bytes:
    """Return the 32-byte key for one `purpose` derived from the installation's secret key.

    HKDF-SHA256 with info ``merito/<purpose>/v1``: each purpose (the sign-in throttle's keyed
    hashes, device cookies, TOTP secrets at rest) gets an independent key, so none reveals
    another, and the secret key itself never keys anything directly.
    """
    info = f"merito/{purpose}/v1".encode()
    return HKDF(algorithm=hashes.SHA256(), length=KEY_SIZE, salt=None, info=info).derive(
        secret.encode()
    )


def fingerprint(public_key: bytes) -> str:
    """Return a short, human-comparable SHA-256 fingerprint of a public key (16 hex groups)."""
    digest = hashes.Hash(hashes.SHA256())
    digest.update(bytes(public_key))
    hexed = digest.finalize().hex().upper()[:32]
    return " ".join(hexed[i : i + 4] for i in range(0, len(hexed), 4))


def _check_key(key: bytes, *, what: str = "key") -> None:
    """Raise ``ValueError`` unless ``key`` is exactly 32 bytes."""
    if not isinstance(key, (bytes, bytearray)) or len(key) != KEY_SIZE:
        raise ValueError(f"{what} must be {KEY_SIZE} bytes")


def _open_gcm(aead: AESGCM, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
    """Return AES-GCM's plaintext; any failure is the one generic ``DecryptionError``."""
    try:
        return aead.decrypt(nonce, ciphertext, aad)
    except InvalidTag:
        raise DecryptionError from None


# --- symmetric AEAD -------------------------------------------------------------------------------


def encrypt(key: bytes, plaintext: bytes, *, aad: bytes) -> bytes:
    """Return ``version | nonce | ciphertext+tag``: ``plaintext`` under AES-256-GCM.

    The nonce is random, so one key must not be used for more than ~2**32 messages (the
    NIST bound for random GCM nonces); session and report keys are far below that.
    """
    _check_key(key)
    header = bytes([_SYMMETRIC_VERSION])
    nonce = secrets.token_bytes(NONCE_SIZE)
    # The version byte is authenticated so it cannot be altered to change interpretation.
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, header + aad)
    return header + nonce + ciphertext


def decrypt(key: bytes, blob: bytes, *, aad: bytes) -> bytes:
    """Return the plaintext of an :func:`encrypt` blob; raise ``DecryptionError`` on failure."""
    _check_key(key)
    if len(blob) < 1 + NONCE_SIZE + TAG_SIZE or blob[0] != _SYMMETRIC_VERSION:
        raise DecryptionError
    header, nonce, ciphertext = blob[:1], blob[1 : 1 + NONCE_SIZE], blob[1 + NONCE_SIZE :]
    return _open_gcm(AESGCM(key), nonce, ciphertext, header + aad)


_TEXT_PREFIX = "v1:"


def seal_text(key: bytes, text: str, *, aad: bytes) -> str:
    """Return `text` under AES-256-GCM for a text column: ``v1:`` + base64url(nonce | sealed).

    For a short secret stored in a row (a TOTP secret): `aad` binds it to that row, so it
    cannot be copied into another.
    """
    _check_key(key)
    nonce = secrets.token_bytes(NONCE_SIZE)
    sealed = AESGCM(key).encrypt(nonce, text.encode(), aad)
    return _TEXT_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()


def open_text(key: bytes, value: str, *, aad: bytes) -> str:
    """Return the text :func:`seal_text` sealed; raise ``DecryptionError`` on any failure."""
    _check_key(key)
    if not value.startswith(_TEXT_PREFIX):
        raise DecryptionError
    try:
        raw = base64.urlsafe_b64decode(value[len(_TEXT_PREFIX) :])
        return AESGCM(key).decrypt(raw[:NONCE_SIZE], raw[NONCE_SIZE:], aad).decode()
    except (InvalidTag, ValueError):
        raise DecryptionError from None


# --- sealed boxes (public-key encryption) ---------------------------------------------------------


def generate_keypair() -> KeyPair:
    """Return a new X25519 key pair (raw 32-byte private and public keys)."""
    private = X25519PrivateKey.generate()
    return KeyPair(
        private=private.private_bytes_raw(), public=private.public_key().public_bytes_raw()
    )


def _seal_key(shared: bytes, *, ephemeral_public: bytes, recipient_public: bytes) -> bytes:
    """Return the AES key for a sealed box, bound to both public keys."""
    # Binding both public keys in the HKDF info prevents key-substitution games: the same
    # shared secret reached via different public keys would yield a different AES key.
    info = _SEAL_HKDF_INFO + bytes([_SEAL_VERSION]) + ephemeral_public + recipient_public
    return HKDF(algorithm=hashes.SHA256(), length=KEY_SIZE, salt=None, info=info).derive(shared)


def seal(public_key_bytes: bytes, plaintext: bytes, *, aad: bytes) -> bytes:
    """Return ``version | ephemeral pubkey | nonce | ciphertext+tag`` sealed to a public key.

    Only the holder of the matching X25519 private key can open it; the sender stays
    anonymous because a fresh ephemeral key is used for every message.
    """
    _check_key(public_key_bytes, what="public key")
    recipient = X25519PublicKey.from_public_bytes(bytes(public_key_bytes))
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = ephemeral.public_key().public_bytes_raw()
    # Raises ValueError for low-order recipient keys (all-zero shared secret): a caller bug.
    shared = ephemeral.exchange(recipient)
    key = _seal_key(
        shared, ephemeral_public=ephemeral_public, recipient_public=bytes(public_key_bytes)
    )
    nonce = secrets.token_bytes(NONCE_SIZE)
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, aad)
    return bytes([_SEAL_VERSION]) + ephemeral_public + nonce + ciphertext


def open_sealed(private_key_bytes: bytes, sealed: bytes, *, aad: bytes) -> bytes:
    """Return the plaintext of a :func:`seal` box; raise ``DecryptionError`` on failure."""
    _check_key(private_key_bytes, what="private key")
    if len(sealed) < 1 + KEY_SIZE + NONCE_SIZE + TAG_SIZE or sealed[0] != _SEAL_VERSION:
        raise DecryptionError
    ephemeral_public = sealed[1 : 1 + KEY_SIZE]
    nonce = sealed[1 + KEY_SIZE : 1 + KEY_SIZE + NONCE_SIZE]
    ciphertext = sealed[1 + KEY_SIZE + NONCE_SIZE :]
    private = X25519PrivateKey.from_private_bytes(bytes(private_key_bytes))
    recipient_public = private.public_key().public_bytes_raw()
    try:
        shared = private.exchange(X25519PublicKey.from_public_bytes(ephemeral_public))
    except ValueError:
        # A tampered ephemeral key of low order; report it like any other failure.
        raise DecryptionError from None
    key = _seal_key(shared, ephemeral_public=ephemeral_public, recipient_public=recipient_public)
    return _open_gcm(AESGCM(key), nonce, ciphertext, aad)


def wrap_key_for(public_key: bytes, key_material: bytes, *, aad: bytes) -> bytes:
    """Return ``key_material`` sealed to a holder's public key (alias of :func:`seal`)."""
    return seal(public_key, key_material, aad=aad)


def unwrap_key(private_key: bytes, wrapped: bytes, *, aad: bytes) -> bytes:
    """Return key material from :func:`wrap_key_for` (alias of :func:`open_sealed`)."""
    return open_sealed(private_key, wrapped, aad=aad)


# --- Argon2id key derivation ----------------------------------------------------------------------

# Upper bounds enforced on every KdfParams, including ones parsed from stored blobs, so a
# tampered blob cannot make the server allocate unbounded memory or spin forever.
_MAX_MEMORY_KIB = 1024 * 1024  # 1 GiB
_MAX_ITERATIONS = 64
_MAX_LANES = 64


@dataclass(frozen=True)
class KdfParams:
    """Argon2id cost parameters: memory in KiB, number of passes and degree of parallelism."""

    memory_kib: int
    iterations: int
    lanes: int

    def __post_init__(self) -> None:
        if not 1 <= self.lanes <= _MAX_LANES:
            raise ValueError("lanes out of range")
        if not 1 <= self.iterations <= _MAX_ITERATIONS:
            raise ValueError("iterations out of range")
        # Argon2 itself requires at least 8 KiB per lane.
        if not 8 * self.lanes <= self.memory_kib <= _MAX_MEMORY_KIB:
            raise ValueError("memory_kib out of range")


# Parameter choices. Timings measured on the development machine (2 cores, cryptography 48.0.0,
# Python 3.11), one derivation at a time, median (min-max) of 9 runs (libargon2, used since,
# computes the same values and runs the lanes of PASSWORD_KDF in parallel threads):
#
#   PASSWORD_KDF       64 MiB, t=3, p=4   0.145 s (0.11-0.21 s); with p=1 it was 0.15-0.27 s
#   RECEIPT_LOOKUP_KDF 19 MiB, t=2, p=1   0.023 s (0.02-0.035 s)
#   RECEIPT_KEY_KDF    32 MiB, t=2, p=1   0.058 s (0.055-0.065 s)
#   TEST_KDF            8 KiB, t=1, p=1   <0.1 ms
#
# PASSWORD_KDF is the second recommended option of RFC 9106 (section 4): passwords are
# low-entropy, so they get the highest cost. It is only paid when a holder unlocks their key
# (rare, authenticated), so 64 MiB per derivation is affordable.
PASSWORD_KDF = KdfParams(memory_kib=64 * 1024, iterations=3, lanes=4)

# Receipts carry 120 random bits, so brute force is hopeless at any cost; Argon2id is used
# only as defence in depth against a leaked database. The lookup runs on an unauthenticated
# endpoint, so it must stay cheap enough not to be a denial-of-service lever: this is the
# OWASP password-storage baseline (19 MiB, t=2, p=1).
RECEIPT_LOOKUP_KDF = KdfParams(memory_kib=19 * 1024, iterations=2, lanes=1)

# Derived once per reporter session, after the lookup succeeded; a little more memory than
# the lookup but still far under the ~0.3 s budget.
RECEIPT_KEY_KDF = KdfParams(memory_kib=32 * 1024, iterations=2, lanes=1)

# Minimum Argon2 allows. Never use outside tests.
TEST_KDF = KdfParams(memory_kib=8, iterations=1, lanes=1)


def _secret_bytes(secret: str | bytes) -> bytes:
    """Return ``secret`` as bytes, NFC-normalising text first."""
    if isinstance(secret, str):
        # The same password typed on different systems may arrive composed or decomposed;
        # NFC (as in RFC 8265 OpaqueString) makes both derive the same key.
        return unicodedata.normalize("NFC", secret).encode("utf-8")
    return bytes(secret)


def derive_key(
    secret: str | bytes,
    salt: bytes,
    *,
    params: KdfParams,
    context: bytes = b"",
    length: int = KEY_SIZE,
) -> bytes:
    """Return ``length`` bytes derived from ``secret`` and ``salt`` with Argon2id.

    ``context`` is fed to Argon2's associated-data input so that derivations for different
    purposes never coincide even if a secret and salt were accidentally reused.
    """
    if len(salt) < SALT_SIZE:
        raise ValueError(f"salt must be at least {SALT_SIZE} bytes")
    return _argon2id(_secret_bytes(secret), bytes(salt), params=params, ad=context, length=length)


def _argon2id(secret: bytes, salt: bytes, *, params: KdfParams, ad: bytes, length: int) -> bytes:
    """Return Argon2id (version 0x13) of ``secret`` with ``salt`` and associated data ``ad``.

    Computed by libargon2 through argon2-cffi's binding of ``argon2_ctx``, the only one that
    takes associated data. The call releases the GIL: a derivation (up to a few hundred
    milliseconds) would otherwise stop every other thread of the process, the server's event
    loop and uvicorn's health-check answer included, and under a burst of sign-ins a worker
    was killed as hung (found by the load test, docs/load-testing.md). The values are the
    same as ``cryptography``'s Argon2id (tests/unit/test_crypto.py checks it).
    """
    out = ffi.new("uint8_t[]", length)
    # The FFI buffers must live until the call returns; libargon2 wipes the secret's copy.
    c_secret = ffi.new("uint8_t[]", secret)
    c_salt = ffi.new("uint8_t[]", salt)
    c_ad = ffi.new("uint8_t[]", ad) if ad else ffi.NULL
    context = ffi.new(
        "argon2_context *",
        {
            "version": ARGON2_VERSION,
            "out": out,
            "outlen": length,
            "pwd": c_secret,
            "pwdlen": len(secret),
            "salt": c_salt,
            "saltlen": len(salt),
            "secret": ffi.NULL,
            "secretlen": 0,
            "ad": c_ad,
            "adlen": len(ad),
            "t_cost": params.iterations,
            "m_cost": params.memory_kib,
            "lanes": params.lanes,
            "threads": params.lanes,
            "allocate_cbk": ffi.NULL,
            "free_cbk": ffi.NULL,
            "flags": lib.ARGON2_FLAG_CLEAR_PASSWORD,
        },
    )
    result = core(context, Type.ID.value)
    if result != lib.ARGON2_OK:
        raise ValueError(ffi.string(lib.argon2_error_message(result)).decode("ascii"))
    derived = bytes(ffi.buffer(out, length))
    ffi.memmove(out, bytes(length), length)
    return derived


# --- sign-in passwords ---------------------------------------------------------------------------


@lru_cache
def _password_context(fast: bool) -> CryptContext:
    if fast:  # tests only: the same algorithm at a trivial cost
        return CryptContext(
            schemes=["argon2"], argon2__memory_cost=1024, argon2__time_cost=1, argon2__parallelism=1
        )
    return CryptContext(schemes=["argon2"], argon2__memory_cost=65536, argon2__time_cost=3)


@lru_cache
def _dummy_password_hash(fast: bool) -> str:
    return _password_context(fast).hash(secrets.token_urlsafe(16))


def hash_password(password: str, *, fast: bool = False) -> str:
    """Return the Argon2id hash (PHC string) stored for a sign-in password."""
    return _password_context(fast).hash(password)


def verify_password(password: str, stored: str | None, *, fast: bool = False) -> tuple[bool, str]:
    """Return (whether `password` matches `stored`, the hash to store instead or "").

    With no `stored` hash (no such account) a dummy hash is verified, so an unknown account
    costs the same time as a known one. The second value is a fresh hash when `stored` was
    made with weaker parameters than today's.
    """
    context = _password_context(fast)
    if stored is None:
        context.verify(password, _dummy_password_hash(fast))
        return False, ""
    if not context.verify(password, stored):
        return False, ""
    return True, context.hash(password) if context.needs_update(stored) else ""


# --- password-wrapped private keys ----------------------------------------------------------------

# version (B) | memory_kib (I) | iterations (I) | lanes (I) | salt (16s), big-endian.
_WRAPPED_HEADER = struct.Struct(">BIII16s")


def wrap_private_key(
    private: bytes, password: str, *, params: KdfParams = PASSWORD_KDF, aad: bytes = b""
) -> bytes:
    """Return a self-describing blob (version, KDF params, salt, nonce, ciphertext+tag).

    The blob carries its own parameters so costs can be raised later without breaking old
    blobs. ``aad`` can bind the blob to e.g. a user id; the same value is needed to unwrap.
    """
    salt = new_salt()
    header = _WRAPPED_HEADER.pack(
        _WRAPPED_PRIVATE_VERSION, params.memory_kib, params.iterations, params.lanes, salt
    )
    key = derive_key(password, salt, params=params, context=_WRAPPED_PRIVATE_CONTEXT)
    nonce = secrets.token_bytes(NONCE_SIZE)
    # The header is authenticated so nobody can swap parameters or salt undetected.
    return header + nonce + AESGCM(key).encrypt(nonce, private, header + aad)


def unwrap_private_key(blob: bytes, password: str, *, aad: bytes = b"") -> bytes:
    """Return the private key inside a :func:`wrap_private_key` blob.

    Raises ``DecryptionError`` for a wrong password, a wrong ``aad`` or a malformed blob.
    """
    header_size = _WRAPPED_HEADER.size
    if len(blob) < header_size + NONCE_SIZE + TAG_SIZE:
        raise DecryptionError
    header = blob[:header_size]
    version, memory_kib, iterations, lanes, salt = _WRAPPED_HEADER.unpack(header)
    if version != _WRAPPED_PRIVATE_VERSION:
        raise DecryptionError
    try:
        params = KdfParams(memory_kib=memory_kib, iterations=iterations, lanes=lanes)
    except ValueError:
        raise DecryptionError from None
    key = derive_key(password, salt, params=params, context=_WRAPPED_PRIVATE_CONTEXT)
    nonce = blob[header_size : header_size + NONCE_SIZE]
    return _open_gcm(AESGCM(key), nonce, blob[header_size + NONCE_SIZE :], header + aad)


# --- receipts -------------------------------------------------------------------------------------

# Crockford base32: no I, L, O, U, so receipts survive being read aloud or handwritten.
RECEIPT_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RECEIPT_LENGTH = 24  # symbols; 24 * 5 = 120 bits
RECEIPT_BITS = RECEIPT_LENGTH * 5
RECEIPT_GROUP_SIZE = 4

# Crockford's decoding rules: O reads as zero, I and L as one.
_RECEIPT_CONFUSABLES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_RECEIPT_IGNORED = str.maketrans("", "", " -\t\n\r")


def _group_receipt(compact: str) -> str:
    """Return ``compact`` split into hyphen-separated groups of four symbols."""
    return "-".join(
        compact[i : i + RECEIPT_GROUP_SIZE] for i in range(0, len(compact), RECEIPT_GROUP_SIZE)
    )


def new_receipt() -> str:
    """Return a fresh 120-bit receipt such as ``"7K3M-Q0ZD-..."`` (six groups of four)."""
    value = secrets.randbits(RECEIPT_BITS)
    symbols = [
        RECEIPT_ALPHABET[(value >> shift) & 0x1F] for shift in range(RECEIPT_BITS - 5, -1, -5)
    ]
    return _group_receipt("".join(symbols))


def normalize_receipt(text: str) -> str:
    """Return the canonical grouped form of a receipt typed by a person.

    Case, spaces and hyphens are ignored and Crockford's confusables are mapped (O→0,
    I/L→1). Raises ``ValueError`` if what remains is not exactly a receipt.
    """
    compact = text.upper().translate(_RECEIPT_IGNORED).translate(_RECEIPT_CONFUSABLES)
    if len(compact) != RECEIPT_LENGTH or any(ch not in RECEIPT_ALPHABET for ch in compact):
        # Do not echo the input: it may be (close to) a real receipt.
        raise ValueError("malformed receipt")
    return _group_receipt(compact)


def _receipt_secret(receipt: str) -> bytes:
    """Return the canonical byte form of ``receipt`` used as KDF input."""
    return normalize_receipt(receipt).replace("-", "").encode("ascii")


def receipt_lookup(
    receipt: str, installation_salt: bytes, *, params: KdfParams = RECEIPT_LOOKUP_KDF
) -> bytes:
    """Return a deterministic 32-byte lookup value identifying the receipt's report.

    The value is safe to store and index; without the receipt it reveals nothing. Raises
    ``ValueError`` on a malformed receipt.
    """
    secret = _receipt_secret(receipt)
    return derive_key(secret, installation_salt, params=params, context=_RECEIPT_LOOKUP_CONTEXT)


def receipt_key(receipt: str, report_salt: bytes, *, params: KdfParams = RECEIPT_KEY_KDF) -> bytes:
    """Return the 32-byte key a reporter's receipt unlocks for one report.

    A different Argon2 context than :func:`receipt_lookup` guarantees the stored lookup value
    can never equal this key, even if the two salts were the same.
    """
    return derive_key(
        _receipt_secret(receipt), report_salt, params=params, context=_RECEIPT_KEY_CONTEXT
    )


# --- signatures -----------------------------------------------------------------------------------


def generate_signing_key() -> KeyPair:
    """Return a new Ed25519 key pair (raw 32-byte private seed and public key)."""
    private = Ed25519PrivateKey.generate()
    return KeyPair(
        private=private.private_bytes_raw(), public=private.public_key().public_bytes_raw()
    )


def sign(private: bytes, message: bytes) -> bytes:
    """Return the 64-byte Ed25519 signature of ``message``."""
    _check_key(private, what="private key")
    return Ed25519PrivateKey.from_private_bytes(bytes(private)).sign(message)


def verify(public: bytes, message: bytes, signature: bytes) -> bool:
    """Return whether ``signature`` is a valid Ed25519 signature of ``message`` by ``public``.

    Never raises for bad input: a malformed key or signature is simply not valid.
    """
    try:
        Ed25519PublicKey.from_public_bytes(bytes(public)).verify(bytes(signature), message)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


# --- chunked stream encryption (attachments) ------------------------------------------------------
#
# Layout:  header = version (1) | nonce prefix (7) | chunk size (4, big-endian)
#          then ciphertext chunks of chunk_size + 16 bytes, the last one possibly shorter.
# Chunk i is AES-256-GCM with nonce = prefix | i (4, big-endian) | last flag (1) and
# AAD = header | caller aad. The counter in the nonce catches reordering, dropping and
# duplication; the last flag catches truncation at a chunk boundary and appended data. An
# empty input still produces one (empty, final) chunk so "no chunks" is never valid.
#
# The nonce prefix is random, so one key should encrypt far fewer than 2**28 streams (the
# 56-bit birthday bound); attachments are expected to get a fresh key each.

_STREAM_PREFIX_SIZE = 7
_STREAM_HEADER = struct.Struct(">B7sI")
MAX_STREAM_CHUNK_SIZE = 16 * 1024 * 1024  # caps memory use when parsing a hostile header
_MAX_STREAM_CHUNKS = 2**32


def _read_exact(src: BinaryIO, size: int) -> bytes:
    """Return up to ``size`` bytes from ``src``, fewer only at end of stream."""
    # Raw and socket-backed streams may return short reads before EOF; loop until full.
    parts: list[bytes] = []
    remaining = size
    while remaining > 0:
        data = src.read(remaining)
        if not data:
            break
        parts.append(data)
        remaining -= len(data)
    return b"".join(parts)


def _chunk_nonce(prefix: bytes, counter: int, *, last: bool) -> bytes:
    """Return the 12-byte nonce for chunk ``counter`` of a stream."""
    return prefix + counter.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def encrypt_stream(
    key: bytes, src: BinaryIO, dst: BinaryIO, *, aad: bytes, chunk_size: int = 64 * 1024
) -> int:
    """Return the number of bytes written to ``dst`` after encrypting all of ``src``.

    Memory use is bounded by two chunks regardless of the input size.
    """
    _check_key(key)
    if not 1 <= chunk_size <= MAX_STREAM_CHUNK_SIZE:
        raise ValueError("chunk_size out of range")
    prefix = secrets.token_bytes(_STREAM_PREFIX_SIZE)
    header = _STREAM_HEADER.pack(_STREAM_VERSION, prefix, chunk_size)
    chunk_aad = header + aad
    aead = AESGCM(key)
    dst.write(header)
    written = len(header)
    counter = 0
    current = _read_exact(src, chunk_size)
    while True:
        # Read one chunk ahead: the current chunk is final exactly when nothing follows it.
        following = _read_exact(src, chunk_size) if len(current) == chunk_size else b""
        last = not following
        if counter >= _MAX_STREAM_CHUNKS:
            raise ValueError("stream too long for this chunk size")
        ciphertext = aead.encrypt(_chunk_nonce(prefix, counter, last=last), current, chunk_aad)
        dst.write(ciphertext)
        written += len(ciphertext)
        if last:
            return written
        counter += 1
        current = following


def decrypt_stream(key: bytes, src: BinaryIO, dst: BinaryIO, *, aad: bytes) -> int:
    """Return the number of plaintext bytes written to ``dst`` after decrypting ``src``.

    Raises ``DecryptionError`` on any tampering, truncation, reordering or trailing data.
    Chunks are verified one at a time, so when an error is raised ``dst`` may already hold
    plaintext of earlier, authentic chunks of a stream that is *as a whole* not authentic:
    callers must write into a temporary buffer or file and discard it on error, never
    exposing it. :func:`decrypt_stream_to_bytes` does this for small inputs.
    """
    _check_key(key)
    header = _read_exact(src, _STREAM_HEADER.size)
    if len(header) != _STREAM_HEADER.size:
        raise DecryptionError
    version, prefix, chunk_size = _STREAM_HEADER.unpack(header)
    if version != _STREAM_VERSION or not 1 <= chunk_size <= MAX_STREAM_CHUNK_SIZE:
        raise DecryptionError
    chunk_aad = header + aad
    aead = AESGCM(key)
    sealed_size = chunk_size + TAG_SIZE
    written = 0
    counter = 0
    current = _read_exact(src, sealed_size)
    while True:
        # A full-size chunk followed by more data is not final; anything else must be.
        following = _read_exact(src, sealed_size) if len(current) == sealed_size else b""
        last = not following
        if counter >= _MAX_STREAM_CHUNKS:
            raise DecryptionError
        plaintext = _open_gcm(aead, _chunk_nonce(prefix, counter, last=last), current, chunk_aad)
        dst.write(plaintext)
        written += len(plaintext)
        if last:
            return written
        counter += 1
        current = following


def decrypt_stream_to_bytes(key: bytes, src: BinaryIO, *, aad: bytes) -> bytes:
    """Return the whole plaintext of an encrypted stream, or raise ``DecryptionError``.

    Plaintext is buffered privately and only returned once the entire stream has been
    authenticated, so partial output can never leak. Meant for small files.
    """
    buffer = io.BytesIO()
    decrypt_stream(key, src, buffer, aad=aad)
    return buffer.getvalue()


# --- tokens, digests, MACs and random codes -------------------------------------------------------


def _utf8(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else bytes(value)


def new_token(nbytes: int = 32) -> str:
    """Return a URL-safe random token of `nbytes` bytes (session, CSRF, mail links)."""
    return secrets.token_urlsafe(nbytes)


def new_hex(nbytes: int = 16) -> str:
    """Return `nbytes` random bytes as hex (file names, nonces in canonical records)."""
    return secrets.token_hex(nbytes)


def random_code(alphabet: str, length: int) -> str:
    """Return `length` symbols drawn uniformly from `alphabet` (references, short codes)."""
    return "".join(secrets.choice(alphabet) for _ in range(length))


def random_below(n: int) -> int:
    """Return a uniform random integer in [0, n)."""
    return secrets.randbelow(n)


def random_bits(k: int) -> int:
    """Return a uniform random integer of `k` bits."""
    return secrets.randbits(k)


def shuffle(items: list) -> None:
    """Shuffle `items` in place with the operating system's random source."""
    secrets.SystemRandom().shuffle(items)


def sha256_hex(data: bytes | str) -> str:
    """Return the SHA-256 digest of `data` (text is UTF-8 encoded) as hex."""
    return hashlib.sha256(_utf8(data)).hexdigest()


def new_digest():  # noqa: ANN201 - hashlib's object has no public type
    """Return an incremental SHA-256 object (`update(bytes)`, `hexdigest()`)."""
    return hashlib.sha256()


def token_digest(token: str) -> str:
    """Return what is stored for a bearer token: its SHA-256, never the token itself."""
    return sha256_hex(token)


def mac_hex(key: bytes | str, message: bytes | str, *, length: int = 64) -> str:
    """Return HMAC-SHA256(key, message) as hex, cut to `length` characters."""
    return hmac.new(_utf8(key), _utf8(message), hashlib.sha256).hexdigest()[:length]


def macs_equal(a: str | bytes, b: str | bytes) -> bool:
    """Compare two MACs or tokens in constant time."""
    return hmac.compare_digest(_utf8(a), _utf8(b))
