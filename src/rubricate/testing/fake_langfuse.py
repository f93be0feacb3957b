"""A contract fake of the part of Langfuse's public REST API that rubricate's connector uses,
served over real HTTP on 127.0.0.1 (uvicorn in a background thread), so that the
connector's own HTTP code runs against it::

    fake = FakeLangfuse()
    trace = fake.add_trace(input="Can I skip a week?", output="Yes: Settings, Skip.")
    fake.add_score(trace["id"], "helpfulness", 4, author="ana")
    with running(fake) as server:
        connection = LangfuseConnection(server.host, fake.public_key, fake.secret_key)
        ...

Written from Langfuse's published API reference (its Fern definitions: score-v2.yml,
score.yml, score-configs.yml, trace.yml, prompts.yml, commons.yml, utils/pagination.yml):

- ``GET /api/public/v2/scores``: filters ``name``, ``source``, ``fromTimestamp`` (on or
  after), ``toTimestamp`` (before); newest first; ``page`` from 1, ``limit`` at most 100;
- ``GET /api/public/traces/{traceId}``: a trace with its observations and scores (404 when
  there is none);
- ``GET /api/public/score-configs``: paged;
- ``GET /api/public/v2/prompts/{name}`` (``version``, ``label``; default ``production``)
  and ``POST /api/public/v2/prompts``: a new version, its labels taken from older
  versions, ``latest`` on the newest;
- ``POST /api/public/scores``: created, or replaced when its ``id`` exists (Langfuse keeps
  a score once per id).

Every request needs basic auth with the project's public and secret key (else 401); lists
answer ``{"data": [...], "meta": {"page", "limit", "totalItems", "totalPages"}}``.
"""

from __future__ import annotations

import base64
import math
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rubricate.testing._fake_app import serving

MAX_LIMIT = 100
SOURCES = ("ANNOTATION", "API", "EVAL")
DATA_TYPES = ("NUMERIC", "CATEGORICAL", "BOOLEAN")
_START = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)


def wire(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _error(status: int, message: str) -> Response:
    return JSONResponse({"message": message, "error": _ERRORS.get(status, "Error")}, status)


_TRUTH: dict[Any, bool] = {1: True, 0: False, "True": True, "False": False}
_ERRORS = {400: "InvalidRequestError", 401: "UnauthorizedError", 404: "LangfuseNotFoundError"}


class _Invalid(Exception):
    """A request the real API would answer with 400."""


class FakeLangfuse:
    """One Langfuse project: its traces, scores, score configs and prompts (thread-safe);
    ``requests`` lists every (method, path) served, for the tests to count."""

    def __init__(self, public_key: str = "pk-lf-fake", secret_key: str = "sk-lf-fake") -> None:
        self.public_key, self.secret_key = public_key, secret_key
        self.traces: dict[str, dict[str, Any]] = {}
        self.scores: dict[str, dict[str, Any]] = {}
        self.configs: list[dict[str, Any]] = []
        self.prompts: dict[str, list[dict[str, Any]]] = {}
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.RLock()  # the server's handlers and the tests' adds
        self._clock = _START

    def _tick(self) -> datetime:
        self._clock += timedelta(seconds=1)
        return self._clock

    def add_trace(self, *, input: Any, output: Any, id: str | None = None, name: str = "chat",
                  timestamp: datetime | None = None, **more: Any) -> dict[str, Any]:  # fmt: skip
        with self._lock:
            trace = {
                "id": id or uuid.uuid4().hex, "timestamp": wire(timestamp or self._tick()),
                "name": name, "input": input, "output": output, "sessionId": None,
                "userId": None, "release": None, "version": None, "metadata": None,
                "tags": [], "public": False, "bookmarked": False, "environment": "default",
            } | more  # fmt: skip
            self.traces[trace["id"]] = trace
            return trace

    def add_score(self, trace_id: str | None, name: str, value: float | str, *,
                  source: str = "ANNOTATION", data_type: str = "NUMERIC",
                  author: str | None = None, comment: str | None = None,
                  timestamp: datetime | None = None, id: str | None = None,
                  config_id: str | None = None, observation_id: str | None = None,
                  metadata: Any = None) -> dict[str, Any]:  # fmt: skip
        """A score as Langfuse stores it: a CATEGORICAL or BOOLEAN ``value`` is given as
        its text (``"pass"``, ``"True"``) and gets its number from the linked config."""
        with self._lock:
            moment = wire(timestamp or self._tick())
            score = {
                "id": id or uuid.uuid4().hex, "traceId": trace_id, "sessionId": None,
                "observationId": observation_id, "datasetRunId": None, "name": name,
                "source": source, "timestamp": moment, "createdAt": moment, "updatedAt": moment,
                "authorUserId": author, "comment": comment, "metadata": metadata,
                "configId": config_id, "queueId": None, "environment": "default",
                "dataType": data_type,
            } | self._typed(data_type, value, config_id)  # fmt: skip
            self.scores[score["id"]] = score
            return score

    def _typed(self, data_type: str, value: Any, config_id: str | None) -> dict[str, Any]:
        if data_type == "NUMERIC":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise _Invalid(f"a NUMERIC score's value is a number, not {value!r}")
            return {"value": float(value)}
        if data_type == "BOOLEAN":
            truth = _TRUTH.get(value) if isinstance(value, int | float | str) else None
            if truth is None:
                raise _Invalid("a BOOLEAN score's value is 0 or 1")
            return {"value": 1.0 if truth else 0.0, "stringValue": "True" if truth else "False"}
        if data_type == "CATEGORICAL":
            if not isinstance(value, str):
                raise _Invalid("a CATEGORICAL score's value is its category, as a string")
            config = next((c for c in self.configs if c["id"] == config_id), None)
            number = next(
                (c["value"] for c in (config or {}).get("categories") or [] if c["label"] == value),
                None,
            )
            return {"value": number, "stringValue": value}
        raise _Invalid(f"dataType is one of {', '.join(DATA_TYPES)}, not {data_type!r}")

    def add_config(self, name: str, data_type: str, *, min_value: float | None = None,
                   max_value: float | None = None, categories: dict[float, str] | None = None,
                   description: str | None = None,
                   archived: bool = False) -> dict[str, Any]:  # fmt: skip
        with self._lock:
            moment = wire(self._tick())
            config = {
                "id": uuid.uuid4().hex, "name": name, "createdAt": moment, "updatedAt": moment,
                "projectId": "project-1", "dataType": data_type, "isArchived": archived,
                "minValue": min_value, "maxValue": max_value, "description": description,
                "categories": None if categories is None else [
                    {"value": v, "label": label} for v, label in categories.items()
                ],
            }  # fmt: skip
            self.configs.append(config)
            return config

    def count(self, method: str, prefix: str) -> int:
        """How many ``method`` requests to paths starting with ``prefix`` were served."""
        return sum(1 for m, path in self.requests if m == method and path.startswith(prefix))

    # -- the endpoints ----------------------------------------------------------------------

    def list_scores(self, query: dict[str, str]) -> dict[str, Any]:
        since, until = _time(query.get("fromTimestamp")), _time(query.get("toTimestamp"))
        if (source := query.get("source")) is not None and source not in SOURCES:
            raise _Invalid(f"source is one of {', '.join(SOURCES)}")
        low = since or datetime.min.replace(tzinfo=UTC)
        high = until or datetime.max.replace(tzinfo=UTC)
        found = [
            s for s in self.scores.values()
            if query.get("name") in (None, s["name"]) and source in (None, s["source"])
            and low <= datetime.fromisoformat(s["timestamp"]) < high
        ]  # fmt: skip
        found.sort(key=lambda s: (s["timestamp"], s["id"]), reverse=True)
        return _paged(found, query, lambda s: s | {"trace": {"userId": None, "tags": []}})

    def get_trace(self, trace_id: str) -> dict[str, Any] | None:
        trace = self.traces.get(trace_id)
        if trace is None:
            return None
        scores = [s for s in self.scores.values() if s["traceId"] == trace_id]
        return trace | {
            "htmlPath": f"/project/project-1/traces/{trace_id}", "latency": 1.25,
            "totalCost": 0.0021, "observations": [], "scores": scores,
        }  # fmt: skip

    def get_prompt(self, name: str, query: dict[str, str]) -> dict[str, Any] | None:
        versions = self.prompts.get(name, [])
        if "version" in query:
            wanted = _integer(query["version"], "version")
            return next((p for p in versions if p["version"] == wanted), None)
        label = query.get("label", "production")
        return next((p for p in versions if label in p["labels"]), None)

    def create_prompt(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"]:
            raise _Invalid("name is required")
        kind = body.get("type", "text")
        prompt = body.get("prompt")
        if kind == "text" and not isinstance(prompt, str):
            raise _Invalid("a text prompt's prompt is a string")
        if kind == "chat" and not (
            isinstance(prompt, list)
            and all(isinstance(m, dict) and {"role", "content"} <= set(m) for m in prompt)
        ):
            raise _Invalid("a chat prompt's prompt is a list of {role, content} messages")
        if kind not in ("text", "chat"):
            raise _Invalid("type is text or chat")
        labels = body.get("labels") or []
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise _Invalid("labels is a list of strings")
        versions = self.prompts.setdefault(body["name"], [])
        for older in versions:  # a label names one version: the newest that asked for it
            older["labels"] = [x for x in older["labels"] if x not in labels and x != "latest"]
        tags = body.get("tags")
        if tags is not None:
            for older in versions:
                older["tags"] = list(tags)
        created = {
            "name": body["name"], "version": len(versions) + 1, "type": kind, "prompt": prompt,
            "config": body.get("config") or {}, "labels": [*dict.fromkeys(labels), "latest"],
            "tags": list(tags if tags is not None else versions[-1]["tags"] if versions else []),
            "commitMessage": body.get("commitMessage"), "resolutionGraph": None,
        }  # fmt: skip
        versions.append(created)
        return created

    def create_score(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _Invalid("the body is a score object")
        if not isinstance(body.get("traceId"), str) or not isinstance(body.get("name"), str):
            raise _Invalid("traceId and name are required")
        value = body.get("value")
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise _Invalid("value is a number or a string")
        data_type = body.get("dataType") or ("CATEGORICAL" if isinstance(value, str) else "NUMERIC")
        if data_type == "BOOLEAN" and value not in (0, 1):
            raise _Invalid("a BOOLEAN score's value is 0 or 1")
        score = self.add_score(
            body["traceId"], body["name"], value, source="API", data_type=data_type,
            comment=body.get("comment"), id=body.get("id"), config_id=body.get("configId"),
            observation_id=body.get("observationId"), metadata=body.get("metadata"),
        )  # fmt: skip
        return {"id": score["id"]}


def _time(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _Invalid(f"{text!r} is not an ISO 8601 datetime") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _integer(text: str, name: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise _Invalid(f"{name} is an integer") from None


def _paged(
    items: list[dict[str, Any]],
    query: dict[str, str],
    shape: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    page = _integer(query.get("page", "1"), "page")
    limit = _integer(query.get("limit", "50"), "limit")
    if page < 1 or not 1 <= limit <= MAX_LIMIT:
        raise _Invalid(f"page starts at 1; limit is 1 to {MAX_LIMIT}")
    chosen = items[(page - 1) * limit : page * limit]
    return {
        "data": [shape(i) if shape else i for i in chosen],
        "meta": {"page": page, "limit": limit, "totalItems": len(items),
                 "totalPages": math.ceil(len(items) / limit)},
    }  # fmt: skip


class _App:
    def __init__(self, fake: FakeLangfuse) -> None:
        self.fake = fake
        routes = [
            Route("/api/public/v2/scores", self._serve, methods=["GET"]),
            Route("/api/public/scores", self._serve, methods=["POST"]),
            Route("/api/public/traces/{trace_id}", self._serve, methods=["GET"]),
            Route("/api/public/score-configs", self._serve, methods=["GET"]),
            Route("/api/public/v2/prompts", self._serve, methods=["POST"]),
            Route("/api/public/v2/prompts/{name:path}", self._serve, methods=["GET"]),
        ]
        self.asgi = Starlette(routes=routes)

    def _authorized(self, request: Request) -> bool:
        fake = self.fake
        pair = f"{fake.public_key}:{fake.secret_key}".encode()
        return request.headers.get("authorization") == "Basic " + base64.b64encode(pair).decode()

    async def _serve(self, request: Request) -> Response:
        fake, path, method = self.fake, request.url.path, request.method
        with fake._lock:
            fake.requests.append((method, path))
        if not self._authorized(request):
            return _error(401, "Invalid credentials: check the public and secret key and host")
        query = dict(request.query_params)
        body: Any = None
        if method == "POST":
            try:
                body = await request.json()
            except ValueError:
                return _error(400, "the body is not JSON")
        try:
            with fake._lock:
                found = self._answer(method, path, request.path_params, query, body)
        except _Invalid as exc:
            return _error(400, f"Invalid request data: {exc}")
        if found is None:
            return _error(404, f"{path} not found")
        return JSONResponse(found)

    def _answer(self, method: str, path: str, params: dict[str, Any], query: dict[str, str],
                body: Any) -> dict[str, Any] | None:  # fmt: skip
        fake = self.fake
        if path == "/api/public/v2/scores":
            return fake.list_scores(query)
        if path == "/api/public/scores":
            return fake.create_score(body)
        if path == "/api/public/score-configs":
            return _paged(list(fake.configs), query)
        if path.startswith("/api/public/traces/"):
            return fake.get_trace(params["trace_id"])
        if method == "POST":
            return fake.create_prompt(body)
        return fake.get_prompt(params["name"], query)


@dataclass(frozen=True)
class RunningLangfuse:
    fake: FakeLangfuse
    port: int

    @property
    def host(self) -> str:
        """What LANGFUSE_HOST takes."""
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def running(fake: FakeLangfuse | None = None, *, port: int = 0) -> Iterator[RunningLangfuse]:
    """Serve ``fake`` on 127.0.0.1:``port`` (0: a free one) until the block ends."""
    fake = fake or FakeLangfuse()
    with serving(_App(fake).asgi, port, "fake Langfuse server") as bound:
        yield RunningLangfuse(fake, bound)
