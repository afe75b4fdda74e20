"""The dependency audit's decisions (scripts/audit_dependencies.py), on pip-audit's own reports.

The reports in pip_audit_reports/ are shaped as pip-audit 2.x writes them with `--format json`;
osv_unreachable.stderr is what it printed on a network where the OSV service's name does not
resolve. No test here needs the network.
"""

from __future__ import annotations

import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from scripts import audit_dependencies as audit

REPORTS = Path(__file__).parent / "pip_audit_reports"
TODAY = date(2026, 11, 26)
JINJA_SANDBOX = r'''
[[allow]]
id = "CVE-2024-56201"
package = "Jinja2"
reason = """Templates come only from frontend/templates in the package; no user writes a \
template or names a template file, so the sandbox breakout cannot be reached."""
review_by = 2027-01-31
'''


def report(name: str) -> audit.AuditResult:
    return audit.parse_pip_audit((REPORTS / name).read_text())


def verdict(name: str, allowlist: str = "", *, own=("merito",)) -> audit.Verdict:
    return audit.decide(report(name), audit.parse_allowlist(allowlist), today=TODAY, own=set(own))


def test_a_report_without_findings_is_audited_and_clean():
    result = verdict("clean.json")
    assert result.status == audit.Status.AUDITED == 0
    assert "3 of 3 installed packages audited" in result.text
    assert "No known vulnerabilities." in result.text


def test_a_vulnerability_nobody_explained_fails():
    result = verdict("vulnerable.json")
    assert result.status == audit.Status.UNEXPLAINED == 1
    assert "jinja2 3.1.4: GHSA-q2x7-8rv6-6q7h (CVE-2024-56201); fixed in 3.1.5" in result.text
    assert "RESULT: FAILED" in result.text


def test_a_vulnerability_explained_in_the_allowlist_passes_with_its_reason_printed():
    result = verdict("vulnerable.json", JINJA_SANDBOX)
    assert result.status == audit.Status.AUDITED
    # Matched through an alias, and a package name spelt differently.
    assert "Accepted findings (1)" in result.text
    assert "no user writes a template" in result.text and "review by 2027-01-31" in result.text


def test_an_explanation_past_its_review_date_fails_again():
    stale = JINJA_SANDBOX.replace("2027-01-31", "2026-11-25")
    result = verdict("vulnerable.json", stale)
    assert result.status == audit.Status.UNEXPLAINED
    assert "PAST THEIR REVIEW DATE" in result.text


def test_an_explanation_for_another_package_explains_nothing():
    other = JINJA_SANDBOX.replace('package = "Jinja2"', 'package = "markupsafe"')
    assert verdict("vulnerable.json", other).status == audit.Status.UNEXPLAINED


def test_packages_the_service_could_not_find_are_not_audited_which_is_not_clean():
    result = verdict("not_found_on_pypi.json")
    assert result.status == audit.Status.NOT_AUDITED == 3
    assert "NOT AUDITED: 4 package(s) were not checked" in result.text
    assert "Why: Dependency not found on PyPI and could not be audited (4)" in result.text
    assert "alembic 1.13.2, fastapi 0.115.6, jinja2 3.1.6, zxcvbn 4.5.0" in result.text
    assert "audited no package at all" in result.text
    assert "No known vulnerabilities" not in result.text
    assert "NOT a clean result" in result.text


def test_an_unexplained_vulnerability_fails_even_when_other_packages_were_not_audited():
    result = verdict("partly_audited.json")
    assert result.status == audit.Status.UNEXPLAINED
    assert "zxcvbn 4.5.0" in result.text  # still said


def test_an_explained_finding_with_other_packages_unaudited_is_not_audited():
    result = verdict("partly_audited.json", JINJA_SANDBOX)
    assert result.status == audit.Status.NOT_AUDITED


def test_the_project_itself_is_not_a_package_to_audit():
    # Installed editable, it is skipped by pip-audit; only this project may be.
    assert verdict("clean.json", own=()).status == audit.Status.NOT_AUDITED
    assert verdict("clean.json", own=("merito",)).status == audit.Status.AUDITED


def test_allowlist_entries_that_match_nothing_are_pointed_out_once_everything_was_audited():
    assert "no longer match a finding" in verdict("clean.json", JINJA_SANDBOX).text
    # When packages went unaudited nobody can tell whether an entry is still needed.
    assert "no longer match" not in verdict("not_found_on_pypi.json", JINJA_SANDBOX).text


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        (JINJA_SANDBOX.replace("reason =", "explanation ="), "missing reason"),
        (
            JINJA_SANDBOX.split("reason =")[0]
            + 'reason = "false positive"\nreview_by = 2027-01-31',
            "must explain",
        ),
        (JINJA_SANDBOX.replace("2027-01-31", '"next spring"'), "must be a date"),
        (JINJA_SANDBOX + JINJA_SANDBOX, "listed twice"),
        ("[allow]\nid = 1", "not a table"),
    ],
)
def test_an_allowlist_entry_without_its_explanation_is_refused(entry, problem):
    with pytest.raises(audit.AllowlistError, match=problem):
        audit.parse_allowlist(entry)


def test_an_explanation_may_not_put_off_its_review_for_more_than_90_days():
    assert audit.parse_allowlist(JINJA_SANDBOX, today=date(2026, 11, 2))
    with pytest.raises(audit.AllowlistError, match="more than 90 days ahead"):
        audit.parse_allowlist(JINJA_SANDBOX, today=date(2026, 11, 1))


def test_the_shipped_allowlist_is_valid():
    audit.parse_allowlist(audit.DEFAULT_ALLOWLIST.read_text(), today=date.today())


def _fake_pip_audit(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_an_unreachable_service_is_recognised_from_pip_audits_error_output():
    stderr = (REPORTS / "osv_unreachable.stderr").read_text()
    line = audit.network_failure(stderr)
    assert line is not None and "NameResolutionError" in line
    fake = _fake_pip_audit(f"import sys; sys.stderr.write({stderr!r}); sys.exit(1)")
    result, problem = audit.run_audit(service="osv", timeout=60, command=fake)
    assert problem == ""
    assert not result.audited and result.not_audited
    assert all("could not be reached" in why for why in result.not_audited.values())
    decided = audit.decide(result, [], today=TODAY, own={"merito"}, service="osv")
    assert decided.status == audit.Status.NOT_AUDITED
    assert "the OSV vulnerability service could not be reached" in decided.text


def test_a_pip_audit_that_does_not_finish_in_time_is_not_audited():
    result, problem = audit.run_audit(
        service="pypi", timeout=0.5, command=_fake_pip_audit("import time; time.sleep(30)")
    )
    assert problem == "" and result.not_audited
    assert all("did not finish within 0.5 s" in why for why in result.not_audited.values())


def test_pip_audit_failing_for_another_reason_could_not_run():
    result, problem = audit.run_audit(
        service="pypi",
        timeout=60,
        command=_fake_pip_audit("import sys; sys.stderr.write('KeyError: name'); sys.exit(1)"),
    )
    assert result is None and "KeyError: name" in problem


def test_the_command_line_fails_on_an_unexplained_finding_and_records_it(tmp_path, monkeypatch):
    vulnerable = REPORTS / "vulnerable.json"
    monkeypatch.setattr(
        audit,
        "pip_audit_command",
        lambda service, output: _fake_pip_audit(
            f"import shutil; shutil.copy({str(vulnerable)!r}, {str(output)!r})"
        ),
    )
    record = tmp_path / "artifacts" / "dependency-audit.txt"
    allowlist = tmp_path / "allow.toml"
    allowlist.write_text("")
    assert audit.main(["--allowlist", str(allowlist), "--record", str(record)]) == 1
    assert "GHSA-q2x7-8rv6-6q7h" in record.read_text()
    assert record.read_text().endswith("status: UNEXPLAINED (1)\n")

    # The command line reviews against the real date.
    due = (date.today() + timedelta(days=30)).isoformat()
    allowlist.write_text(JINJA_SANDBOX.replace("2027-01-31", due))
    assert audit.main(["--allowlist", str(allowlist), "--record", str(record)]) == 0


def test_a_malformed_allowlist_stops_the_audit(tmp_path):
    allowlist = tmp_path / "allow.toml"
    allowlist.write_text('[[allow]]\nid = "GHSA-1"\npackage = "jinja2"\n')
    assert audit.main(["--allowlist", str(allowlist)]) == audit.Status.COULD_NOT_RUN
