"""HR's question bank: knowledge domains and the multiple-choice questions tests are drawn from."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from sqlmodel import Session

from backend.actions import run_action
from backend.auth.permissions import Permission
from backend.db import SessionDep
from backend.deps import CurrentPrincipal, require
from backend.i18n import _
from backend.web import render, render_form_errors

from .. import service
from ..schemas import QuestionInput

router = APIRouter()
MANAGE = [require(Permission.manage_vacancies)]
PAGE = "/competitions/bank"


def _bank_context(session: Session):
    return {
        "domains": service.domains(session),
        "questions": service.bank(session),
        "competencies": service.competency_names(session),
        "counts": service.bank_counts(session),
        "errors": {},
        "values": {},
    }


@router.get("/competitions/bank", dependencies=MANAGE)
def bank(request: Request, session: SessionDep):
    return render(request, "vacancies/bank.html", _bank_context(session))


@router.post("/competitions/bank/domains", dependencies=MANAGE)
def add_domain(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    domain_code: Annotated[str, Form()] = "",
    domain_name_es: Annotated[str, Form()] = "",
    domain_name_en: Annotated[str, Form()] = "",
):
    code, name_es, name_en = domain_code, domain_name_es, domain_name_en
    return run_action(
        request,
        session,
        lambda: service.create_domain(
            session, code=code, name_es=name_es, name_en=name_en, actor=principal.user
        ),
        message=_("Knowledge domain added."),
        to=PAGE,
        on_error=lambda err: render_form_errors(
            request,
            "vacancies/bank.html",
            _bank_context(session),
            errors={f"domain_{k}": v for k, v in err.errors.items()},
            values={"code": code, "name_es": name_es, "name_en": name_en},
            status_code=err.status_code,
        ),
        refusals="all",
    )


@router.post("/competitions/bank/questions", dependencies=MANAGE)
async def add_question(request: Request, session: SessionDep, principal: CurrentPrincipal):
    data = QuestionInput.from_form(await request.form())
    return run_action(
        request,
        session,
        lambda: service.add_question(session, data=data, actor=principal.user),
        message=_("Question added to the bank."),
        to=PAGE,
        on_error=lambda err: render_form_errors(
            request,
            "vacancies/bank.html",
            _bank_context(session),
            errors=err.errors,
            values={**data.__dict__, "options": data.options},
            status_code=err.status_code,
        ),
        refusals="all",
    )


@router.post("/competitions/bank/questions/{question_id:int}/retire", dependencies=MANAGE)
def retire_question(
    request: Request, session: SessionDep, principal: CurrentPrincipal, question_id: int
):
    question = service.bank_question(session, question_id)
    return run_action(
        request,
        session,
        lambda: service.retire_question(session, question=question, actor=principal.user),
        message=_("The question will not be drawn in future tests."),
        to=PAGE,
    )
