"""Receipts that carry a keyed tag, and the channel's global budgets.

A receipt is the 120-bit random part `crypto.new_receipt()` makes (six groups of four symbols),
followed by a seventh group: a tag of four symbols (20 bits), HMAC-SHA256 under a key derived
from the installation's secret key over the random part. Only the server can make a tag, so a
receipt with a wrong tag is refused at once, by one HMAC, without a database query or any
Argon2id work; only receipts the server issued (and one forgery in about a million) reach the
expensive lookup, which keeps a global budget (`LOGIN_BUDGET`). The keys and the lookup are
still derived from the random part alone, so the tag adds no secret and lowers nothing.

Receipts issued before tags (24 symbols; `Report.receipt_tagged` false) still open their
report: through the same lookup, charged to a budget of their own (`LEGACY_BUDGET`), so
forgeries in the old form can use up only that one; once no report that gave out such a
receipt is still open to its reporter, the old form is refused as cheaply as a wrong tag. Their
reporters can type their receipt with its tag (shown to them after they sign in) and then never
meet that budget.

Each budget is a "generic cell rate": one attempt costs `attempt_seconds` of budget time and
the budget holds `capacity` attempts, so an attempt is allowed while the moment the budget is
whole again lies at most `(capacity - 1) * attempt_seconds` ahead. One conditional UPDATE
charges it, so however many attempts arrive at once exactly the budget passes.

The two derivations' memory (19 and 32 MiB) is reused from one receipt to the next
(`keep_derivation_memory`), instead of being mapped afresh for each.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

from sqlalchemy import Float, bindparam, case, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from backend import clock, crypto
from backend.config import Settings
from whistleblowing.models import ReceiptThrottle, Report

TAG_LENGTH = 4  # symbols; 20 bits
TAG_BITS = TAG_LENGTH * 5
TAGGED_LENGTH = crypto.RECEIPT_LENGTH + TAG_LENGTH
_TAG_PURPOSE = "wb-receipt-tag"
_IGNORED = " -\t\n\r"

# The rows of `receipt_throttle`.
LOGIN_BUDGET = 1
LEGACY_BUDGET = 2
SUBMISSION_BUDGET = 3


@dataclass(frozen=True)
class Budget:
    row: int
    capacity: float
    attempt_seconds: float

    @property
    def burst_seconds(self) -> float:
        return (self.capacity - 1) * self.attempt_seconds


@dataclass(frozen=True)
class ParsedReceipt:
    """A receipt as typed: its random part (grouped, what the keys are derived from) and its
    tag (None for a receipt issued before tags)."""

    random_part: str
    tag: str | None


def _tag_key(settings: Settings) -> bytes:
    return crypto.installation_key(settings.resolved_secret_key(), _TAG_PURPOSE)


def tag_for(settings: Settings, random_part: str) -> str:
    """Return the four-symbol tag of a receipt's random part (grouped or not)."""
    compact = crypto.normalize_receipt(random_part).replace("-", "")
    value = int(crypto.mac_hex(_tag_key(settings), compact, length=8), 16) >> (32 - TAG_BITS)
    return "".join(
        crypto.RECEIPT_ALPHABET[(value >> shift) & 0x1F] for shift in range(TAG_BITS - 5, -1, -5)
    )


def with_tag(settings: Settings, random_part: str) -> str:
    """Return the receipt to give out: the random part and its tag, seven groups of four."""
    return f"{crypto.normalize_receipt(random_part)}-{tag_for(settings, random_part)}"


def new_receipt(settings: Settings) -> tuple[str, str]:
    """Return (receipt to give out, its random part) for a new report."""
    keep_derivation_memory()
    random_part = crypto.new_receipt()
    return with_tag(settings, random_part), random_part


def parse_receipt(text: str) -> ParsedReceipt:
    """Return a typed receipt's parts, read as `crypto.normalize_receipt` reads receipts (case,
    spaces and hyphens ignored; O is zero, I and L are one). ValueError when it is neither 28
    symbols (tagged) nor 24 (issued before tags)."""
    compact = "".join(ch for ch in text.upper() if ch not in _IGNORED)
    if len(compact) == TAGGED_LENGTH:
        random_part = crypto.normalize_receipt(compact[: crypto.RECEIPT_LENGTH])
        # The last 24 symbols normalised: their last group is the tag.
        tag = crypto.normalize_receipt(compact[TAG_LENGTH:])[-TAG_LENGTH:]
        return ParsedReceipt(random_part, tag)
    return ParsedReceipt(crypto.normalize_receipt(compact), None)


def tag_is_right(settings: Settings, parsed: ParsedReceipt) -> bool:
    """Return whether a tagged receipt's tag is the one the server would make (constant time)."""
    return parsed.tag is not None and crypto.macs_equal(
        tag_for(settings, parsed.random_part), parsed.tag
    )


# Per process and database: once no open report has an untagged receipt, none ever will again
# (every new report is tagged), so the answer is kept and the database is not asked again.
_LEGACY_CLOSED: set[str] = set()


def legacy_receipts_open(session: Session) -> bool:
    """Return whether some report that gave out an untagged receipt can still be opened by it."""
    bind = str(session.get_bind().url)
    if bind in _LEGACY_CLOSED:
        return False
    found = session.exec(
        select(Report.id)
        .where(
            col(Report.receipt_tagged).is_(False),
            col(Report.reporter_access_ended_on).is_(None),
        )
        .limit(1)
    ).first()
    if found is None:
        _LEGACY_CLOSED.add(bind)
    return found is not None


# --- budgets ----------------------------------------------------------------------------------


def _clock() -> float:
    return clock.now().timestamp()


def _charge_statement():
    """Return the UPDATE that takes one attempt: the budget whole again `step` seconds after
    the later of `now` and when it was to be whole, unless that lies beyond `latest`."""
    throttle = ReceiptThrottle.__table__.c
    now = bindparam("now", type_=Float)
    later = case((throttle.full_at > now, throttle.full_at), else_=now)
    return (
        update(ReceiptThrottle.__table__)
        .where(
            throttle.id == bindparam("row"), throttle.full_at <= bindparam("latest", type_=Float)
        )
        .values(full_at=later + bindparam("step", type_=Float))
    )


# Run by every submission and every receipt sign-in: built once. A Core UPDATE (the row is
# never held as an object across it: `charge` commits right after).
_CHARGE = _charge_statement()


def charge(session: Session, budget: Budget) -> bool:
    """Take one attempt from `budget` and commit; return False (nothing taken) when it is spent.

    One conditional UPDATE: on PostgreSQL concurrent attempts queue on the row's lock and each
    re-checks the condition against the row as the previous one left it; on SQLite writers are
    serialised. It commits at once, before any key derivation, so nothing holds the row (or
    SQLite's writer lock) while Argon2id runs.
    """
    now = _clock()
    values = {
        "row": budget.row,
        "now": now,
        "latest": now + budget.burst_seconds,
        "step": budget.attempt_seconds,
    }
    taken = session.execute(_CHARGE, values).rowcount == 1
    if not taken and session.get(ReceiptThrottle, budget.row) is None:
        # The migrations create the rows; a database emptied by hand gets them back.
        session.add(ReceiptThrottle(id=budget.row, full_at=0.0))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
        taken = session.execute(_CHARGE, values).rowcount == 1
    session.commit()
    return taken


def refund(session: Session, budget: Budget) -> None:
    """Give back one attempt (the login budgets count failures). Once the budget is whole again
    the row goes back to 0, so a reporter's sign-in leaves no time."""
    now = _clock()
    earlier = col(ReceiptThrottle.full_at) - budget.attempt_seconds
    session.execute(
        update(ReceiptThrottle)
        .where(col(ReceiptThrottle.id) == budget.row)
        .values(full_at=case((earlier <= now, 0.0), else_=earlier))
    )


def forget_whole_budgets(session: Session) -> int:
    """Set every whole budget's row back to 0 (the periodic job), so the moment of the last
    attempt does not stay in the database; return how many rows changed."""
    result = session.execute(
        update(ReceiptThrottle)
        .where(col(ReceiptThrottle.full_at) > 0, col(ReceiptThrottle.full_at) <= _clock())
        .values(full_at=0.0)
    )
    return result.rowcount or 0


def tag_to_add(settings: Settings, receipt: str) -> str | None:
    """Return the tag a receipt typed without one should carry (None when it has its tag):
    shown to a reporter who signed in with a receipt issued before tags."""
    parsed = parse_receipt(receipt)
    return None if parsed.tag is not None else tag_for(settings, parsed.random_part)


# --- the derivations' memory ------------------------------------------------------------------

# glibc's malloc hands a block this large out as a fresh mapping and unmaps it on free: its
# threshold adapts only up to 32 MiB, and the receipt key's block is just over it. So every
# key derivation faulted in 8,192 new zeroed pages, about 17 ms of kernel time: a fifth of a
# submission's CPU (bench/RESULTS.md, "Server CPU per anonymous submission"). With the
# threshold just above the largest receipt derivation, the block comes from the heap and the
# next derivation reuses it. Nothing of a receipt stays in it: libargon2 wipes its memory
# before freeing it (tests/unit/test_receipt_derivation_memory.py). The setting is the whole
# process's, as glibc's adaptive threshold was (already at 19 MiB after the first lookup); the
# cost: each malloc arena that ran a derivation keeps about 33 MiB mapped, not 19.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
REUSED_DERIVATION_BYTES = (
    max(crypto.RECEIPT_KEY_KDF.memory_kib, crypto.RECEIPT_LOOKUP_KDF.memory_kib) + 1024
) * 1024
_memory_kept: list[bool] = []


def keep_derivation_memory() -> bool:
    """Let this process reuse a receipt derivation's memory for the next one (idempotent);
    return whether the C library took the setting (glibc does; elsewhere nothing changes)."""
    if not _memory_kept:
        _memory_kept.append(_raise_malloc_thresholds())
    return _memory_kept[0]


def _raise_malloc_thresholds() -> bool:
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    # glibc's own rule: free memory at the top of a heap is given back beyond twice the
    # threshold (so the block freed by one derivation stays for the next).
    return bool(
        mallopt(_M_MMAP_THRESHOLD, REUSED_DERIVATION_BYTES)
        and mallopt(_M_TRIM_THRESHOLD, 2 * REUSED_DERIVATION_BYTES)
    )
