"""The one notice service (issue #15): in-app notices, their mail, preferences.

Other domains use only these names (the interface is /tmp/p24/notices-api.md; docs/notices.md
for operators):

    notices.kind("vacancy.test_scheduled", subject=N_(...), body=N_(...), mandatory=False,
                 confidential=False, label=N_(...))          # once, at import time
    notices.tell(session, to=[user_id, ...], kind=..., key=..., params={...}, link="/...",
                 attachment=notices.Attachment(name, content_type, content))  # -> int

The core imports no domain: domains declare their kinds and call `tell` from their services or
their event subscribers (their `notices.py`, listed in `Plugin.subscribers`).
"""

from backend.notices.delivery import (
    MAX_ATTEMPTS,
    Run,
    backoff,
    compose,
    deliver,
    failure_text,
    retry,
    send_digests,
    status_counts,
    troubled,
)
from backend.notices.models import DeliveryStatus, Notice, NoticeDelivery
from backend.notices.registry import KINDS, Attachment, Kind, NoticeError, get_kind, kind
from backend.notices.service import (
    NoticeView,
    Preferences,
    count_for,
    forget,
    mark_read,
    notices_for,
    optional_kinds,
    preferences_for,
    render,
    set_preferences,
    tell,
    unread_count,
)

__all__ = [
    "KINDS",
    "MAX_ATTEMPTS",
    "Attachment",
    "DeliveryStatus",
    "Kind",
    "Notice",
    "NoticeDelivery",
    "NoticeError",
    "NoticeView",
    "Preferences",
    "Run",
    "backoff",
    "compose",
    "count_for",
    "deliver",
    "failure_text",
    "forget",
    "get_kind",
    "kind",
    "mark_read",
    "notices_for",
    "optional_kinds",
    "preferences_for",
    "render",
    "retry",
    "send_digests",
    "set_preferences",
    "status_counts",
    "tell",
    "troubled",
    "unread_count",
]
