"""A knowledge-test answer refused by the field it is about (issue #19, the form fuzz).

The answer is posted by htmx as each option is chosen; a refused one named no field ("Choose one
of the options." on the error page), and a digit `int()` cannot read ("²", which `str.isdigit`
takes) was a server error.
"""

from __future__ import annotations

import pytest

from assessments.vacancies import service
from tests.integration.test_form_fuzz import named_fields
from tests.vacancies import helpers
from tests.vacancies.test_routes import _candidates, sign_in


@pytest.mark.parametrize("htmx", [False, True])
def test_a_refused_answer_names_its_field_and_saves_nothing(
    client, session, settings, published, org, fake_clock, htmx
):
    comp = published
    _a, x, _y = _candidates(session, settings, comp, org)
    helpers.close_window(session, settings, fake_clock, comp.vacancy)
    service.open_test(session, settings, vacancy=comp.vacancy, actor=comp.hr)
    session.commit()
    application = comp.candidates["x"][1]
    csrf = sign_in(client, x.email, helpers.TEST_PASSWORD + "x")
    client.post(f"/applications/{application.id}/test/start", data={"csrf_token": csrf})
    attempt = service.attempt_of(session, application)
    first = attempt.question_ids[0]
    cases = [
        ({"question_id": first, "chosen": "\u00b2"}, "chosen"),
        ({"question_id": first, "chosen": "99"}, "chosen"),
        ({"question_id": "\u00b2", "chosen": "0"}, "question_id"),
        ({"question_id": str(2**63), "chosen": "0"}, "question_id"),
        ({"question_id": "999999", "chosen": "0"}, "question_id"),
    ]
    for data, field in cases:
        response = client.post(
            f"/applications/{application.id}/test/answer",
            data={**data, "csrf_token": csrf},
            headers={"HX-Request": "true"} if htmx else {},
        )
        assert response.status_code == 422, (data, response.text[:200])
        assert named_fields(response.text) == {field}, data
    session.expire_all()
    assert service.answers_of(session, attempt) == {}
