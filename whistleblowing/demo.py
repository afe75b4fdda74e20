"""The reporting channel of the demo: who reads the reports, ready on the first `merito up`.

A real installation's investigators and protection officers create their key pairs when they
first sign in, and an administrator then names each channel's recipients, lead and deputy
(docs/reporting.md, "For administrators"). The demo does both at once, from the demo accounts'
published passwords, so that a visitor can make a report, read it as the demo investigator and
file and read a retaliation complaint without configuring anything:

- every demo key holder (the investigators and the protection officer) has a key pair, wrapped
  under their demo password exactly as their first sign-in would have done;
- every channel has the demo investigator as recipient and lead, and the second demo
  investigator as deputy, so a report whose reporter excludes the first still has a reader.

Idempotent, and it never undoes what an administrator changed: a key pair that exists is kept,
and a channel that already has recipients, a lead or a deputy keeps them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Protocol

from sqlmodel import Session, col, select

from backend.auth.models import User
from backend.config import Settings
from whistleblowing import service as reporting
from whistleblowing.models import HolderKey, Report, ReportChannel

LEAD = "investigator"
DEPUTY = "investigator2"


class DemoAccount(Protocol):
    role: str
    email: str
    password: str


def _by_email(session: Session, email: str) -> User | None:
    return session.exec(select(User).where(User.email == email)).first()


def prepare(session: Session, settings: Settings, accounts: Sequence[DemoAccount]) -> None:
    """Give the demo key holders their key pairs and every channel its readers (the caller
    commits)."""
    from backend import demo

    admin = _by_email(session, demo.demo_email("admin"))
    for account in accounts:
        user = _by_email(session, account.email)
        if user is None or not reporting.is_holder(session, user):
            continue
        if session.get(HolderKey, user.id) is None:
            reporting.unlock_holder_key(session, settings, user=user, password=account.password)
    lead = _by_email(session, demo.demo_email(LEAD))
    deputy = _by_email(session, demo.demo_email(DEPUTY))
    if admin is None or lead is None or deputy is None:
        return
    session.flush()
    channels = session.exec(select(ReportChannel).order_by(col(ReportChannel.id))).all()
    for channel in channels:
        if not reporting.channel_recipients(session, channel.id):
            reporting.set_channel_recipients(
                session, actor=admin, channel=channel, user_ids=[lead.id]
            )
        if channel.lead_user_id is None and channel.deputy_user_id is None:
            reporting.set_channel_roles(
                session,
                actor=admin,
                channel=channel,
                lead_user_id=lead.id,
                deputy_user_id=deputy.id,
            )


# The competent authorities the demo's channel page lists (Directive Art. 9(1)(g)): Mexico's
# federal bodies, for a federal institute. An installation checks and edits them at
# /cases/authorities before going live (docs/reporting.md).
DEMO_AUTHORITIES: list[dict[str, object]] = [
    {
        "name_es": "Secretaría Anticorrupción y Buen Gobierno",
        "name_en": "Ministry of Anti-Corruption and Good Government",
        "description_es": (
            "Recibe denuncias contra personas servidoras públicas federales por faltas "
            "administrativas, actos de corrupción y faltas en contrataciones públicas."
        ),
        "description_en": (
            "Receives reports against federal public servants for administrative misconduct, "
            "corruption and wrongdoing in public procurement."
        ),
        "url": "https://www.gob.mx/buengobierno",
    },
    {
        "name_es": "Órgano Interno de Control del instituto",
        "name_en": "The institute's Internal Control Body (OIC)",
        "description_es": (
            "Investiga las faltas administrativas de quienes trabajan en el instituto y puede "
            "recibir tu denuncia por escrito o en persona."
        ),
        "description_en": (
            "Investigates administrative misconduct by the institute's staff and can take your "
            "report in writing or in person."
        ),
        "email": "oic@{domain}",
    },
    {
        "name_es": "Fiscalía Especializada en Materia de Combate a la Corrupción (FGR)",
        "name_en": "Specialised Prosecutor's Office for Combating Corruption (FGR)",
        "description_es": (
            "Fiscalía de la Fiscalía General de la República que investiga los delitos por "
            "hechos de corrupción, como el cohecho o el peculado."
        ),
        "description_en": (
            "The Attorney General's office that investigates corruption offences, such as "
            "bribery or embezzlement."
        ),
        "url": "https://www.gob.mx/fgr",
    },
    {
        "name_es": "Transparencia para el Pueblo (antes INAI)",
        "name_en": "Transparencia para el Pueblo (formerly INAI)",
        "description_es": (
            "Autoridad que sucedió al INAI en la protección de datos personales en el sector "
            "público federal: acude a ella si tus datos personales se trataron indebidamente."
        ),
        "description_en": (
            "The authority that succeeded the INAI for personal data protection in the federal "
            "public sector: turn to it if your personal data were mishandled."
        ),
    },
]


def external_authorities(
    session: Session, settings: Settings, accounts: Sequence[DemoAccount]
) -> None:
    """List the demo's competent authorities on the channel page, unless some are listed
    already (the caller commits)."""
    from backend import demo

    admin = _by_email(session, demo.demo_email("admin"))
    if admin is None or reporting.all_external_authorities(session):
        return
    domain = demo.demo_email("admin").split("@", 1)[1]
    for position, values in enumerate(DEMO_AUTHORITIES, start=1):
        filled = {k: str(v).format(domain=domain) for k, v in values.items()}
        reporting.save_external_authority(
            session,
            actor=admin,
            authority=None,
            values={**filled, "order": position * 10, "is_active": True},
        )


# --- triage, questionnaires and retention (docs/reporting.md) ---------------------------------

# Points each demo channel adds to its reports' priority (whistleblowing.service.triage).
DEMO_CHANNEL_WEIGHTS = {"procurement_fraud": 3, "medicines_misuse": 3, "conflict_of_interest": 2}

# Every demo channel asks these; the second only after a "yes" to the first.
DEMO_QUESTIONS: list[dict[str, object]] = [
    {
        "kind": "yes_no",
        "text_es": "¿Hubo dinero o pagos de por medio?",
        "text_en": "Was money or a payment involved?",
    },
    {
        "kind": "choice",
        "text_es": "¿De qué monto, aproximadamente?",
        "text_en": "Roughly how much?",
        "required": True,
        "options": "Menos de 100 mil pesos | Under 100,000 pesos\n"
        "Entre 100 mil y 1 millón de pesos | 100,000 to 1 million pesos\n"
        "Más de 1 millón de pesos | Over 1 million pesos\n"
        "No lo sé | I don't know",
        "show_if": "q1=yes",
    },
    {
        "kind": "date",
        "text_es": "¿Cuándo lo notó por primera vez?",
        "text_en": "When did you first notice it?",
    },
    {
        "kind": "text",
        "text_es": "Número de contrato o de procedimiento, si lo conoce",
        "text_en": "Contract or procedure number, if you know it",
    },
]


def questionnaires(session: Session, settings: Settings, accounts: Sequence[DemoAccount]) -> None:
    """Give every demo channel its triage weight and a questionnaire, unless it has one (the
    caller commits). The first channel's last question is edited once, so its page shows
    several versions."""
    from backend import clock, demo

    admin = _by_email(session, demo.demo_email("admin"))
    if admin is None:
        return
    today = clock.today(settings)
    channels = session.exec(select(ReportChannel).order_by(col(ReportChannel.id))).all()
    for position, channel in enumerate(channels):
        if reporting.current_questionnaire(session, channel.id) is not None:
            continue
        weight = DEMO_CHANNEL_WEIGHTS.get(channel.code, 0)
        reporting.set_priority_weight(session, channel=channel, actor=admin, weight=weight)
        for question in DEMO_QUESTIONS:
            data = reporting.QuestionInput(**question)  # type: ignore[arg-type]
            reporting.add_question(session, channel=channel, actor=admin, data=data, today=today)
        if position == 0:
            changed = reporting.QuestionInput(
                kind="text",
                text_es="Número de contrato, de pedido o de procedimiento, si lo conoce",
                text_en="Contract, order or procedure number, if you know it",
            )
            reporting.edit_question(
                session, channel=channel, actor=admin, key="q4", data=changed, today=today
            )


# The demo's cases (filed on the first `merito up`, once the recovery key exists): what their
# reporters wrote, ticked and answered, how old they are, and what the investigator did.
DEMO_CASES: list[dict[str, object]] = [
    {
        "channel": "procurement_fraud",
        "days_ago": 40,
        "what": "Las facturas de guantes del almacén central se pagaron dos veces al mismo "
        "proveedor, por montos redondos.",
        "red_flags": ["duplicate_invoices", "round_sum_invoices", "favoured_treatment"],
        "answers": {"q1": "yes", "q2": "2", "q4": "LA-012M7B997-E12-2026"},
    },
    {
        "channel": "conflict_of_interest",
        "days_ago": 5,
        "what": "El jefe de compras es socio de una empresa que participa en la licitación de "
        "mobiliario.",
        "red_flags": ["external_interest"],
        "answers": {"q1": "no"},
        "priority": (
            "urgent",
            "La licitación se falla la próxima semana: hay que actuar antes.",
        ),
    },
    {
        "channel": "other",
        "days_ago": 2,
        "what": "En el área de archivo se tiran expedientes sin acta de baja.",
        "red_flags": [],
        "answers": {"q1": "no"},
    },
    {
        "channel": "medicines_misuse",
        "closed_months_ago": 23,
        "outcome": "unsubstantiated",
        "what": "Faltan cajas de insulina en la farmacia del hospital regional.",
        "red_flags": ["physical_losses"],
        "answers": {"q1": "no"},
    },
    {
        "channel": "procurement_fraud",
        "closed_months_ago": 23,
        "outcome": "unsubstantiated",
        "what": "Un proveedor de limpieza cobra servicios que no se prestaron.",
        "red_flags": ["vague_descriptions", "missing_records"],
        "answers": {"q1": "yes", "q2": "1"},
        "hold": (
            "legal_hold",
            400,
            "El Órgano Interno de Control pidió conservar el expediente por una auditoría.",
        ),
    },
]


def _demo_case(session: Session, settings: Settings, investigator: User, private: bytes, case):
    from backend import clock
    from whistleblowing import deadlines

    today = clock.today(settings)
    channel = session.exec(select(ReportChannel).where(ReportChannel.code == case["channel"]))
    channel = channel.first()
    if channel is None:
        return
    months = case.get("closed_months_ago")
    filed_on = (
        deadlines.add_months(today, -int(months)) - timedelta(days=60)
        if months
        else today - timedelta(days=int(case["days_ago"]))
    )
    submission = reporting.Submission(
        channel_id=channel.id,
        what=str(case["what"]),
        red_flags=list(case["red_flags"]),
        answers=dict(case["answers"]),
        good_faith=True,
        form_token=reporting.new_form_token(),
    )
    result = reporting.submit_report(session, settings, submission=submission, today=filed_on)
    session.flush()
    access = reporting.open_case(
        session,
        user=investigator,
        holder_private=private,
        reference=result.report.reference,
        audit_read=False,
    )
    if "priority" in case:
        level, reason = case["priority"]
        reporting.override_priority(
            session, access=access, actor=investigator, level=level, reason=reason, today=today
        )
    if months:
        closed_on = deadlines.add_months(today, -int(months))
        reporting.acknowledge(
            session, settings, access=access, actor=investigator, text="Recibido.", today=filed_on
        )
        for status in ("triage", "investigating"):
            reporting.change_status(
                session, settings, access=access, actor=investigator, status=status, today=filed_on
            )
        reporting.change_status(
            session,
            settings,
            access=access,
            actor=investigator,
            status="closed",
            outcome=str(case["outcome"]),
            reason="No se encontraron pruebas suficientes.",
            feedback="Revisamos su denuncia y cerramos el caso.",
            today=closed_on,
        )
    if "hold" in case:
        kind, days, reason = case["hold"]
        reporting.place_hold(
            session,
            settings,
            access=access,
            actor=investigator,
            kind=kind,
            until=today + timedelta(days=days),
            reason=reason,
            today=today,
        )


def triage_cases(engine, settings: Settings) -> str | None:
    """On a development `merito up` (after the recovery key exists), file the demo's cases
    once, so the inbox has priorities to sort, one set by hand, and cases due for deletion,
    one under a legal hold (idempotent: nothing is filed when any report exists)."""
    from backend import demo

    if settings.environment == "production":
        return None
    with Session(engine) as session:
        investigator = _by_email(session, demo.demo_email(LEAD))
        if (
            investigator is None
            or not reporting.recovery_ready(session)
            or session.exec(select(Report.id)).first() is not None
        ):
            return None
        private = reporting.unlock_holder_key(
            session, settings, user=investigator, password=demo.demo_password(LEAD)
        )
        for case in DEMO_CASES:
            _demo_case(session, settings, investigator, private, case)
        session.commit()
    return f"Demo reporting cases filed: {len(DEMO_CASES)}"


# --- the case file: an authority cases can be referred to (docs/reporting.md) -----------------

DEMO_REFERRAL_AUTHORITY = "Fiscalía Especializada en Combate a la Corrupción (demostración)"
# Where the demo writes that authority's private key, so a visitor can open what they refer
# (`merito decrypt-referral FILE --key var/demo-authority.key`). A real authority keeps its own.
DEMO_AUTHORITY_KEY_FILE = "demo-authority.key"


def referral_authority(
    session: Session, settings: Settings, accounts: Sequence[DemoAccount]
) -> None:
    """Register one authority for referrals, with a key pair made now, unless one is
    registered already; its private key goes to the data folder (the caller commits)."""
    import os

    from backend import clock, demo

    admin = _by_email(session, demo.demo_email("admin"))
    if admin is None or reporting.authorities(session):
        return
    recipient, secret = reporting.new_authority_key()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = settings.data_dir / DEMO_AUTHORITY_KEY_FILE
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(f"# demo authority, public key: {recipient}\n{secret}\n")
    reporting.register_authority(
        session,
        actor=admin,
        name=DEMO_REFERRAL_AUTHORITY,
        recipient=recipient,
        today=clock.today(settings),
    )
