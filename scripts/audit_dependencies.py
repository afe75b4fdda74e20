#!/usr/bin/env python3
"""Audit the installed Python packages for known vulnerabilities, with pip-audit.

    python scripts/audit_dependencies.py [--allowlist FILE] [--service pypi|osv]
                                         [--timeout SECONDS] [--record FILE]

Runs pip-audit on the environment of the Python that runs this script (JSON output, under a
time limit), then decides:

exit 0  AUDITED: every installed package was checked, and every vulnerability found is
        explained in the allowlist by an entry whose review date has not passed.
exit 1  UNEXPLAINED: a vulnerability the allowlist does not explain, or whose explanation is
        past its review date. CI fails.
exit 2  COULD NOT RUN: pip-audit is missing, the allowlist is malformed, or pip-audit failed
        for a reason other than the network. CI fails.
exit 3  NOT AUDITED: the vulnerability service could not be reached, or could not audit some
        packages, and nothing unexplained was found among those it did audit. This is not a
        clean result: it says which packages were not audited and why. CI records it and goes
        on (.ci/run); an operator runs the audit where the service is reachable.

The allowlist (security/audit-allowlist.toml) holds one [[allow]] table per accepted finding:
id (the advisory, or any of its aliases), package, reason, review_by (a date). See
docs/security.md, "Dependency audit".
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import textwrap
import tomllib
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import IntEnum
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ALLOWLIST = ROOT / "security" / "audit-allowlist.toml"
DEFAULT_TIMEOUT = 300  # seconds for the whole pip-audit run
SOCKET_TIMEOUT = 15  # seconds for each request pip-audit makes
# An accepted finding is looked at again at least this often.
MAX_REVIEW_AHEAD = timedelta(days=90)
SERVICES = {"pypi": "the PyPI vulnerability service", "osv": "the OSV vulnerability service"}

# What pip-audit (through requests and urllib3) prints when the service cannot be reached.
NETWORK_FAILURES = (
    "ConnectionError",
    "NameResolutionError",
    "Failed to resolve",
    "Name or service not known",
    "Temporary failure in name resolution",
    "Max retries exceeded",
    "Connection refused",
    "Connection reset",
    "Network is unreachable",
    "timed out",
    "Timeout",
    "SSLError",
    "ProxyError",
    "ServiceError",
    "network may be blocking",
    "Could not connect",
    "is not redirecting properly",
)


class Status(IntEnum):
    AUDITED = 0
    UNEXPLAINED = 1
    COULD_NOT_RUN = 2
    NOT_AUDITED = 3


class AllowlistError(ValueError):
    """The allowlist cannot be used; the message lists every problem."""


@dataclass(frozen=True)
class Vulnerability:
    package: str
    version: str
    id: str
    aliases: tuple[str, ...] = ()
    fix_versions: tuple[str, ...] = ()
    description: str = ""

    @property
    def ids(self) -> set[str]:
        return {self.id, *self.aliases}

    def label(self) -> str:
        aliases = f" ({', '.join(self.aliases)})" if self.aliases else ""
        fixed = f"; fixed in {', '.join(self.fix_versions)}" if self.fix_versions else ""
        return f"{self.package} {self.version}: {self.id}{aliases}{fixed}"


@dataclass(frozen=True)
class AllowedFinding:
    id: str
    package: str
    reason: str
    review_by: date

    def matches(self, vulnerability: Vulnerability) -> bool:
        return (
            normalise(self.package) == normalise(vulnerability.package)
            and self.id in vulnerability.ids
        )


@dataclass
class AuditResult:
    """What the vulnerability service said about the installed packages."""

    audited: dict[str, str] = field(default_factory=dict)  # package -> version
    vulnerabilities: list[Vulnerability] = field(default_factory=list)
    not_audited: dict[str, str] = field(default_factory=dict)  # "package version" -> why


@dataclass
class Verdict:
    status: Status
    lines: list[str]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def normalise(name: str) -> str:
    """Return a package name as PyPI compares names (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


# --- reading ------------------------------------------------------------------------------------


def parse_allowlist(text: str, *, today: date | None = None) -> list[AllowedFinding]:
    """Return the allowlist's entries, or raise AllowlistError naming every problem.

    With `today`, a review date further ahead than MAX_REVIEW_AHEAD is a problem too.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise AllowlistError(f"the allowlist is not valid TOML: {err}") from err
    unknown = set(data) - {"allow"}
    problems = [f"unknown top-level key {key!r} (expected [[allow]] tables)" for key in unknown]
    entries: list[AllowedFinding] = []
    seen: set[tuple[str, str]] = set()
    for n, raw in enumerate(data.get("allow", []), start=1):
        where = f"entry {n}"
        if not isinstance(raw, dict):
            problems.append(f"{where}: not a table")
            continue
        missing = [k for k in ("id", "package", "reason", "review_by") if not raw.get(k)]
        if missing:
            problems.append(f"{where}: missing {', '.join(missing)}")
            continue
        extra = set(raw) - {"id", "package", "reason", "review_by"}
        if extra:
            problems.append(f"{where}: unknown keys {', '.join(sorted(extra))}")
        review_by = raw["review_by"]
        if isinstance(review_by, str):
            try:
                review_by = date.fromisoformat(review_by)
            except ValueError:
                problems.append(f"{where}: review_by must be a date (YYYY-MM-DD)")
                continue
        if not isinstance(review_by, date):
            problems.append(f"{where}: review_by must be a date (YYYY-MM-DD)")
            continue
        if today is not None and review_by > today + MAX_REVIEW_AHEAD:
            problems.append(f"{where}: review_by is more than {MAX_REVIEW_AHEAD.days} days ahead")
            continue
        reason = str(raw["reason"]).strip()
        if len(reason) < 20:
            problems.append(f"{where}: the reason must explain why the finding is accepted")
            continue
        key = (str(raw["id"]).strip(), normalise(str(raw["package"])))
        if key in seen:
            problems.append(f"{where}: {key[0]} for {key[1]} is listed twice")
            continue
        seen.add(key)
        entries.append(AllowedFinding(key[0], str(raw["package"]).strip(), reason, review_by))
    if problems:
        raise AllowlistError("; ".join(problems))
    return entries


_SKIPPED_PACKAGE = re.compile(r"^(?P<why>.*?):\s*(?P<name>[^\s:]+) \((?P<version>[^)]+)\)$")


def parse_pip_audit(text: str) -> AuditResult:
    """Return what pip-audit's JSON report says; raise ValueError if it is not one."""
    data = json.loads(text)
    if not isinstance(data, dict) or not isinstance(data.get("dependencies"), list):
        raise ValueError("not a pip-audit JSON report (no 'dependencies' list)")
    result = AuditResult()
    for dep in data["dependencies"]:
        name = dep["name"]
        if "skip_reason" in dep:
            reason = dep["skip_reason"]
            found = _SKIPPED_PACKAGE.match(reason)
            if found and normalise(found["name"]) == normalise(name):
                result.not_audited[f"{name} {found['version']}"] = found["why"]
            else:
                result.not_audited[name] = reason
            continue
        result.audited[name] = dep["version"]
        for vuln in dep.get("vulns", []):
            result.vulnerabilities.append(
                Vulnerability(
                    package=name,
                    version=dep["version"],
                    id=vuln["id"],
                    aliases=tuple(vuln.get("aliases", ())),
                    fix_versions=tuple(vuln.get("fix_versions", ())),
                    description=vuln.get("description", "") or "",
                )
            )
    return result


def network_failure(stderr: str) -> str | None:
    """Return the line of pip-audit's error output that says the service was unreachable."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in reversed(lines):
        if any(marker in line for marker in NETWORK_FAILURES):
            return line[:300]
    return None


def unaudited(installed: dict[str, str], why: str) -> AuditResult:
    """Return a result in which no installed package was audited, for `why`."""
    return AuditResult(
        not_audited={f"{name} {version}": why for name, version in installed.items()}
    )


# --- deciding -----------------------------------------------------------------------------------


def decide(
    result: AuditResult,
    allowlist: list[AllowedFinding],
    *,
    today: date,
    own: Collection[str] = (),
    service: str = "pypi",
) -> Verdict:
    """Return the verdict on an audit: its status and the summary to print."""
    # This project is not a published package: nothing to look up, and a package of the same
    # name on the index would be someone else's.
    own_names = {normalise(name) for name in own}
    not_audited = {
        package: why
        for package, why in result.not_audited.items()
        if normalise(package.split(" ")[0]) not in own_names
    }
    audited = {n: v for n, v in result.audited.items() if normalise(n) not in own_names}
    vulnerabilities = [v for v in result.vulnerabilities if normalise(v.package) not in own_names]
    unexplained: list[Vulnerability] = []
    expired: list[tuple[Vulnerability, AllowedFinding]] = []
    allowed: list[tuple[Vulnerability, AllowedFinding]] = []
    for vulnerability in vulnerabilities:
        entry = next((e for e in allowlist if e.matches(vulnerability)), None)
        if entry is None:
            unexplained.append(vulnerability)
        elif entry.review_by < today:
            expired.append((vulnerability, entry))
        else:
            allowed.append((vulnerability, entry))

    checked = len(audited)
    total = checked + len(not_audited)
    lines = [
        f"Dependency audit against {SERVICES.get(service, service)}: "
        f"{checked} of {total} installed packages audited"
        + (f" (not counted: {', '.join(sorted(own))}, this project)" if own else "")
        + "."
    ]
    if unexplained:
        lines.append(f"UNEXPLAINED VULNERABILITIES ({len(unexplained)}):")
        lines += [f"  {v.label()}" for v in unexplained]
        lines.append(
            "  Upgrade the package, or add an [[allow]] entry saying why the finding does not "
            "apply, to security/audit-allowlist.toml."
        )
    if expired:
        lines.append(f"EXPLANATIONS PAST THEIR REVIEW DATE ({len(expired)}):")
        lines += [
            f"  {v.label()} — reviewed by {e.review_by.isoformat()}, due again: {e.reason}"
            for v, e in expired
        ]
    if allowed:
        lines.append(f"Accepted findings ({len(allowed)}), each explained in the allowlist:")
        lines += [
            f"  {v.label()} — {e.reason} (review by {e.review_by.isoformat()})" for v, e in allowed
        ]
    if not_audited:
        lines.append(
            f"NOT AUDITED: {len(not_audited)} package(s) were not checked for vulnerabilities."
        )
        by_reason: dict[str, list[str]] = defaultdict(list)
        for package, why in sorted(not_audited.items()):
            by_reason[why].append(package)
        for why, packages in by_reason.items():
            lines.append(f"  Why: {why} ({len(packages)})")
            lines += textwrap.wrap(
                ", ".join(packages),
                width=98,
                initial_indent="    ",
                subsequent_indent="    ",
                break_on_hyphens=False,
                break_long_words=False,
            )
        if not checked and all(why.startswith("Dependency not found") for why in by_reason):
            lines.append(
                "  The service audited no package at all: 'not found' for every package means "
                "its vulnerability data is not reachable from this network (a package index "
                "mirror answers like that)."
            )
    if not vulnerabilities:
        if not not_audited:
            lines.append("No known vulnerabilities.")
        elif checked:
            lines.append(f"No vulnerability found among the {checked} package(s) audited.")
    matched = {id(e) for _v, e in allowed + expired}
    stale = [e for e in allowlist if id(e) not in matched]
    if stale and not not_audited:
        lines.append("Allowlist entries that no longer match a finding (remove them):")
        lines += [f"  {e.id} for {e.package}" for e in stale]

    if unexplained or expired:
        status = Status.UNEXPLAINED
        lines.append("RESULT: FAILED (exit 1): a vulnerability is not explained.")
    elif not_audited:
        status = Status.NOT_AUDITED
        lines.append(
            "RESULT: NOT AUDITED (exit 3). This is NOT a clean result: the packages above were "
            "not checked. Run `python scripts/audit_dependencies.py` where the vulnerability "
            'service is reachable (docs/security.md, "Dependency audit").'
        )
    else:
        status = Status.AUDITED
        lines.append("RESULT: AUDITED (exit 0): every package checked, every finding explained.")
    return Verdict(status, lines)


# --- running ------------------------------------------------------------------------------------


def installed_packages() -> dict[str, str]:
    """Return {name: version} of the distributions installed for this Python."""
    found: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            found.setdefault(normalise(name), dist.version)
    return found


def own_distribution() -> set[str]:
    """Return this project's distribution name (not a published package: nothing to audit)."""
    pyproject = ROOT / "pyproject.toml"
    if not pyproject.exists():
        return set()
    return {tomllib.loads(pyproject.read_text())["project"]["name"]}


def pip_audit_command(service: str, output: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pip_audit",
        "--format",
        "json",
        "--output",
        str(output),
        "--vulnerability-service",
        service,
        "--timeout",
        str(SOCKET_TIMEOUT),
        "--progress-spinner",
        "off",
        "--skip-editable",
        "--desc",
        "on",
        "--aliases",
        "on",
    ]


def run_audit(
    *, service: str, timeout: float, command: list[str] | None = None
) -> tuple[AuditResult | None, str]:
    """Run pip-audit; return (its result, or None if it could not run; what went wrong).

    A result whose packages were not audited (service unreachable, or it said nothing about
    them) is a result, not a failure: the caller reports those packages as not audited.
    """
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "pip-audit.json"
        argv = command or pip_audit_command(service, output)
        try:
            completed = subprocess.run(  # noqa: S603 - our own interpreter and arguments
                argv, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            return unaudited(
                installed_packages(), f"pip-audit did not finish within {timeout:g} s"
            ), ""
        report = output.read_text() if output.exists() else completed.stdout
    if report.strip():
        try:
            return parse_pip_audit(report), ""
        except (ValueError, KeyError, TypeError) as err:
            return None, f"pip-audit's report could not be read: {err}"
    if "No module named pip_audit" in completed.stderr:
        return None, "pip-audit is not installed: pip install -e '.[dev]'"
    unreachable = network_failure(completed.stderr)
    if unreachable is not None:
        return unaudited(
            installed_packages(),
            f"{SERVICES.get(service, service)} could not be reached ({unreachable})",
        ), ""
    tail = "\n".join(completed.stderr.strip().splitlines()[-5:])
    return None, f"pip-audit failed (exit {completed.returncode}):\n{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Audit the installed packages for known vulnerabilities (pip-audit).",
        epilog="Exit: 0 audited, 1 unexplained vulnerability, 2 could not run, 3 not audited.",
    )
    parser.add_argument("--allowlist", type=Path, default=DEFAULT_ALLOWLIST)
    parser.add_argument("--service", choices=sorted(SERVICES), default="pypi")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT)
    parser.add_argument("--record", type=Path, help="also write the summary to this file")
    args = parser.parse_args(argv)

    try:
        allowlist = (
            parse_allowlist(args.allowlist.read_text(), today=date.today())
            if args.allowlist.exists()
            else []
        )
    except AllowlistError as err:
        return _finish(Verdict(Status.COULD_NOT_RUN, [f"{args.allowlist}: {err}"]), args.record)
    result, problem = run_audit(service=args.service, timeout=args.timeout)
    if result is None:
        verdict = Verdict(
            Status.COULD_NOT_RUN, [problem, "RESULT: COULD NOT RUN (exit 2): fix the above."]
        )
    else:
        verdict = decide(
            result, allowlist, today=date.today(), own=own_distribution(), service=args.service
        )
    return _finish(verdict, args.record)


def _finish(verdict: Verdict, record: Path | None) -> int:
    print(verdict.text, flush=True)
    if record is not None:
        record.parent.mkdir(parents=True, exist_ok=True)
        status = f"status: {verdict.status.name} ({int(verdict.status)})"
        record.write_text(f"{verdict.text}\n{status}\n")
    return int(verdict.status)


if __name__ == "__main__":
    sys.exit(main())
