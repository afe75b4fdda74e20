"""The cheap reads behind the board, "My applications" and the account hold give the answers
of the ORM reads they replace."""

from __future__ import annotations

from datetime import timedelta

from assessments.vacancies import service
from tests.conftest import TEST_PASSWORD
from tests.vacancies import helpers


def _board_as_before(session) -> list[tuple]:
    return [
        (
            v.id,
            v.title,
            v.reference,
            v.status,
            v.closes_at,
            unit.name if (unit := service.hiring_unit(session, v)) else None,
        )
        for v in service.public_vacancies(session)
    ]


def test_the_board_rows_are_the_public_vacancies_in_their_order(
    session, settings, fake_clock, org, published
):
    fake_clock.advance(days=1)
    later = helpers.draft(session, settings, published.hr, org.officer_position)
    helpers.publish(session, settings, published.hr, published.approver, later)
    helpers.draft(session, settings, published.hr, org.officer_position)  # not on the board
    fake_clock.moment = published.vacancy.closes_at + timedelta(seconds=1)
    session.commit()
    assert service.window_open(later) and not service.window_open(published.vacancy)
    for _ in range(2):  # the older vacancy closed and the newer open, then both closed
        rows = service.board_rows(session)
        assert [tuple(r) for r in rows] == _board_as_before(session)
        assert len(rows) == 2 and all(r.unit_name for r in rows)
        fake_clock.moment = later.closes_at + timedelta(seconds=1)


def test_recent_applications_are_the_first_of_my_applications(session, settings, org, published):
    user = helpers.external_candidate(session, settings)
    vacancies = [published.vacancy]
    for _ in range(2):
        vacancy = helpers.draft(session, settings, published.hr, org.officer_position)
        vacancies.append(
            helpers.publish(session, settings, published.hr, published.approver, vacancy)
        )
    for vacancy in vacancies:
        helpers.apply(session, settings, vacancy, user)
    expected = [
        (a.id, a.status, v.title, v.status) for a, v in service.my_applications(session, user)
    ]
    assert len(expected) == 3
    for limit in (2, 6):
        rows = service.recent_applications(session, user, limit)
        assert [(r.id, r.status, r.title, r.vacancy_status) for r in rows] == expected[:limit]
    assert service.recent_applications(session, published.hr, 6) == []


def test_awaiting_confirmation_follows_the_account_within_a_transaction(session, settings, org):
    registration = service.register(
        session,
        settings,
        email="new@mail.example",
        first_name="Ivan",
        last_names="Castro",
        password=TEST_PASSWORD + "x",
        locale="en",
    )
    user = registration.user
    assert service.awaiting_confirmation(session, user)  # before the commit: autoflushed
    session.commit()
    assert service.awaiting_confirmation(session, user) and not service.may_apply(session, user)
    # Asked again in the same transaction after confirming: the remembered answer is not kept.
    service.verify(session, token=registration.token)
    assert not service.awaiting_confirmation(session, user) and service.may_apply(session, user)
    session.commit()
    assert not service.awaiting_confirmation(session, user)
    staff = helpers.staff_user(session, settings, "hr_planner")
    employee = helpers.staff_user(session, settings, "employee", employee=org.head)
    assert not service.awaiting_confirmation(session, staff)
    assert not service.awaiting_confirmation(session, employee)
