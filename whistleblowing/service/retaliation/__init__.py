"""Retaliation complaints, protective measures, remedies, and the HR watch.

A reporter who suffers for having reported files a complaint — through their receipt (no
identity needed) or signed in as an identified employee. It goes to the protection officers,
never to the investigators of the original report. Officers assess it prima facie (a protected
report, a detriment, and timing that links them), may order interim protective measures,
investigate, determine, order remedies and keep watching after closure. They can generate a
signed burden-of-proof pack: the protected report's date and the adverse decisions after it.

Storage follows the reporting channel (docs/security.md): each complaint has its own key pair;
everything said in it is sealed; plain columns are workflow dates and status only; nothing plain
links a complaint to a report or a person.

**HR watch.** Once a protected person is known to the protection officers, every adverse HR
decision about them that Mérito records raises an alert. The list of protected people is a list
of HMAC tags of employee ids under a random watch key, which the server holds encrypted under a
key derived from the application's secret (so events match while nobody is signed in) and the
officers hold wrapped to their own keys. Every watched decision about *anyone* writes the same
sealed, padded entry for each officer; only the officer opening it learns whether it is an
alert. The trade-offs are in docs/security.md ("HR watch").

The public interface of the retaliation service: routes, jobs, the events module and tests
import from here, never from its modules.
"""

from __future__ import annotations

from whistleblowing.schemas import AllegedAct, ComplaintInput

from .common import (
    BOOK_SIZE,
    COMPLAINANT,
    ENTRY_SIZE,
    MAX_ACTS,
    MIN_REASON,
    MONITORING_MONTHS,
    PACK_TYPE,
    REFERENCE_PREFIX,
    ComplaintAccess,
)
from .complaints import (
    add_complainant_message,
    complainant_tag,
    complaint_of_user,
    complaints_of_reporter,
    complaints_of_user,
    file_by_receipt,
    file_identified,
    reporter_tag,
    validate_complaint,
)
from .items import (
    ComplaintEntry,
    complaint_timeline,
    protected_employee_id,
    read_complaint_attachment,
)
from .officers import (
    add_officer_item,
    complaint_inbox,
    open_complaint,
    protect_complainant,
    protect_reporter,
)
from .pack import STATUS_CHANGED, burden_of_proof_pack, verify_pack
from .retention import ComplaintRetention, apply_retention, monitoring_notices, remove_files
from .steps import (
    Step,
    Steps,
    allowed_steps,
    assess,
    check_measure_allowed,
    close,
    determine,
    order_measure,
    order_remedy,
    start_investigation,
)
from .watch import (
    EVENT_ACTS,
    WATCHED_EVENTS,
    Alert,
    Protection,
    acknowledge_alert,
    end_protection,
    on_hr_decision,
    pending_entries,
    protect,
    protection_of,
    restore_watch_key,
    screen,
    unwatch_employee,
    watch_employee,
)

__all__ = [
    "unwatch_employee",
    "watch_employee",
    "Step",
    "Steps",
    "allowed_steps",
    "Alert",
    "AllegedAct",
    "BOOK_SIZE",
    "COMPLAINANT",
    "ComplaintAccess",
    "ComplaintEntry",
    "ComplaintInput",
    "ComplaintRetention",
    "ENTRY_SIZE",
    "EVENT_ACTS",
    "MAX_ACTS",
    "MIN_REASON",
    "MONITORING_MONTHS",
    "PACK_TYPE",
    "Protection",
    "REFERENCE_PREFIX",
    "STATUS_CHANGED",
    "WATCHED_EVENTS",
    "acknowledge_alert",
    "add_complainant_message",
    "add_officer_item",
    "apply_retention",
    "assess",
    "burden_of_proof_pack",
    "check_measure_allowed",
    "close",
    "complainant_tag",
    "complaint_inbox",
    "complaint_of_user",
    "complaint_timeline",
    "complaints_of_reporter",
    "complaints_of_user",
    "determine",
    "end_protection",
    "file_by_receipt",
    "file_identified",
    "monitoring_notices",
    "on_hr_decision",
    "open_complaint",
    "order_measure",
    "order_remedy",
    "pending_entries",
    "protect",
    "protect_complainant",
    "protect_reporter",
    "protected_employee_id",
    "protection_of",
    "read_complaint_attachment",
    "remove_files",
    "reporter_tag",
    "restore_watch_key",
    "screen",
    "start_investigation",
    "validate_complaint",
    "verify_pack",
]
