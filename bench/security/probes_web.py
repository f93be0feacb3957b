"""Probes of requests and files: scale width, cross-origin writes and DNS rebinding (local
mode), body size, zip bombs and forged zips."""

from __future__ import annotations

import io
import json
import struct
import zipfile
from collections.abc import Callable, Iterator

from rubricate.testing.datasets import zipped
from security.data import DEMO, METRIC
from security.harness import MEMORY_CEILING_MB, Answer, Report, Served, expect

API = "/api/v1"
EVIL = "http://evil.example"
MIB = 1024 * 1024


def scale(report: Report, served: Served, token: str | None) -> None:
    http = served.http
    cat = "scale"

    def wide_metric() -> str:
        scale = {"type": "ordinal", "min": 0, "max": 10_000_000}
        body = {"name": "wide", "scale": scale, "prompt": "Score {{ output }}."}
        answer = http.json("POST", f"{API}/metrics", body, token=token)
        expect(answer.status == 422, f"expected 422, got {answer.brief()}")
        expect(http.request("GET", f"{API}/metrics/wide").status == 404, "metric created")
        return f"422 in {answer.seconds:.2f} s, nothing created"

    report.probe(cat, "ordinal 0..10,000,000 via POST /metrics", "422", wide_metric)

    def wide_import() -> str:
        manifest = {
            "name": "wide-import",
            "criteria": [{"name": "huge", "scale": {"type": "ordinal", "min": 0, "max": 1e12}}],
        }
        row = {
            "id": "r1",
            "input": "q",
            "output": "a",
            "annotations": {"huge": [{"annotator": "x", "score": 5}]},
        }
        body = zipped(
            {
                "dataset.json": json.dumps(manifest).encode(),
                "rows.jsonl": json.dumps(row).encode() + b"\n",
            }
        )
        path = f"{API}/evaluations/wide-import/import?format=zip"
        answer = http.request("POST", path, body, {"Content-Type": "application/zip"}, token=token)
        expect(answer.status == 422, f"expected 422, got {answer.brief()}")
        expect(http.request("GET", f"{API}/evaluations/wide-import").status == 404, "imported")
        return f"422 in {answer.seconds:.2f} s: {answer.body[:90].decode(errors='replace')}"

    report.probe(cat, 'dataset.json "max": 1e12 via import', "422, nothing imported", wide_import)

    def widest_allowed() -> str:
        scale = {"type": "ordinal", "min": 0, "max": 100}
        body = {"name": "widest", "scale": scale, "prompt": "Score {{ output }} from 0 to 100."}
        answer = http.json("POST", f"{API}/metrics", body, token=token)
        expect(answer.status == 201, f"a 101-point scale: expected 201, got {answer.brief()}")
        rows = http.request("GET", f"{API}/evaluations/{DEMO}/rows?limit=1").json()
        row = rows["items"][0]["id"]  # type: ignore[index]
        note = {"row": row, "score": 100}
        path = f"{API}/evaluations/{DEMO}/metrics/widest/annotations"
        answer = http.json("POST", path, note, token=token)
        expect(answer.status in (200, 201), f"annotation: {answer.brief()}")
        times = {}
        for page in (f"/evaluations/{DEMO}", "/metrics/widest", f"/metrics/{METRIC}"):
            first = http.request("GET", page)  # the first view loads its libraries
            got = http.request("GET", page)
            expect(got.status == 200, f"{page}: {got.brief()}")
            times[page] = f"{first.seconds * 1000:.0f}/{got.seconds * 1000:.0f} ms"
            expect(
                got.seconds < 2.0,
                f"{page} took {got.seconds:.1f} s (first and second view: {times[page]})",
            )
        return "200; first/second view: " + ", ".join(f"{p} {t}" for p, t in times.items())

    report.probe(
        cat, "evaluation page with a 0..100 scale annotated", "200 in < 2 s", widest_allowed
    )


def cross_origin(report: Report, served: Served) -> None:
    http = served.http
    cat = "cross-origin"
    token = served.local_token

    def check(
        name: str, answer_of: Callable[[], Answer], expected: tuple[int, ...] = (401, 403)
    ) -> None:
        def run() -> str:
            answer = answer_of()
            expect(answer.status in expected, f"expected {expected}, got {answer.brief()}")
            return answer.brief()[:100]

        report.probe(cat, name, " or ".join(map(str, expected)), run)

    expect_token = token is not None
    report.probe(
        cat,
        "local mode prints a write token",
        "token in the log",
        lambda: "found" if expect_token else _fail("no token printed"),
    )
    rows = b'{"id": "x1", "input": "q", "output": "a"}\n'
    plain = {"Content-Type": "text/plain", "Origin": EVIL}
    check(
        "text/plain import from Origin: evil, no token",
        lambda: http.request("POST", f"{API}/evaluations/stolen/import?format=jsonl", rows, plain),
    )
    check(
        "text/plain import from Origin: evil, with the token",
        lambda: http.request(
            "POST", f"{API}/evaluations/stolen/import?format=jsonl", rows, plain, token=token
        ),
        (403,),
    )
    report.probe(
        cat,
        "nothing imported by those",
        "404",
        lambda: _is(http.request("GET", f"{API}/evaluations/stolen").status, 404),
    )
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    check(
        "form POST pin without CSRF (no Origin)",
        lambda: http.request("POST", f"/metrics/{METRIC}/pin", b"version=1", form),
        (400, 403),
    )
    check(
        "form POST pin without CSRF from Origin: evil",
        lambda: http.request(
            "POST", f"/metrics/{METRIC}/pin", b"version=1", form | {"Origin": EVIL}
        ),
        (403,),
    )
    check(
        "form POST reject a run, Referer: evil",
        lambda: http.request(
            "POST", "/alignment-runs/any/reject", b"", form | {"Referer": EVIL + "/x"}
        ),
        (403,),
    )
    report.probe(
        cat,
        "pin unchanged by those",
        "pinned_version null",
        lambda: _is(http.request("GET", f"{API}/metrics/{METRIC}").json()["pinned_version"], None),
    )
    rebound = {"Host": "attacker.example"}
    check(
        "GET with Host: attacker.example (DNS rebinding read)",
        lambda: http.request("GET", f"{API}/metrics", None, rebound),
        (400, 403, 421),
    )
    check(
        "PUT pin with Host: attacker.example and the token",
        lambda: http.json(
            "PUT", f"{API}/metrics/{METRIC}/pin", {"version": 1}, token=token, **rebound
        ),
        (400, 403, 421),
    )
    check(
        "JSON write with no token (local mode)",
        lambda: http.json("PUT", f"{API}/metrics/{METRIC}/pin", {"version": 1}, token=None),
        (401, 403),
    )


def body_size(report: Report, served: Served, token: str | None, quick: bool) -> None:
    http = served.http
    cat = "body size"
    declared = 200 * MIB

    def declared_body() -> str:
        before = served.peak_mb

        def chunks() -> Iterator[bytes]:
            yield b'{"name": "big", "prompt": "'
            yield b"a" * MIB  # then nothing more: the server must answer without the rest

        headers = {"Content-Type": "application/json", "Content-Length": str(declared)}
        answer = http.request("POST", f"{API}/metrics", chunks(), headers, token=token, timeout=20)
        expect(answer.status == 413, f"expected 413, got {answer.brief()}")
        grew = served.peak_mb - before
        sent = "413 after 1 MB sent of a declared 200 MB"
        return f"{sent}, in {answer.seconds:.2f} s (peak +{grew:.0f} MB)"

    report.probe(cat, "200 MB JSON body declared", "413 without reading it", declared_body)

    def chunked_body() -> str:
        sent = [0]
        total = (40 if quick else 200) * MIB

        def chunks() -> Iterator[bytes]:
            yield b'{"name": "big", "prompt": "'
            while sent[0] < total:
                sent[0] += MIB
                yield b"a" * MIB

        headers = {"Content-Type": "application/json"}  # no length: http.client sends chunks
        answer = http.request("POST", f"{API}/metrics", chunks(), headers, token=token, timeout=60)
        expect(
            answer.status == 413, f"expected 413, got {answer.brief()} after {sent[0] // MIB} MB"
        )
        return f"413 after {sent[0] // MIB} MB of a chunked {total // MIB} MB body"

    report.probe(cat, "chunked JSON body past the limit", "413", chunked_body)


def zips(report: Report, served: Served, token: str | None, quick: bool) -> None:
    http = served.http
    cat = "zip bomb"
    line_mb = 128 if quick else 1024  # past IMPORT_MAX_LINE_BYTES (64 MiB) either way

    def bomb() -> str:
        body = _bomb(line_mb)
        path = f"{API}/evaluations/bomb/import?format=zip"
        answer = http.request(
            "POST", path, body, {"Content-Type": "application/zip"}, token=token, timeout=300
        )
        expect(served.alive(), f"the server died: {served.tail(5)}")
        expect(answer.status == 422, f"expected 422, got {answer.brief()}")
        peak = served.peak_mb
        expect(peak < MEMORY_CEILING_MB, f"server peak RSS {peak:.0f} MB")
        expect(http.request("GET", f"{API}/evaluations/bomb").status == 404, "imported")
        what = f"{len(body) / 1024:.0f} KB zip of a {line_mb} MB line"
        return f"{what}: 422 in {answer.seconds:.1f} s, peak {peak:.0f} MB"

    report.probe(cat, f"zip of a one-line {line_mb} MB rows.jsonl", "422, memory bounded", bomb)

    def forged(offset: int, value: int) -> str:
        lines = "".join(
            json.dumps({"id": f"r{i}", "input": "q", "output": "a"}) + "\n" for i in range(50)
        )
        whole = zipped({"rows.jsonl": lines.encode()})
        at = whole.index(b"PK\x01\x02") + offset
        body = whole[:at] + struct.pack("<I", value) + whole[at + 4 :]
        path = f"{API}/evaluations/forged/import?format=zip"
        answer = http.request("POST", path, body, {"Content-Type": "application/zip"}, token=token)
        expect(answer.status == 422, f"expected 422, got {answer.brief()}")
        expect(answer.body.startswith(b"{"), f"not a JSON error: {answer.brief()}")
        return answer.brief()[:110]

    report.probe(cat, "forged CRC", "422 JSON error, not 500", lambda: forged(16, 0xDEADBEEF))
    report.probe(cat, "forged size (too small)", "422 JSON error, not 500", lambda: forged(24, 3))


def _bomb(line_mb: int) -> bytes:
    """A small zip holding dataset/rows.jsonl of one line of ``line_mb`` MB, written
    streaming (this process never holds the line)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("dataset/dataset.json", json.dumps({"name": "bomb", "criteria": []}))
        with archive.open("dataset/rows.jsonl", "w", force_zip64=True) as entry:
            entry.write(b'{"id": "r1", "input": "')
            block = b"a" * MIB
            for _ in range(line_mb):
                entry.write(block)
            entry.write(b'"}\n')
    return buffer.getvalue()


def _is(value: object, wanted: object) -> str:
    expect(value == wanted, f"expected {wanted!r}, got {value!r}")
    return f"{value!r}"


def _fail(message: str) -> str:
    expect(False, message)
    return ""
