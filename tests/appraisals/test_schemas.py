"""The appraisal forms parsed at the edge: typed values for the service, the text for the form."""

from datetime import date

from starlette.datastructures import FormData as MultiDict

from assessments.appraisals.schemas import (
    AssessmentForm,
    DialogueForm,
    ObjectivesForm,
    PriorityForm,
    ProgressForm,
    TrainingForm,
    UnitObjectiveForm,
)


def test_ids_numbers_and_days_are_typed_or_none_never_an_error():
    unit = UnitObjectiveForm(unit_id="12", priority_id="9" * 12, title="T", target="M", year="x")
    assert unit.arguments() == {"unit_id": 12, "priority_id": None, "title": "T", "target": "M"}
    assert unit.values()["priority_id"] == "9" * 12  # what was typed is shown again
    assert PriorityForm(year=" 2027 ").arguments()["year"] == 2027
    assert PriorityForm(year="²⁰²⁷").arguments()["year"] is None
    assert ProgressForm(objective_id="-3", percent="40").arguments() == {
        "objective_id": None,
        "percent": 40,
        "note": "",
    }
    training = TrainingForm(employee_id="7", completed_on="2026-02-01", evidence="Cert")
    assert training.arguments()["completed_on"] == date(2026, 2, 1)
    assert TrainingForm(completed_on="01/02/2026").arguments()["completed_on"] is None


def test_forms_with_numbered_rows_read_only_their_rows():
    form = MultiDict(
        [("rows", "2"), ("title_0", "A"), ("weight_0", "60"), ("link_0", "p:1"), ("team_1", "5")]
        + [("title_2", "beyond the rows")]
    )
    objectives = ObjectivesForm.from_form(form)
    assert [r.title for r in objectives.rows] == ["A", ""]
    assert objectives.rows[1].team_objective_id == 5
    assert objectives.values()["objective_rows"][0]["weight"] == "60"
    assert ObjectivesForm.from_form(MultiDict([("rows", "10**9")])).rows == []

    dialogue = DialogueForm.from_form(
        MultiDict([("rating", "3"), ("action_rows", "1"), ("action_0", "Course")])
    )
    assert dialogue.fields["rating"] == "3" and dialogue.actions[0].description == "Course"
    assert dialogue.values()["action_rows"][0]["description"] == "Course"

    assessment = AssessmentForm.from_form(
        MultiDict([("rating_4", "5"), ("comment_4", "Good"), ("action", "submit")]), [4]
    )
    assert assessment.submit and assessment.scores[0].rating == "5"
    assert assessment.values()["comment_4"] == "Good"
