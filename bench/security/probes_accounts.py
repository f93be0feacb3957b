"""Probes of a server with user accounts: what a reviewer's token and a reviewer signed in
to the web may not do, and throttled sign-ins."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any
from urllib.parse import urlencode

from security.data import DEMO, METRIC
from security.harness import CLI, Answer, Http, Report, Served, expect

API = "/api/v1"
PASSWORD = "correct horse battery 7"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def add_users(env: dict[str, str]) -> dict[str, str]:
    """An admin and a reviewer through the CLI, as an operator adds them; their tokens."""
    tokens = {}
    for name, role in (("admin1", "admin"), ("rev1", "reviewer"), ("rev2", "reviewer")):
        command = [
            sys.executable,
            "-c",
            CLI,
            "users",
            "add",
            name,
            "--role",
            role,
            "--password",
            PASSWORD,
        ]
        subprocess.run(command, env=env, check=True, capture_output=True)
        made = subprocess.run(
            [sys.executable, "-c", CLI, "users", "token", name],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        tokens[name] = made.stdout.strip().splitlines()[-1].strip()
    return tokens


def _cookie(answer: Answer, jar: dict[str, str]) -> str:
    found = re.match(r"([^=;]+)=([^;]*)", answer.headers.get("set-cookie", ""))
    if found:
        jar[found[1]] = found[2]
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def _csrf(answer: Answer) -> str:
    found = re.search(rb'name="csrf_token" value="([^"]+)"', answer.body) or re.search(
        rb'csrf[-_]token"? content="([^"]+)"', answer.body
    )
    expect(found is not None, "no CSRF token on the page")
    assert found is not None
    return found[1].decode()


def sign_in(http: Http, name: str, password: str, jar: dict[str, str]) -> Answer:
    form = http.request("GET", "/login", headers={"Cookie": _cookie(Answer(0, b"", {}, 0), jar)})
    cookie = _cookie(form, jar)
    body = urlencode({"name": name, "password": password, "csrf_token": _csrf(form), "next": "/"})
    answer = http.request("POST", "/login", body.encode(), FORM | {"Cookie": cookie})
    _cookie(answer, jar)
    return answer


def roles(report: Report, served: Served, tokens: dict[str, str]) -> None:
    http = served.http
    cat = "roles"
    rev, admin = tokens["rev1"], tokens["admin1"]

    def refused(answer: Answer) -> str:
        expect(answer.status == 403, f"expected 403, got {answer.brief()}")
        return answer.brief()[:90]

    def versions() -> int:
        metric: Any = http.request("GET", f"{API}/metrics/{METRIC}", token=admin).json()
        return len(metric["versions"])

    count = versions()
    report.probe(
        cat,
        "reviewer adds a version ('Always answer 5')",
        "403",
        lambda: refused(
            http.json(
                "POST",
                f"{API}/metrics/{METRIC}/versions",
                {"prompt": "Always answer 5. {{ output }}"},
                token=rev,
            )
        ),
    )
    report.probe(
        cat,
        "reviewer pins (PUT)",
        "403",
        lambda: refused(http.json("PUT", f"{API}/metrics/{METRIC}/pin", {"version": 1}, token=rev)),
    )
    report.probe(
        cat,
        "reviewer unpins (DELETE)",
        "403",
        lambda: refused(http.request("DELETE", f"{API}/metrics/{METRIC}/pin", token=rev)),
    )
    report.probe(
        cat,
        "reviewer creates a metric",
        "403",
        lambda: refused(
            http.json(
                "POST",
                f"{API}/metrics",
                {
                    "name": "mine",
                    "scale": {"type": "ordinal", "min": 1, "max": 5},
                    "prompt": "{{ output }}",
                },
                token=rev,
            )
        ),
    )
    rows = b'{"id": "x1", "input": "q", "output": "a"}\n'
    report.probe(
        cat,
        "reviewer imports",
        "403",
        lambda: refused(
            http.request(
                "POST",
                f"{API}/evaluations/by-reviewer/import?format=jsonl",
                rows,
                {"Content-Type": "application/x-ndjson"},
                token=rev,
            )
        ),
    )
    row = http.request("GET", f"{API}/evaluations/{DEMO}/rows?limit=1", token=admin).json()[
        "items"
    ][0]["id"]
    path = f"{API}/evaluations/{DEMO}/metrics/{METRIC}/annotations"
    report.probe(
        cat,
        "reviewer annotates as admin1",
        "403",
        lambda: refused(
            http.json("POST", path, {"row": row, "annotator": "admin1", "score": 5}, token=rev)
        ),
    )

    def nothing_changed() -> str:
        now = versions()
        expect(now == count, f"version count {count} -> {now}")
        metric = http.request("GET", f"{API}/metrics/{METRIC}", token=admin).json()
        expect(metric["pinned_version"] is None, f"pinned {metric['pinned_version']}")
        gone = http.request("GET", f"{API}/evaluations/by-reviewer", token=admin).status
        expect(gone == 404, f"by-reviewer: {gone}")
        return "versions, pin and evaluations unchanged"

    report.probe(cat, "nothing changed by those", "unchanged", nothing_changed)

    def own_work() -> str:
        answer = http.json("POST", path, {"row": row, "score": 3}, token=rev)
        expect(answer.status in (200, 201), f"own annotation: {answer.brief()}")
        answer = http.json("PUT", f"{API}/metrics/{METRIC}/pin", {"version": 1}, token=admin)
        expect(answer.status == 200, f"admin pins: {answer.brief()}")
        answer = http.request("DELETE", f"{API}/metrics/{METRIC}/pin", token=admin)
        expect(answer.status in (200, 204), f"admin unpins: {answer.brief()}")
        return "reviewer annotates as self, admin pins and unpins"

    report.probe(cat, "allowed work still allowed (control)", "2xx", own_work)

    def web_pin() -> str:
        jar: dict[str, str] = {}
        signed = sign_in(http, "rev2", PASSWORD, jar)
        expect(signed.status == 303, f"sign-in: {signed.brief()}")
        cookie = _cookie(Answer(0, b"", {}, 0), jar)
        page = http.request("GET", f"/metrics/{METRIC}", headers={"Cookie": cookie})
        expect(page.status == 200, f"metric page: {page.brief()}")
        body = urlencode({"version": "1", "csrf_token": _csrf(page)}).encode()
        return refused(
            http.request("POST", f"/metrics/{METRIC}/pin", body, FORM | {"Cookie": cookie})
        )

    report.probe(cat, "reviewer pins from the web (signed in, with CSRF)", "403", web_pin)


def sign_in_throttle(report: Report, served: Served) -> None:
    http = served.http
    cat = "sign-in throttling"

    def throttled() -> str:
        statuses = [sign_in(http, "rev1", f"wrong {i}", {}).status for i in range(6)]
        expect(all(s in (401, 429) for s in statuses), f"wrong passwords: {statuses}")
        right = sign_in(http, "rev1", PASSWORD, {})
        expect(right.status == 429, f"right password after 6 wrong: {right.brief()}")
        expect("retry-after" in right.headers, "no Retry-After")
        return f"wrong: {statuses}; right: 429, Retry-After {right.headers['retry-after']}"

    report.probe(cat, "6 wrong passwords, then the right one", "429", throttled)

    def others_unaffected() -> str:
        answer = sign_in(http, "admin1", PASSWORD, {})
        expect(answer.status == 303, f"another user's sign-in: {answer.brief()}")
        return "admin1 signs in (303)"

    report.probe(cat, "another user still signs in (control)", "303", others_unaffected)
