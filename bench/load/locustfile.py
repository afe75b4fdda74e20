"""The mixed workload of issue #9: five kinds of people using Mérito at once, as locust users.

Each simulated person uses the real pages and forms the way a browser does: it reads the CSRF
token from the page it is on (the session's token once signed in, the signed form token on the
sign-in page and the anonymous reporting channel), follows each redirect as its own request,
and sends htmx requests (``HX-Request``, ``X-CSRF-Token``) where the page would. Between two
actions a person pauses 1–3 s (`THINK_TIME`), and also between the steps of one journey
(reading a form before sending it). That is faster than most people read, so a simulated
person is busier than a real one.

- Employee (weight 50): the dashboard; the framework and one competency's page; their own
  competencies and gaps; a self-assessment of all 13 competencies (the form, then sending it).
- HRPlanner (10): the gap heatmap by region, one region by unit (and the htmx metric switch), a
  unit's gap report, a person's gap profile, the trend, what needs attention, the heatmap as CSV.
- Candidate (20): their applications; opens one whose knowledge test is open, starts the test,
  answers its 20 questions one by one (htmx, as the page does), hands it in; then the next one.
- Reporter (10): an anonymous report on the public channel with a PNG attachment; then, with
  the receipt, signs in to the report, reads it back, downloads the attachment, signs out.
- Investigator (10): signs in with password and TOTP; the case list, their assigned cases, the
  SLA board, and opens a case (an audited read that decrypts it).

Requests are named "<person>: <what>" (e.g. "employee: dashboard"), so the statistics are per
request type. Accounts, the shared password and the investigators' TOTP secrets come from the
fixtures file of `bench.load.fixtures` (path in ``MERITO_LOAD_FIXTURES``); each simulated person
takes an account of its own. The load goes only to a loopback address: any other host stops
the run at start.
"""

from __future__ import annotations

import html
import itertools
import json
import os
import random
import re
import time
from functools import lru_cache

import gevent
import pyotp
from locust import HttpUser, between, events, task

from bench.load import PERSON, THINK_TIME, WEIGHTS, is_loopback

FIXTURES_ENV = "MERITO_LOAD_FIXTURES"
TOTP_PERIOD = 30

_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
_CSRF_HEADER = re.compile(r'"X-CSRF-Token": "([^"]+)"')


@events.init.add_listener
def _loopback_only(environment, **_kwargs) -> None:
    if environment.host and not is_loopback(environment.host):
        raise SystemExit(
            f"Refusing to load {environment.host}: the load test runs against loopback only."
        )


@lru_cache
def fixtures() -> dict:
    """Return the load fixtures written by `bench.load.fixtures`."""
    path = os.environ.get(FIXTURES_ENV)
    if not path:
        raise RuntimeError(f"Set {FIXTURES_ENV} to the fixtures file of `python -m bench.load`.")
    with open(path) as fh:
        return json.load(fh)


_counters: dict[str, itertools.count] = {}


def take_account(kind: str):
    """Return the next account of `kind`; wraps around only if locust made more users than
    the fixtures have accounts (then two simulated people share one)."""
    accounts = fixtures()[kind]
    counter = _counters.setdefault(kind, itertools.count())
    return accounts[next(counter) % len(accounts)]


# Last TOTP step used per account, in this process: the server accepts each code once.
_last_step: dict[str, int] = {}


def totp_code(account: dict) -> str:
    """Return a code the server will accept now for `account` (never a step already used)."""
    email = account["email"]
    last = _last_step.get(email, account.get("last_step"))
    step = int(time.time() // TOTP_PERIOD)
    if last is not None and step <= last:
        step = last + 1
        # The server takes one step ahead of its clock, no more: wait for the next one.
        while step > int(time.time() // TOTP_PERIOD) + 1:
            gevent.sleep(1)
    _last_step[email] = step
    return pyotp.TOTP(account["totp_secret"]).at(step * TOTP_PERIOD)


def links(text: str, pattern: str) -> list[str]:
    """Return the distinct matches of `pattern` in `text`, unescaped, in page order."""
    return list(dict.fromkeys(html.unescape(m) for m in re.findall(pattern, text)))


class Browser(HttpUser):
    """A person with a browser: pages, forms with their CSRF token, htmx requests."""

    abstract = True
    wait_time = between(*THINK_TIME)
    person = ""  # the prefix of every request name

    def on_start(self) -> None:
        self.client.headers["Accept-Language"] = "es-MX,es;q=0.9,en;q=0.5"
        self.client.headers["User-Agent"] = "Mozilla/5.0 (Merito load test)"
        self.csrf = ""
        self.signed_in = False
        self.email = ""
        self.account: dict | None = None  # investigators: the TOTP secret and last step

    # -- requests --------------------------------------------------------------------------

    def _check(self, response, expect: int, contains: str | None):
        if response.status_code == 0:
            response.failure(f"no answer: {response.error!r}")
            return None
        if response.status_code != expect:
            response.failure(f"HTTP {response.status_code}, expected {expect}")
            if response.status_code == 401:
                self.signed_in = False  # sign in again before the next action
            return None
        if contains is not None and contains not in response.text:
            response.failure(f"the page does not contain {contains!r}")
            return None
        response.success()
        if "text/html" in response.headers.get("content-type", ""):
            found = _CSRF_HEADER.search(response.text) or _CSRF_FIELD.search(response.text)
            if found:
                self.csrf = found.group(1)
        return response

    def get(self, path: str, name: str, *, expect: int = 200, htmx: bool = False, contains=None):
        """GET a page (redirects are not followed: they are their own requests)."""
        headers = {"HX-Request": "true"} if htmx else None
        with self.client.get(
            path,
            name=f"{self.person}: {name}",
            headers=headers,
            allow_redirects=False,
            catch_response=True,
        ) as response:
            return self._check(response, expect, contains)

    def post(
        self,
        path: str,
        name: str,
        data: dict | None = None,
        *,
        expect: int = 303,
        files=None,
        htmx: bool = False,
        contains=None,
    ):
        """POST a form with the page's CSRF token (as a field, or a header for htmx)."""
        headers = None
        if htmx:
            headers = {"HX-Request": "true", "X-CSRF-Token": self.csrf}
        else:
            data = {**(data or {}), "csrf_token": self.csrf}
        with self.client.post(
            path,
            name=f"{self.person}: {name}",
            data=data or {},
            files=files,
            headers=headers,
            allow_redirects=False,
            catch_response=True,
        ) as response:
            return self._check(response, expect, contains)

    def ready(self) -> bool:
        """Return True if signed in; otherwise sign in (again) and return False."""
        if self.signed_in:
            return True
        self.sign_in()
        return False

    def sign_in(self) -> None:
        """Sign in through the form (and the two-step page when the role needs it)."""
        email, account = self.email, self.account
        self.client.cookies.clear()
        if self.get("/login", "sign-in page") is None:
            return
        response = self.post(
            "/login",
            "sign in",
            {"email": email, "password": fixtures()["password"], "next": "/"},
        )
        if response is None:
            return
        location = response.headers.get("location", "")
        if location.startswith("/login/second-factor"):
            if account is None or self.get(location, "two-step page") is None:
                return
            response = self.post(
                "/login/second-factor", "two-step code", {"code": totp_code(account), "next": "/"}
            )
            if response is None:
                return
        self.signed_in = self.get("/", "dashboard") is not None


class Employee(Browser):
    """An employee: browses the framework, looks at their own gaps, assesses themselves."""

    weight = WEIGHTS["Employee"]
    person = PERSON["Employee"]

    def on_start(self) -> None:
        super().on_start()
        self.email = take_account("employees")
        self.sign_in()

    @task(3)
    def dashboard(self) -> None:
        if self.ready():
            self.get("/", "dashboard")

    @task(2)
    def competency_pages(self) -> None:
        if not self.ready():
            return
        page = self.get("/framework", "competency framework")
        codes = links(page.text, r'href="/framework/([a-z_]+)"') if page else []
        if codes:
            self.wait()
            self.get(f"/framework/{random.choice(codes)}", "competency page")

    @task(3)
    def own_gaps(self) -> None:
        if self.ready():
            self.get("/competencies/me", "my competencies and gaps")

    @task(1)
    def self_assessment(self) -> None:
        if not self.ready():
            return
        page = self.get("/competencies/me/assessment", "self-assessment form")
        codes = links(page.text, r'name="level_([a-z_]+)"') if page else []
        if not codes:
            return
        self.wait()  # rating oneself takes a while
        answers = {}
        for code in codes:
            answers[f"level_{code}"] = str(random.choice((1, 2, 2, 3, 3, 3, 4)))
            answers[f"note_{code}"] = "Lo aplico en las licitaciones de mi unidad."
            answers[f"evidence_{code}"] = ""
        response = self.post("/competencies/me/assessment", "send self-assessment", answers)
        if response is not None:
            self.get(response.headers["location"], "my competencies and gaps")


class HRPlanner(Browser):
    """An HR planner: the gap heatmap at every level, and the gap reports."""

    weight = WEIGHTS["HRPlanner"]
    person = PERSON["HRPlanner"]

    def on_start(self) -> None:
        super().on_start()
        self.account = take_account("planners")
        self.email = self.account["email"]
        self.regions: list[str] = []
        self.units: list[str] = []
        self.people: list[str] = []
        self.sign_in()

    @task(1)
    def dashboard(self) -> None:
        if self.ready():
            self.get("/", "dashboard")

    @task(3)
    def heatmap(self) -> None:
        if not self.ready():
            return
        page = self.get("/competencies/gaps", "gap heatmap by region")
        if page is not None:
            self.regions = links(
                page.text, r'href="(/competencies/gaps\?group=unit&amp;region=[^"]+)"'
            )

    @task(2)
    def region(self) -> None:
        if not self.ready():
            return
        if not self.regions:
            return self.heatmap()
        page = self.get(random.choice(self.regions), "gap heatmap of a region by unit")
        if page is not None:
            self.units = links(page.text, r'href="(/competencies/gaps/units/\d+)"') or self.units

    @task(1)
    def switch_metric(self) -> None:
        if not self.ready():
            return
        metric = random.choice(("coverage", "critical", "bench", "mean_gap"))
        self.get(f"/competencies/gaps?metric={metric}", "gap heatmap metric (htmx)", htmx=True)

    @task(2)
    def unit_report(self) -> None:
        if not self.ready():
            return
        if not self.units:
            return self.region()
        page = self.get(random.choice(self.units), "unit gap report")
        if page is not None:
            self.people = links(page.text, r'href="(/competencies/people/\d+)"') or self.people

    @task(1)
    def person_profile(self) -> None:
        if not self.ready():
            return
        if not self.people:
            return self.unit_report()
        self.get(random.choice(self.people), "person's gap profile")

    @task(1)
    def trend(self) -> None:
        if not self.ready():
            return
        self.get("/competencies/gaps/trend", "gap trend")

    @task(1)
    def attention(self) -> None:
        if not self.ready():
            return
        self.get("/competencies/attention", "what needs attention")

    @task(1)
    def export(self) -> None:
        if not self.ready():
            return
        self.get("/competencies/gaps?format=csv", "gap heatmap as CSV")


class Candidate(Browser):
    """An external candidate taking the knowledge tests of the competitions they applied to."""

    weight = WEIGHTS["Candidate"]
    person = PERSON["Candidate"]

    def on_start(self) -> None:
        super().on_start()
        self.email = take_account("candidates")
        self.application: str | None = None
        self.questions: list[str] = []
        self.answers: dict[str, str] = {}
        self.done: set[str] = set()
        self.sign_in()

    @task
    def take_tests(self) -> None:
        if not self.ready():
            return
        if self.application is None:
            self._open_next_test()
        elif len(self.answers) < len(self.questions):
            self._answer_next()
        else:
            self._hand_in()

    def _open_next_test(self) -> None:
        page = self.get("/applications", "my applications")
        if page is None:
            return
        waiting = [a for a in links(page.text, r'href="/applications/(\d+)"') if a not in self.done]
        if not waiting:
            # Every test handed in: look at the vacancies instead.
            self.get("/vacancies", "vacancy board")
            return
        application = waiting[0]
        self.wait()
        page = self.get(f"/applications/{application}", "application")
        if page is None:
            return
        start = f'action="/applications/{application}/test/start"'
        if start in page.text:
            self.wait()
            if self.post(f"/applications/{application}/test/start", "start the test") is None:
                return
        elif f'href="/applications/{application}/test"' not in page.text:
            self.done.add(application)  # handed in already, or the time is over
            return
        test = self.get(f"/applications/{application}/test", "test page", contains="test-form")
        if test is None:
            return
        self.application = application
        self.questions = links(test.text, r'name="q_(\d+)"')
        self.answers = {}

    def _answer_next(self) -> None:
        question = self.questions[len(self.answers)]
        chosen = str(random.randrange(4))
        response = self.post(
            f"/applications/{self.application}/test/answer",
            "answer a question (htmx)",
            {"question_id": question, "chosen": chosen},
            expect=200,
            htmx=True,
            contains=f'id="saved-{question}"',
        )
        if response is not None:
            self.answers[question] = chosen

    def _hand_in(self) -> None:
        application = self.application
        form = {f"q_{q}": chosen for q, chosen in self.answers.items()}
        response = self.post(f"/applications/{application}/test/submit", "hand in the test", form)
        self.done.add(application)
        self.application = None
        if response is not None:
            self.get(response.headers["location"], "application")


class Reporter(Browser):
    """Someone reporting wrongdoing anonymously, who comes back with the receipt."""

    weight = WEIGHTS["Reporter"]
    person = PERSON["Reporter"]

    def on_start(self) -> None:
        from bench.load.fixtures import sample_attachment

        super().on_start()
        self.attachment = sample_attachment()
        self.channel = str(fixtures()["channel_id"])

    @task
    def report_and_follow_up(self) -> None:
        self.client.cookies.clear()  # every report comes from someone else
        if self.get("/report?lang=es", "reporting channel") is None:
            return
        self.wait()
        page = self.get("/report/new?lang=es", "report form", contains=f'value="{self.channel}"')
        if page is None:
            return
        form_token = re.search(r'name="form_token" value="([^"]+)"', page.text).group(1)
        self.wait()  # writing the report
        what = (
            f"Pagos duplicados de la factura A-{random.randint(1000, 9999)} de guantes de nitrilo."
        )
        data = {
            "form_token": form_token,
            "channel": self.channel,
            "what": what,
            "when": "Entre marzo y abril",
            "where": "Almacén delegacional de insumos médicos",
            "who": "Un proveedor de material de curación",
            "how_known": "Vi las facturas en el sistema de pagos",
            "red_flags": ["duplicate_invoices", "round_sum_invoices"],
            "others_know": "unsure",
            "good_faith": "yes",
        }
        name, content = self.attachment
        response = self.post(
            "/report/new?lang=es",
            "send report with attachment",
            data,
            files=[("files", (name, content, "image/png"))],
            expect=200,
            contains='id="receipt"',
        )
        if response is None:
            return
        receipt = re.search(r'id="receipt"[^>]*>([0-9A-Z-]+)<', response.text).group(1)
        self.wait()
        if self.get("/report/follow-up?lang=es", "follow-up page") is None:
            return
        if self.post("/report/follow-up?lang=es", "receipt sign-in", {"receipt": receipt}) is None:
            return
        case = self.get("/report/case?lang=es", "read own report", contains=html.escape(what))
        if case is None:
            return
        files = links(case.text, r'href="(/report/case/attachments/[^"?]+)')
        if files:
            self.wait()
            download = self.get(files[0], "download own attachment")
            if download is not None and not download.content.startswith(b"\x89PNG"):
                download.failure("the attachment is not the PNG sent")
        self.post("/report/case/logout?lang=es", "sign out of the report")


class Investigator(Browser):
    """An investigator (password and TOTP) working through their cases."""

    weight = WEIGHTS["Investigator"]
    person = PERSON["Investigator"]

    def on_start(self) -> None:
        super().on_start()
        self.account = take_account("investigators")
        self.email = self.account["email"]
        self.inbox: list[str] = []
        self.mine: list[str] = []
        self.sign_in()

    @task(1)
    def dashboard(self) -> None:
        if self.ready():
            self.get("/", "dashboard")

    @task(3)
    def case_list(self) -> None:
        if not self.ready():
            return
        page = self.get("/cases", "case list")
        if page is not None:
            self.inbox = links(page.text, r'href="/cases/(WB-[^"]+)"')

    @task(2)
    def my_cases(self) -> None:
        if not self.ready():
            return
        page = self.get("/cases?assigned=mine", "my assigned cases")
        if page is not None:
            self.mine = links(page.text, r'href="/cases/(WB-[^"]+)"')

    @task(2)
    def deadlines(self) -> None:
        if not self.ready():
            return
        self.get("/cases/deadlines", "SLA board")

    @task(3)
    def open_case(self) -> None:
        if not self.ready():
            return
        # Mostly one's own cases; sometimes a new one from the list.
        choices = self.mine if self.mine and random.random() < 0.7 else self.inbox
        if not choices:
            return self.my_cases()
        self.get(f"/cases/{random.choice(choices)}", "open a case")
