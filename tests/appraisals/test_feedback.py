"""360° and upward feedback: the ≥ 5 rule, no differencing, one answer per rater, who reads what."""

from __future__ import annotations

from itertools import combinations

import pytest
from sqlalchemy import inspect
from sqlmodel import func, select

from assessments.appraisals import service
from assessments.appraisals.models import FeedbackAnswer, FeedbackInvitation
from backend.errors import DomainError
from tests.appraisals.feedback_helpers import ITEMS, answer, person, row_of, world_fixture  # noqa: F401


def _view(session, world, actor=None):
    return service.feedback_results(
        session, appraisal=world.head_appraisal, actor=actor or world.head
    )


def test_opening_a_round_asks_each_appraisee_and_everyone_reporting_to_them(session, world):
    asked = session.exec(
        select(FeedbackInvitation.relation, func.count())
        .where(FeedbackInvitation.appraisal_id == world.head_appraisal.id)
        .group_by(FeedbackInvitation.relation)
    ).all()
    assert dict(asked) == {"self": 1, "report": 8, "peer": 3}
    assert service.pending_count(session, employee_id=world.raters[0].user.employee_id) == 2


def test_four_answers_show_nothing_and_five_show_the_pooled_view(session, world):
    for rater in world.raters[:4]:
        answer(session, world, rater)
    view = _view(session, world)
    assert (view.answered, view.shown, view.items, view.comments) == (4, 0, [], [])
    answer(session, world, world.raters[4], ratings=(2, 5), comment="Decides late")
    view = _view(session, world)
    assert view.shown == 5
    integrity = view.items[0]
    assert (integrity.count, integrity.mean) == (5, 3.6)
    assert integrity.distribution == {1: 0, 2: 1, 3: 0, 4: 4, 5: 0}
    assert sorted(view.comments) == ["Decides late"] + ["Listens to the team"] * 4
    # The supervisor sees exactly the same pooled view: there is no second grouping.
    assert _view(session, world, world.director).items == view.items


def test_the_smallest_group_cannot_be_recovered_by_differencing_two_views(session, world):
    """Collect every view the appraisee and the supervisor can see after each answer (peers
    and reports mixed), then try every pair: no difference isolates fewer than 5 answers."""
    views = []
    for n, rater in enumerate(world.raters):  # 11 answers: 8 reports, 3 peers
        answer(session, world, rater, ratings=(1 + n % 5, 5 - n % 5), comment=f"c{n}")
        for actor in (world.head, world.director):
            view = _view(session, world, actor)
            views.append(
                (view.shown, tuple(tuple(i.distribution.values()) for i in view.items), view)
            )
    assert {shown for shown, _d, _v in views} == {0, 5, 10}
    for (shown_a, dist_a, view_a), (shown_b, dist_b, view_b) in combinations(views, 2):
        difference = abs(shown_a - shown_b)
        assert difference == 0 or difference >= service.FEEDBACK_MIN_ANSWERS
        if difference == 0:
            assert dist_a == dist_b
            assert sorted(view_a.comments) == sorted(view_b.comments)
    # The round closes with one answer unreleased: it is never shown.
    service.close_feedback_round(session, cycle=world.cycle, actor=world.hr)
    session.commit()
    assert _view(session, world).shown == 10


def test_the_appraisees_own_feedback_is_shown_apart_and_not_counted(session, world):
    answer(session, world, world.head, ratings=(5, 5), comment="I do my best")
    for rater in world.raters[:4]:
        answer(session, world, rater)
    view = _view(session, world)
    assert view.own == dict(zip(ITEMS, [5, 5], strict=True))
    assert view.own_comment == "I do my best"
    assert (view.answered, view.shown) == (4, 0)


def test_a_rater_cannot_answer_twice(session, world):
    rater = world.raters[0]
    answer(session, world, rater)
    with pytest.raises(DomainError) as refused:
        answer(session, world, rater)
    assert refused.value.status_code == 409
    session.rollback()
    assert session.exec(select(func.count()).select_from(FeedbackAnswer)).one() == 1


def test_answers_name_no_rater_and_no_time(session, world):
    columns = {c["name"] for c in inspect(session.get_bind()).get_columns("feedback_answer")}
    assert columns == {"id", "round_id", "appraisal_id", "own", "batch", "ratings", "comment"}
    invitation = {c["name"] for c in inspect(session.get_bind()).get_columns("feedback_invitation")}
    assert "answer_id" not in invitation and not any(n.endswith("_at") for n in invitation)


def test_bad_ratings_are_refused_and_nothing_is_recorded(session, world):
    row = row_of(session, world, world.raters[0])
    with pytest.raises(DomainError) as refused:
        service.answer_feedback(
            session, row=row, ratings={ITEMS[0]: "7"}, comment="", actor=world.raters[0]
        )
    assert set(refused.value.errors) == {f"item_{ITEMS[0]}", f"item_{ITEMS[1]}"}
    session.rollback()
    assert not session.get(FeedbackInvitation, row.invitation.id).answered


def test_only_the_appraisee_and_their_supervisor_read_the_results(session, world):
    for actor in (world.raters[0], world.hr, world.outsider):
        with pytest.raises(DomainError) as refused:
            _view(session, world, actor)
        assert refused.value.status_code in (403, 404)
    # Nobody opens someone else's request for feedback.
    mine = row_of(session, world, world.raters[0]).invitation
    for actor in (world.raters[1], world.head, world.hr):
        with pytest.raises(DomainError) as refused:
            service.get_invitation(session, invitation_id=mine.id, actor=actor)
        assert refused.value.status_code == 404


def test_peers_are_chosen_by_the_appraisee_the_supervisor_or_hr_only(session, world, org):
    extra = person(session, org, "P9", None)
    session.commit()
    refusal = service.peer_refusal(session, appraisal=world.head_appraisal, actor=world.raters[0])
    assert refusal is not None and refusal[1] == 403
    for actor in (world.director, world.hr):
        assert service.peer_refusal(session, appraisal=world.head_appraisal, actor=actor) is None
    with pytest.raises(DomainError):
        service.invite_peer(
            session, appraisal=world.head_appraisal, peer_id=str(org.outsider.id), actor=world.hr
        )
    service.invite_peer(
        session, appraisal=world.head_appraisal, peer_id=str(extra.id), actor=world.hr
    )
    session.commit()
    assert extra.id not in {
        e.id for e in service.peer_choices(session, appraisal=world.head_appraisal)
    }
