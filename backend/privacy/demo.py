"""The privacy part of the demo: the three privacy notices (the employees' in two versions, so
an older one can be read), one pending ARCO request by the demo employee, one answered by the
demo candidate, and answered requests old enough for the retention dry run to list them.

Called by `backend.demo.accounts.create_demo_accounts` after the domains' hooks; idempotent.
Demo texts are Spanish and English data, not interface messages.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from backend import audit, clock, workdays
from backend.auth.models import User
from backend.privacy.models import ArcoRequest, ArcoStatus, NoticePurpose, PrivacyNotice
from backend.privacy.service.arco import deadline_for

# (purpose, version, title es, title en, body es, body en): demo data, not interface text.
_CONTROLLER_ES = (
    "El Instituto (responsable) trata sus datos personales conforme a la Ley General de "
    "Protección de Datos Personales en Posesión de Sujetos Obligados (LGPDPPSO)."
)
_CONTROLLER_EN = (
    "The Institute (the controller) processes your personal data under Mexico's General Law on "
    "the Protection of Personal Data Held by Public Bodies (LGPDPPSO)."
)
_ARCO_ES = (
    "Puede ejercer sus derechos de acceso, rectificación, cancelación y oposición (ARCO) desde "
    "«Mis datos y privacidad» en Mérito o ante la Unidad de Transparencia. Le responderemos en un "
    "plazo máximo de 20 días hábiles."
)
_ARCO_EN = (
    "You may exercise your rights of access, rectification, cancellation and opposition (ARCO) "
    "from 'My data and privacy' in Mérito or at the Transparency Unit. We answer within 20 "
    "working days at most."
)
NOTICES = [
    (
        NoticePurpose.employees,
        "Aviso de privacidad integral para personas servidoras públicas",
        "Comprehensive privacy notice for public servants",
        "Tratamos su nombre, número de empleado, puesto, evaluaciones de competencias y de "
        "desempeño y su capacitación para gestionar su desarrollo profesional.",
        "We process your name, employee number, position, competency and performance "
        "assessments and training to manage your professional development.",
    ),
    (
        NoticePurpose.employees,
        "Aviso de privacidad integral para personas servidoras públicas",
        "Comprehensive privacy notice for public servants",
        "Tratamos su nombre, número de empleado, puesto, evaluaciones de competencias y de "
        "desempeño, su capacitación y sus postulaciones a concursos internos para gestionar su "
        "desarrollo profesional y los concursos de mérito.\n\nLas evaluaciones de desempeño se "
        "conservan cinco años después del fin de su periodo y los registros de capacitación cinco "
        "años después de concluir.",
        "We process your name, employee number, position, competency and performance "
        "assessments, training and internal applications to manage your professional "
        "development and merit competitions.\n\nAppraisals are kept five years after their "
        "period ends and training records five years after they finish.",
    ),
    (
        NoticePurpose.candidates,
        "Aviso de privacidad integral para personas aspirantes",
        "Comprehensive privacy notice for candidates",
        "Tratamos su nombre, correo electrónico, respuestas de elegibilidad, evidencias y "
        "resultados de evaluación para conducir el concurso de mérito.\n\nSi no resulta "
        "seleccionada, sus datos se anonimizan dos años después de concluir el concurso y su "
        "lista de reserva.",
        "We process your name, email, eligibility answers, evidence and assessment results to "
        "run the merit competition.\n\nIf you are not selected, your data is anonymised two years "
        "after the competition and its reserve list end.",
    ),
    (
        NoticePurpose.reporters,
        "Aviso de privacidad del canal de denuncias",
        "Privacy notice of the reporting channel",
        "El Instituto trata los datos de este canal conforme a la LGPDPPSO. No te pedimos tu "
        "nombre. Si decides darlo, se guarda cifrado y solo se revela a quien investiga con "
        "autorización de la persona oficial de protección. Tu denuncia nunca forma parte de una "
        "exportación de datos personales. Los casos cerrados se eliminan al vencer su plazo de "
        "conservación.",
        "The Institute processes this channel's data under the LGPDPPSO. We do not ask for your "
        "name. If you give it, it is kept encrypted and revealed to an investigator only with the "
        "protection officer's approval. Your report is never part of a personal data export. "
        "Closed cases are deleted when their retention period ends.",
    ),
]


def prepare(session: Session, settings, accounts) -> None:
    """Publish the demo notices and file the demo ARCO requests (once)."""
    if session.exec(select(PrivacyNotice)).first() is not None:
        return
    now = clock.now()
    versions: dict[str, int] = {}
    for number, (purpose, title_es, title_en, body_es, body_en) in enumerate(NOTICES):
        versions[purpose] = versions.get(purpose, 0) + 1
        # The reporting channel speaks to reporters as "tú", as its pages do.
        reporters = purpose is NoticePurpose.reporters
        session.add(
            PrivacyNotice(
                purpose=purpose,
                version=versions[purpose],
                title_es=title_es,
                title_en=title_en,
                body_es=body_es if reporters else f"{_CONTROLLER_ES}\n\n{body_es}\n\n{_ARCO_ES}",
                body_en=body_en if reporters else f"{_CONTROLLER_EN}\n\n{body_en}\n\n{_ARCO_EN}",
                published_at=now - timedelta(days=400 - 60 * number),
            )
        )
    by_role = {a.role: a for a in accounts}
    today = clock.today(settings)

    def user_of(role: str) -> User | None:
        account = by_role.get(role)
        return (
            session.exec(select(User).where(User.email == account.email)).first()
            if account
            else None
        )

    employee, candidate, hr = user_of("employee"), user_of("candidate"), user_of("hr_planner")
    if employee is not None:
        filed = _working_days_before(today, 6)
        pending = ArcoRequest(
            user_id=employee.id,
            kind="rectification",
            subject="Mi segundo apellido en mi cuenta",
            details="Mi segundo apellido está mal escrito en mi cuenta y en mi expediente.",
            filed_on=filed,
            due_on=deadline_for(filed),
        )
        session.add(pending)
        session.flush()
        audit.record(
            session,
            action="privacy.arco_filed",
            actor=employee,
            entity_type="arco_request",
            entity_id=pending.id,
            after={"kind": pending.kind, "due_on": pending.due_on},
        )
    if candidate is not None:
        for years, subject in ((6, "Mis datos de una postulación de 2020"), (0, "Mis datos")):
            filed = _working_days_before(today - timedelta(days=365 * years), 15)
            session.add(
                ArcoRequest(
                    user_id=candidate.id,
                    kind="access",
                    subject=subject,
                    filed_on=filed,
                    due_on=deadline_for(filed),
                    status=ArcoStatus.answered,
                    decision="granted",
                    answer="Puede descargar todos sus datos desde «Mis datos y privacidad».",
                    answered_at=clock.now() - timedelta(days=365 * years + 10),
                    answered_by_id=hr.id if hr else None,
                )
            )


def _working_days_before(day, count: int):
    found = 0
    while found < count:
        day -= timedelta(days=1)
        if workdays.is_working_day(day):
            found += 1
    return day
