"""The audit log as people read it: each action by a translated description (`user.signed_in`
→ "Inició sesión"), each record by its kind, and an entry's before/after as a list of fields and
values instead of JSON (issue #13).

A new audit action needs its description here; `tests/integration/test_no_codes_on_screen.py`
finds every action written in the code and fails on one without.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from backend.i18n import N_, _

ACTION_LABELS: dict[str, str] = {
    "privacy.notice_published": N_("Privacy notice published"),
    "privacy.arco_filed": N_("ARCO request filed"),
    "privacy.arco_answered": N_("ARCO request answered"),
    "privacy.data_exported": N_("Personal data downloaded"),
    "privacy.retention_period_set": N_("Retention period changed"),
    "privacy.retention_applied": N_("Records deleted or anonymised (retention)"),
    "user.name_rectified": N_("Name rectified"),
    "user.signed_in": N_("Signed in"),
    "user.created": N_("Account created"),
    "user.activated": N_("Account reactivated"),
    "user.deactivated": N_("Account deactivated"),
    "user.password_changed": N_("Password changed"),
    "user.roles_changed": N_("Roles changed"),
    "user.second_factor_enrolled": N_("Two-step verification set up"),
    "user.second_factor_passed": N_("Passed two-step verification"),
    "user.recovery_code_used": N_("Signed in with a recovery code"),
    "user.recovery_codes_created": N_("Created recovery codes"),
    "user.second_factor_reset": N_("Two-step verification reset"),
    "candidate.registered": N_("Candidate registered"),
    "candidate.email_verified": N_("Candidate's email confirmed"),
    "demo.generated": N_("Demo organisation created"),
    "framework.loaded": N_("Competency framework loaded"),
    "unit.created": N_("Unit created"),
    "unit.updated": N_("Unit changed"),
    "position.created": N_("Position created"),
    "position.updated": N_("Position changed"),
    "employee.created": N_("Employee added"),
    "employee.updated": N_("Employee record changed"),
    "employee.moved": N_("Employee moved"),
    "employee.status_changed": N_("Employee status changed"),
    "employee.imported": N_("Employees imported"),
    "employee.exported": N_("Employees exported"),
    "qualification.created": N_("Qualification created"),
    "qualification.expiry_set": N_("Qualification expiry date set"),
    "org.role_changed": N_("Position's role changed"),
    "competency.rated": N_("Competency rated"),
    "competency.self_assessed": N_("Self-assessment recorded"),
    "competency.validated": N_("Self-assessment validated"),
    "competency.ratings_validated": N_("Ratings validated"),
    "competency.ratings_imported": N_("Ratings imported"),
    "competency.training_result": N_("Training result recorded as a rating"),
    "competency.gap_reports": N_("Gap report exported"),
    "campaign.opened": N_("Assessment campaign opened"),
    "campaign.closed": N_("Assessment campaign closed"),
    "campaign.reminded": N_("Campaign reminder sent"),
    "role_profile.created": N_("Role profile created"),
    "role_profile.changed": N_("Role profile changed"),
    "role_profile.override_created": N_("Position's own profile created"),
    "role_profile.override_removed": N_("Position's own profile removed"),
    "training.activity_created": N_("Training activity created"),
    "training.activity_saved": N_("Training activity changed"),
    "training.catalogue_imported": N_("Training catalogue imported"),
    "training.session_scheduled": N_("Training session scheduled"),
    "training.session_cancelled": N_("Training session cancelled"),
    "training.enrolled": N_("Enrolled in a session"),
    "training.waitlisted": N_("Put on a waiting list"),
    "training.promoted_from_waiting_list": N_("Moved from the waiting list into a session"),
    "training.enrolment_cancelled": N_("Enrolment cancelled"),
    "training.withdrawn_without_reason": N_("Withdrew without a reason"),
    "training.request_refused": N_("Training request refused"),
    "training.completed": N_("Training completed"),
    "training.not_passed": N_("Training not passed"),
    "training.budget_set": N_("Training budget set"),
    "training.plans_proposed": N_("Training plans proposed"),
    "training.plan_proposed": N_("Training plan proposed"),
    "training.plan_submitted": N_("Training plan sent for approval"),
    "training.plan_approved": N_("Training plan approved"),
    "training.item_added": N_("Activity added to a plan"),
    "training.item_removed": N_("Activity removed from a plan"),
    "training.item_declined": N_("Activity of a plan declined"),
    "training.induction_assigned": N_("Induction assigned"),
    "training.learner_invited": N_("External learner invited"),
    "training.mentor_assigned": N_("Mentor assigned"),
    "training.mentoring_ended": N_("Mentoring ended"),
    "training.development_action_added": N_("Development action added to a plan"),
    "training.renewal_proposed": N_("Certificate renewal proposed in a plan"),
    "training.action_completed": N_("Development action completed"),
    "training.needs_report": N_("Training needs report exported"),
    "appraisal.cycle_opened": N_("Appraisal cycle opened"),
    "appraisal.cycle_completed": N_("Appraisal cycle completed"),
    "appraisal.cycle_settings_changed": N_("Appraisal cycle settings changed"),
    "appraisal.plan_priority_added": N_("Plan priority added"),
    "appraisal.unit_objective_added": N_("Unit objective added"),
    "appraisal.team_objective_added": N_("Team objective added"),
    "appraisal.objectives_proposed": N_("Objectives proposed"),
    "appraisal.objectives_agreed": N_("Objectives agreed"),
    "appraisal.dialogue_recorded": N_("Appraisal dialogue recorded"),
    "appraisal.reviewed": N_("Appraisal reviewed"),
    "appraisal.feedback_opened": N_("360° feedback switched on"),
    "appraisal.feedback_closed": N_("360° feedback round closed"),
    "appraisal.feedback_peer_invited": N_("Colleague asked for 360° feedback"),
    "appraisal.sent_back": N_("Appraisal sent back"),
    "appraisal.supervisor_signed": N_("Signed by the supervisor"),
    "appraisal.employee_signed": N_("Signed by the employee"),
    "appraisal.development_action_agreed": N_("Development action agreed"),
    "appraisal.rating_dropped": N_("Appraisal rating dropped"),
    "appraisal.does_not_meet": N_("Rated as not meeting expectations"),
    "appraisal.reminded": N_("Appraisal reminder sent"),
    "appraisal.reminders_mailed": N_("Appraisal reminders mailed"),
    "appraisal.manager_training_recorded": N_("Supervisor's appraisal training recorded"),
    "appraisal.demo_supervisors_trained": N_("Demo supervisors marked as trained"),
    "vacancy.created": N_("Vacancy created"),
    "vacancy.draft_changed": N_("Vacancy draft changed"),
    "vacancy.submitted": N_("Vacancy sent for approval"),
    "vacancy.returned": N_("Vacancy returned for changes"),
    "vacancy.approved": N_("Vacancy approved"),
    "vacancy.published": N_("Vacancy published"),
    "vacancy.amended": N_("Published vacancy amended"),
    "vacancy.cancelled": N_("Vacancy cancelled"),
    "vacancy.draft": N_("Vacancy back to draft"),
    "vacancy.pending_approval": N_("Vacancy awaiting approval"),
    "vacancy.testing": N_("Vacancy moved to the test stage"),
    "vacancy.sift": N_("Vacancy moved to the sift stage"),
    "vacancy.interview": N_("Vacancy moved to the interview stage"),
    "vacancy.results": N_("Vacancy moved to results"),
    "vacancy.appointed": N_("Vacancy filled"),
    "vacancy.panel_member_appointed": N_("Panel member appointed"),
    "vacancy.panel_member_removed": N_("Panel member removed"),
    "vacancy.conflict_declared": N_("Conflict of interest declared"),
    "vacancy.application_submitted": N_("Application submitted"),
    "vacancy.application_updated": N_("Application changed"),
    "vacancy.application_withdrawn": N_("Application withdrawn"),
    "vacancy.application_read": N_("Application read"),
    "vacancy.screening_review_requested": N_("Review of the screening requested"),
    "vacancy.screening_review_decided": N_("Review of the screening decided"),
    "vacancy.test_started": N_("Test started"),
    "vacancy.test_submitted": N_("Test submitted"),
    "vacancy.test_marked": N_("Test marked"),
    "vacancy.question_neutralised": N_("Test question neutralised"),
    "vacancy.adjustment_requested": N_("Reasonable adjustments requested"),
    "vacancy.adjustment_decided": N_("Reasonable adjustments decided"),
    "vacancy.monitoring_purged": N_("Equal-opportunity answers deleted (retention)"),
    "vacancy.interview_question_added": N_("Interview question added"),
    "vacancy.interview_question_removed": N_("Interview question removed"),
    "vacancy.score_recorded": N_("Score recorded"),
    "vacancy.consensus_recorded": N_("Consensus score recorded"),
    "vacancy.candidates_out": N_("Candidates left out"),
    "vacancy.candidate_back": N_("Candidate brought back"),
    "vacancy.candidate_rejected": N_("Candidate rejected"),
    "vacancy.merit_list_published": N_("Merit list published"),
    "vacancy.appeal_submitted": N_("Appeal submitted"),
    "vacancy.appeal_review_started": N_("Appeal review started"),
    "vacancy.appeal_decided": N_("Appeal decided"),
    "vacancy.appointment_proposed": N_("Appointment proposed"),
    "vacancy.appointment_refused": N_("Appointment refused"),
    "vacancy.offer_declined": N_("Offer declined"),
    "vacancy.candidate_appointed": N_("Candidate appointed"),
    "vacancy.slot_opened": N_("Test sitting or interview time opened"),
    "vacancy.slot_cancelled": N_("Test sitting or interview time cancelled"),
    "vacancy.slot_booked": N_("Test sitting or interview time booked"),
    "vacancy.slot_rescheduled": N_("Test sitting or interview moved to another time"),
    "vacancy.slot_booking_cancelled": N_("Test sitting or interview booking cancelled"),
    "bank_question.created": N_("Question added to the bank"),
    "bank_question.retired": N_("Question retired from the bank"),
    "knowledge_domain.created": N_("Knowledge area created"),
    "report.read": N_("Report read"),
    "report.assigned": N_("Report assigned"),
    "report.handed_over": N_("Report handed over"),
    "report.status_changed": N_("Report status changed"),
    "report.tags_changed": N_("Report tags changed"),
    "report.linked": N_("Reports linked"),
    "report.unlinked": N_("Reports unlinked"),
    "report.deleted": N_("Report deleted"),
    "report.attachment_read": N_("Report attachment opened"),
    "report.access_granted": N_("Access to a report granted"),
    "report.access_revoked": N_("Access to a report revoked"),
    "report.access_restored": N_("Access to a report restored"),
    "report.redaction_added": N_("Something hidden from a report's redacted version"),
    "report.redaction_removed": N_("A redaction of a report removed"),
    "report.viewer_granted": N_("Redacted version of a report shared"),
    "report.viewer_revoked": N_("Redacted version of a report withdrawn"),
    "report.redacted_read": N_("Redacted version of a report read"),
    "report.exported": N_("Signed export of a report downloaded"),
    "report.referred": N_("Report referred to a competent authority"),
    "report.referral_encrypted": N_("Encrypted referral of a report downloaded"),
    "reporting.authority_registered": N_("Authority for referrals registered"),
    "reporting.authority_changed": N_("Authority for referrals changed"),
    "reporting.authority_saved": N_("Competent authority shown on the channel page saved"),
    "reporting.authority_deleted": N_("Competent authority removed from the channel page"),
    "report.confirmed_genuine": N_("Report confirmed as genuine"),
    "report.held_during_flood": N_("Report received during a flood, held until confirmed"),
    "notice.mailed": N_("Notices sent by mail"),
    "notice.retried": N_("Failed mail sent again"),
    "report.conflict_declared": N_("Conflict of interest declared on a report"),
    "report.deadline_escalated": N_("Overdue report escalated"),
    "report.entered_for_reporter": N_("Report entered for a reporter"),
    "report.identity_requested": N_("Reporter's identity requested"),
    "report.identity_released": N_("Reporter's identity released"),
    "report.identity_refused": N_("Reporter's identity refused"),
    "report.reporter_told_of_identity_decision": N_("Reporter told of the identity decision"),
    "report.recipients_withheld": N_("Recipients withheld from a report"),
    "report.reminder_set": N_("Reminder set"),
    "report.priority_overridden": N_("Case priority set by hand"),
    "report.priority_override_removed": N_("Case priority back to the computed one"),
    "report.retention_extended": N_("Case retention extended"),
    "report.retention_extension_ended": N_("Case retention extension ended"),
    "report.legal_hold_placed": N_("Case put under a legal hold"),
    "report.legal_hold_released": N_("Legal hold on a case ended"),
    "report_channel.questionnaire_published": N_("Channel questionnaire published"),
    "report_channel.priority_weight_set": N_("Channel triage weight set"),
    "report.reminder_deleted": N_("Reminder deleted"),
    "report.reporter_access_ended": N_("Reporter's access ended"),
    "report.submission_added": N_("Report submitted"),
    "report.identity_added": N_("Identity added to a report"),
    "report.reporter_message_added": N_("Message from the reporter"),
    "report.reporter_answer_added": N_("Answer from the reporter"),
    "report.reply_added": N_("Reply sent to the reporter"),
    "report.question_added": N_("Question sent to the reporter"),
    "report.acknowledgement_added": N_("Acknowledgement sent"),
    "report.feedback_added": N_("Feedback sent"),
    "report.note_added": N_("Note added to a report"),
    "report.decision_added": N_("Decision recorded on a report"),
    "report.identity_notice_added": N_("Identity notice sent"),
    "reporting.channel_saved": N_("Reporting channel saved"),
    "reporting.channel_recipients_changed": N_("Channel recipients changed"),
    "reporting.channel_roles_changed": N_("Channel roles changed"),
    "reporting.tag_saved": N_("Case tag saved"),
    "reporting.holder_key_created": N_("Reading key created"),
    "reporting.recovery_created": N_("Recovery key created"),
    "investigator.interests_declared": N_("Interests declared"),
    "investigator.absence_recorded": N_("Absence recorded"),
    "investigator.absence_ended": N_("Absence ended"),
    "retaliation.complaint_filed": N_("Retaliation complaint filed"),
    "retaliation.complaint_read": N_("Retaliation complaint read"),
    "retaliation.complaint_deleted": N_("Retaliation complaint deleted"),
    "retaliation.status_changed": N_("Complaint status changed"),
    "retaliation.attachment_read": N_("Complaint attachment opened"),
    "retaliation.measure_ordered": N_("Protective measure ordered"),
    "retaliation.remedy_ordered": N_("Remedy ordered"),
    "retaliation.protection_recorded": N_("Protection recorded"),
    "retaliation.protection_ended": N_("Protection ended"),
    "retaliation.pack_generated": N_("Burden-of-proof pack generated"),
    "retaliation.alert_acknowledged": N_("HR watch alert acknowledged"),
    "retaliation.watch_screened": N_("HR decisions screened"),
    "retaliation.watch_key_restored": N_("HR watch key restored"),
    "retaliation.complaint_added": N_("Complaint submitted"),
    "retaliation.complainant_message_added": N_("Message from the complainant"),
    "retaliation.officer_message_added": N_("Message sent to the complainant"),
    "retaliation.note_added": N_("Note added to a complaint"),
    "retaliation.assessment_added": N_("Assessment recorded on a complaint"),
    "retaliation.determination_added": N_("Determination recorded"),
    "retaliation.decision_added": N_("Decision recorded on a complaint"),
    "retaliation.measure_added": N_("Protective measure recorded"),
    "retaliation.remedy_added": N_("Remedy recorded"),
    "retaliation.identity_added": N_("Identity added to a complaint"),
}

# The first part of an action code, as offered by the audit page's filter.
ACTION_GROUPS: dict[str, str] = {
    "user": N_("Accounts"),
    "candidate": N_("Candidates"),
    "employee": N_("Employees"),
    "unit": N_("Units"),
    "position": N_("Positions"),
    "competency": N_("Competencies"),
    "campaign": N_("Assessment campaigns"),
    "role_profile": N_("Role profiles"),
    "training": N_("Training"),
    "appraisal": N_("Performance appraisals"),
    "vacancy": N_("Recruitment"),
    "report": N_("Reports"),
    "reporting": N_("Reporting channels"),
    "retaliation": N_("Retaliation complaints"),
    "privacy": N_("Privacy"),
}

ENTITY_LABELS: dict[str, str] = {
    "user": N_("Account"),
    "employee": N_("Employee"),
    "employee_import": N_("Employee import"),
    "unit": N_("Unit"),
    "position": N_("Position"),
    "qualification": N_("Qualification"),
    "organisation": N_("Organisation"),
    "demo": N_("Demo"),
    "framework_version": N_("Competency framework"),
    "role_profile": N_("Role profile"),
    "assessment_campaign": N_("Assessment campaign"),
    "rating_import": N_("Rating import"),
    "training_activity": N_("Training activity"),
    "training_session": N_("Training session"),
    "training_enrolment": N_("Enrolment"),
    "training_plans": N_("Training plans"),
    "training_catalogue": N_("Training catalogue"),
    "training_external_learner": N_("External learner"),
    "appraisal": N_("Appraisal"),
    "appraisal_cycle": N_("Appraisal cycle"),
    "plan_priority": N_("Plan priority"),
    "team_objective": N_("Team objective"),
    "unit_objective": N_("Unit objective"),
    "vacancy": N_("Vacancy"),
    "vacancy_application": N_("Application"),
    "vacancy_appeal": N_("Appeal"),
    "bank_question": N_("Test question"),
    "knowledge_domain": N_("Knowledge area"),
    "report": N_("Report"),
    "report_channel": N_("Reporting channel"),
    "referral_authority": N_("Authority for referrals"),
    "case_tag": N_("Case tag"),
    "reporting_installation": N_("Reporting channel keys"),
    "retaliation_complaint": N_("Retaliation complaint"),
    "protected_person": N_("Protected person"),
    "watch_book": N_("HR watch"),
    "watch_key": N_("HR watch key"),
    "privacy_notice": N_("Privacy notice"),
    "arco_request": N_("ARCO request"),
    "retention_rule": N_("Retention rule"),
}

# The fields entries most often carry; others are shown with their name in words.
FIELD_LABELS: dict[str, str] = {
    "expires_on": N_("Expires on"),
    "certificate_expires_on": N_("Certificate expires on"),
    "renews": N_("Renews"),
    "qualification": N_("Qualification"),
    "feedback_behaviours": N_("Feedback behaviours"),
    "feedback_requests": N_("Feedback requests"),
    "feedback_answers": N_("Feedback answers"),
    "colleague": N_("Colleague asked"),
    "status": N_("Status"),
    "email": N_("Email"),
    "roles": N_("Roles"),
    "must_change_password": N_("Must change password"),
    "is_active": N_("Active"),
    "code": N_("Code"),
    "name": N_("Name"),
    "title": N_("Title"),
    "title_es": N_("Title (Spanish)"),
    "title_en": N_("Title (English)"),
    "description": N_("Description"),
    "capacity": N_("Places"),
    "starts_at": N_("Starts"),
    "ends_at": N_("Ends"),
    "place": N_("Place"),
    "activity": N_("Activity"),
    "modality": N_("Modality"),
    "provider": N_("Provider"),
    "hours": N_("Hours"),
    "cost": N_("Cost"),
    "audience": N_("Audience"),
    "evidence": N_("Evidence of completion"),
    "pass_score": N_("Pass score"),
    "is_induction": N_("Induction"),
    "targets": N_("Target competencies"),
    "domain": N_("Knowledge area"),
    "difficulty": N_("Difficulty"),
    "version": N_("Version"),
    "source": N_("Source"),
    "requirements": N_("Requirements"),
    "year": N_("Year"),
    "reason": N_("Reason"),
    "recipients": N_("Recipients"),
    "lead": N_("Lead"),
    "deputy": N_("Deputy"),
    "level": N_("Level"),
    "unit": N_("Unit"),
    "position": N_("Position"),
    "employees": N_("Employees"),
    "count": N_("Count"),
    "rows": N_("Rows"),
    "redaction": N_("Redaction"),
    "authority": N_("Authority"),
    "recipient": N_("Public key"),
    "files": N_("Files"),
    "kinds": N_("Adjustments"),
    "extra_minutes": N_("Extra minutes"),
    "extra_percent": N_("Extra time (percent)"),
    "decision": N_("Decision"),
    "granted_kinds": N_("Adjustments granted"),
    "granted_minutes": N_("Extra minutes granted"),
    "purpose": N_("Purpose"),
    "kind": N_("Kind"),
    "slot": N_("Time"),
    "video_link": N_("Video link"),
    "bookings_cancelled": N_("Bookings cancelled"),
    "due_on": N_("Answer due"),
    "on_time": N_("On time"),
    "full_name": N_("Name"),
    "months": N_("Months kept"),
    "cutoff": N_("Before"),
    "keys": N_("Records"),
    "priority": N_("Priority"),
    "set_by_hand": N_("Set by hand"),
    "priority_weight": N_("Triage weight"),
    "questions": N_("Questions"),
    "deleted_on": N_("Deleted on"),
    "kept_until": N_("Kept until"),
    "released_on": N_("Ended on"),
}

_CODE = re.compile(r"\b[a-z][a-z0-9]*(?:[._][a-z0-9]+)+\b")


def action_label(action: str) -> str:
    """Return the translated description of an audit action ("Inició sesión")."""
    label = ACTION_LABELS.get(action)
    if label:
        return _(label)
    group = ACTION_GROUPS.get(action.split(".", 1)[0])
    return _("Other action: %(group)s", group=_(group)) if group else _("Other action")


def entity_label(entity_type: str) -> str:
    """Return the translated kind of record an entry is about."""
    label = ENTITY_LABELS.get(entity_type)
    return _(label) if label else entity_type.replace("_", " ")


def field_label(key: str) -> str:
    label = FIELD_LABELS.get(key)
    return _(label) if label else key.replace("_", " ").capitalize()


# How a timestamp is shown (the page's `backend.web.format_datetime`: the organisation's time
# zone and the reader's locale). Passed in, so this module does not depend on the web layer.
DatetimeFormat = Callable[[datetime], str]


def value_text(value: Any, format_datetime: DatetimeFormat) -> str:
    """Return a recorded value in words: yes/no, lists joined, dates formatted, none as —."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, list | tuple):
        return ", ".join(value_text(v, format_datetime) for v in value)
    if isinstance(value, dict):
        pairs = (
            f"{field_label(str(k))}: {value_text(v, format_datetime)}" for k, v in value.items()
        )
        return "; ".join(pairs)
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        try:
            return format_datetime(datetime.fromisoformat(value))
        except ValueError:
            return value
    return str(value)


@dataclass(frozen=True)
class FieldChange:
    """One field of an audit entry: its label, its value before (if recorded) and after."""

    label: str
    before: str | None
    after: str | None
    # A stored identifier (an activity's code, a role's code) is shown as it was recorded,
    # marked as a literal rather than a word.
    literal: bool


def changes(
    before: dict | None, after: dict | None, *, format_datetime: DatetimeFormat
) -> list[FieldChange]:
    """Return an entry's recorded fields, before and after, in the order they were written."""
    before, after = before or {}, after or {}
    keys = list(before) + [k for k in after if k not in before]
    rows = []
    for key in keys:
        old = value_text(before[key], format_datetime) if key in before else None
        new = value_text(after[key], format_datetime) if key in after else None
        literal = any(v is not None and _CODE.search(v) for v in (old, new))
        rows.append(FieldChange(field_label(str(key)), old, new, literal))
    return rows
