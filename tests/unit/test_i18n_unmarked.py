"""The catalogue check finds user-facing strings nobody marked for translation (the SLA board's
titles reached the Spanish page in English), without flagging what is not a message."""

from __future__ import annotations

import sys
import textwrap

import pytest

from backend import i18n_tool

SCRATCH = textwrap.dedent(
    '''
    """A scratch module. Docstrings are not messages, Even When They Look Like One."""

    from dataclasses import dataclass

    from backend.i18n import N_, _

    TITLES = {
        "late": "Acknowledgement overdue",
        "soon": N_("Feedback due within 14 days"),
    }
    CHOICES = [("a", "A message from the reporter waits for an answer"), ("b", N_("Marked"))]
    RESPONSES = {404: {"description": "No such record"}}  # OpenAPI documentation
    CODES = {"ack_overdue": "ack_due_on"}  # identifiers, not sentences


    @dataclass
    class Section:
        key: str
        title: str


    def sections():
        log_line = "Started the deadline job"  # a local, never shown
        print("Done in a while")
        return [Section("open", "Open cases nobody handles"), Section("x", _("Handled fine"))]


    def heading():
        return "Cases without a handler"


    def button(render):
        return render(label="Send the reply", name="send_reply")


    def fail():
        raise RuntimeError("The demo is never loaded in production.")
    '''
)


def test_unmarked_strings_are_found_in_a_scratch_module():
    found = i18n_tool.unmarked_in_source(SCRATCH, "scratch.py")
    texts = {line.split(": ", 2)[2] for line in found}
    assert texts == {
        "'Acknowledgement overdue'",
        "'A message from the reporter waits for an answer'",
        "'Open cases nobody handles'",
        "'Cases without a handler'",
        "'Send the reply'",
    }
    assert any(line.startswith("scratch.py:9: table:") for line in found)


def test_the_check_fails_on_a_package_with_an_unmarked_string(tmp_path, monkeypatch, capsys):
    package = tmp_path / "scratch_domain"
    (package / "locale").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "board.py").write_text(SCRATCH)
    for locale in ("es", "en"):
        (package / "locale" / f"{locale}.po").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(i18n_tool, "ROOT", tmp_path)
    monkeypatch.setitem(i18n_tool.CATALOGUE_SOURCES, "scratch_domain", [])
    try:
        assert len(i18n_tool.unmarked("scratch_domain")) == 5
        assert i18n_tool.main(["i18n_tool", "check", "scratch_domain"]) == 1
        assert "scratch_domain/board.py:9: table: 'Acknowledgement overdue'" in (
            capsys.readouterr().out
        )
    finally:
        sys.modules.pop("scratch_domain", None)


@pytest.mark.parametrize("package", list(i18n_tool.CATALOGUE_SOURCES))
def test_no_user_facing_string_is_left_unmarked(package):
    assert i18n_tool.unmarked(package) == []
