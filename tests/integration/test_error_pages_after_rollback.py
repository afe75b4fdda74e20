"""A refusal after the route rolled back its writes is still a refusal, not a server error.

Routes roll back what they wrote before raising an HTTP error, and a rollback expires every row
the request's session holds — the signed-in account and its session row among them. The error
page, rendered after the request's database session has closed, must still know who is signed
in (their name, their CSRF token) instead of failing with a 500.
"""

from __future__ import annotations

from competency_framework import service
from tests.competency.helpers import principal_for, self_assess
from tests.conftest import login


def test_a_stale_validation_form_answers_409_with_the_error_page(client, session, org, make_user):
    officer = make_user("employee", employee=org.officer_a)
    supervisor = make_user("employee", employee=org.head)
    self_assess(session, org.officer_a, principal_for(session, officer), 2)
    csrf = login(client, supervisor.email)
    form = {"csrf_token": csrf}
    for entry in service.pending_self_entries(session, employee_id=org.officer_a.id).values():
        form |= {f"decision_{entry.id}": "agree", f"self_{entry.id}": str(entry.level)}
    url = f"/competencies/validation/{org.officer_a.id}"
    assert client.post(url, data=form, follow_redirects=False).status_code == 303

    # The same form again, as from a second tab: those entries are validated already.
    again = client.post(url, data=form, follow_redirects=False)

    assert again.status_code == 409
    assert "already validated or has been replaced" in again.text
    assert supervisor.full_name in again.text  # the page still knows who is signed in
    assert csrf in again.text
