"""Import from an uploaded file and export as a download.

- ``POST /api/v1/evaluations/{name}/import?kind=rows&format=jsonl``: the request body is
  one flat file (JSONL or CSV) of ``kind``; with ``format=zip`` it is a zip archive of a
  dataset folder (dataset.json + rows.jsonl) or of flat files; with ``format=otel`` one
  OpenTelemetry file (OTLP JSON lines). All of it or nothing; ``dry_run`` keeps nothing.
  The body is the file itself: the server never fetches a location a caller names.
- ``GET /api/v1/evaluations/{name}/export?layout=dataset|jsonl|csv``: a zip archive of the
  files ``rubricate export`` writes, which import reads back.
"""

from __future__ import annotations

import io
import re
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from rubricate.api.auth import CallerUser
from rubricate.api.deps import Workspace
from rubricate.api.errors import responses
from rubricate.api.paths import EvaluationName
from rubricate.api.roles import Access, requires
from rubricate.api.schemas import ImportKind, ImportReportOut
from rubricate.api.uploads import Upload, import_upload
from rubricate.domain.users import User
from rubricate.service.workspace import Rubricate

if TYPE_CHECKING:
    pass

router = APIRouter(prefix="/evaluations", tags=["import and export"])

SPOOL = 8 * 1024 * 1024  # an upload past this goes to a temporary file, not memory

_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The file: JSONL, CSV, or a zip archive of a folder.",
        "content": {
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@router.post(
    "/{name}/import",
    dependencies=[requires(Access.ADMIN)],
    responses=responses(403, 404, 409),
    openapi_extra=_UPLOAD_BODY,
)
async def import_file(
    rb: Workspace,
    request: Request,
    name: EvaluationName,
    format: Annotated[
        Literal["jsonl", "csv", "zip", "otel"],
        Query(
            description="jsonl or csv: one flat file of `kind`; zip: a folder; otel: one "
            "OpenTelemetry file (OTLP JSON lines: GenAI spans and gen_ai.evaluation.result "
            "events)."
        ),
    ] = "jsonl",
    kind: Annotated[ImportKind | None, Query(description="What a single file holds.")] = None,
    description: Annotated[
        str | None, Query(max_length=2000, description="Describes a new evaluation.")
    ] = None,
    metric: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description="format=otel: the metric to store the evaluation events under.",
        ),
    ] = None,
    dry_run: Annotated[
        bool, Query(description="Check and count what would come in; keep nothing.")
    ] = False,
) -> ImportReportOut:
    """Import an uploaded file into the evaluation (created when new); importing the same
    data again changes nothing. A wrong line is refused with its file, line and field."""
    with tempfile.SpooledTemporaryFile(max_size=SPOOL) as data:  # bounded by api/bodies.py
        async for chunk in request.stream():
            data.write(chunk)
        data.seek(0)
        upload = Upload(kind, format, description, metric, dry_run)
        return await run_in_threadpool(import_upload, rb, name, data, upload)


def _export(rb: Rubricate, name: str, layout: str, viewer: User) -> bytes:
    with tempfile.TemporaryDirectory(prefix="rubricate-export-") as tmp:
        out = Path(tmp) / "export"  # never the name: it is the client's text
        report = rb.export(name, out, layout=layout, viewer=viewer)
        folder = re.sub(r"[^A-Za-z0-9_.-]", "_", name).strip(".") or "export"
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(report.files):
                archive.write(path, f"{folder}/{path.name}")
        return buffer.getvalue()


@router.get(
    "/{name}/export",
    dependencies=[requires(Access.REVIEWER)],
    responses={
        **responses(404),
        200: {
            "description": "A zip archive of the evaluation's files.",
            "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
        },
    },
    response_class=Response,
)
async def export_evaluation(
    rb: Workspace,
    caller: CallerUser,
    name: EvaluationName,
    layout: Annotated[
        Literal["dataset", "jsonl", "csv"], Query(description="The layout of the files.")
    ] = "dataset",
) -> Response:
    """The evaluation as a zip archive of files that import reads back (a blind review
    queue's rows carry only the caller's own scores until they have reviewed them)."""
    data = await run_in_threadpool(_export, rb, name, layout, caller)
    filename = quote(f"{name}-{layout}.zip", safe="")
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{filename}"},
    )
