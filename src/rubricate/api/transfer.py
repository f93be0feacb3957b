"""Import from an uploaded file and export as a download.

- ``POST /api/v1/evaluations/{name}/import?kind=rows&format=jsonl``: the request body is
  one flat file (JSONL or CSV) of ``kind``; with ``format=zip`` it is a zip archive of a
  dataset folder (dataset.json + rows.jsonl) or of flat files. All of it or nothing.
- ``GET /api/v1/evaluations/{name}/export?layout=dataset|jsonl|csv``: a zip archive of the
  files ``rubricate export`` writes, which import reads back.
"""

from __future__ import annotations

import io
import re
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from rubricate.api.deps import Workspace
from rubricate.api.errors import responses
from rubricate.api.schemas import ImportKind, ImportReportOut
from rubricate.domain.errors import InvalidInput
from rubricate.service.workspace import Rubricate

router = APIRouter(prefix="/evaluations", tags=["import and export"])

EvaluationName = Annotated[str, PathParam(min_length=1, max_length=200)]
MAX_UPLOAD = 512 * 1024 * 1024  # bytes of one upload
MAX_UNPACKED = 2 * 1024 * 1024 * 1024  # bytes of a zip archive once unpacked

_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The file: JSONL, CSV, or a zip archive of a folder.",
        "content": {
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


def _unpack(data: bytes, folder: Path) -> Path:
    """A zip archive's files under ``folder`` (no path may leave it); the folder to import:
    the archive's single top folder, if it has one."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise InvalidInput("the body is not a zip archive", field="body") from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        if sum(m.file_size for m in members) > MAX_UNPACKED:
            raise InvalidInput("the archive is too large once unpacked", field="body")
        for member in members:
            name = PurePosixPath(member.filename)
            if name.is_absolute() or ".." in name.parts or "\\" in member.filename:
                raise InvalidInput(f"unsafe path in the archive: {member.filename!r}", field="body")
            target = folder.joinpath(*name.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(member))
    entries = [p for p in folder.iterdir() if not p.name.startswith(("__MACOSX", "."))]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return folder


def _import(
    rb: Rubricate,
    name: str,
    data: bytes,
    kind: str | None,
    fmt: str,
    description: str | None,
) -> ImportReportOut:
    with tempfile.TemporaryDirectory(prefix="rubricate-upload-") as tmp:
        root = Path(tmp)
        if fmt == "zip":
            target = _unpack(data, root / "upload")
        else:
            if kind is None:
                raise InvalidInput("kind is needed for a single file", field="kind")
            target = root / f"{kind}.{fmt}"
            target.write_bytes(data)
        try:
            report = rb.import_path(target, name, kind=kind, description=description)
        except InvalidInput as error:
            if error.file is not None:  # name the file as the client knows it, not our tmp
                known = Path(error.file)
                relative = known.relative_to(root) if known.is_relative_to(root) else known
                shown = relative.name if fmt != "zip" else str(relative)
                raise InvalidInput(
                    error.message, file=shown, line=error.line, field=error.field
                ) from None
            raise
    return ImportReportOut.model_validate(report)


@router.post(
    "/{name}/import",
    responses=responses(404, 409),
    openapi_extra=_UPLOAD_BODY,
)
async def import_file(
    rb: Workspace,
    request: Request,
    name: EvaluationName,
    format: Annotated[
        Literal["jsonl", "csv", "zip"],
        Query(description="jsonl or csv: one flat file of `kind`; zip: a folder."),
    ] = "jsonl",
    kind: Annotated[ImportKind | None, Query(description="What a single file holds.")] = None,
    description: Annotated[
        str | None, Query(max_length=2000, description="Describes a new evaluation.")
    ] = None,
) -> ImportReportOut:
    """Import an uploaded file into the evaluation (created when new); importing the same
    data again changes nothing. A wrong line is refused with its file, line and field."""
    data = bytearray()
    async for chunk in request.stream():
        data.extend(chunk)
        if len(data) > MAX_UPLOAD:
            raise InvalidInput(f"the upload is larger than {MAX_UPLOAD} bytes", field="body")
    return await run_in_threadpool(_import, rb, name, bytes(data), kind, format, description)


def _export(rb: Rubricate, name: str, layout: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="rubricate-export-") as tmp:
        out = Path(tmp) / "export"  # never the name: it is the client's text
        report = rb.export(name, out, layout=layout)
        folder = re.sub(r"[^A-Za-z0-9_.-]", "_", name).strip(".") or "export"
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(report.files):
                archive.write(path, f"{folder}/{path.name}")
        return buffer.getvalue()


@router.get(
    "/{name}/export",
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
    name: EvaluationName,
    layout: Annotated[
        Literal["dataset", "jsonl", "csv"], Query(description="The layout of the files.")
    ] = "dataset",
) -> Response:
    """The evaluation as a zip archive of files that import reads back."""
    data = await run_in_threadpool(_export, rb, name, layout)
    filename = quote(f"{name}-{layout}.zip", safe="")
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{filename}"},
    )
