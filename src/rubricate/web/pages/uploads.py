"""Import a file from the Evaluations page: an admin uploads a dataset folder as a zip, a
JSONL or CSV file, or an OpenTelemetry file, into a new or existing evaluation. The same
use case as ``POST /api/v1/evaluations/{name}/import`` and ``rubricate import``
(rubricate.api.uploads): the same limits and checks, all of it or nothing, and a refusal
names the file, line and field. A check only (dry run) counts and keeps nothing."""

from __future__ import annotations

from pathlib import PurePath
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from rubricate.api.deps import Workspace
from rubricate.api.roles import Access
from rubricate.api.schemas import ImportReportOut
from rubricate.api.uploads import Upload, import_upload
from rubricate.domain.errors import InvalidInput
from rubricate.domain.users import User
from rubricate.web.pages.common import see_other
from rubricate.web.pages.evaluations import IMPORT_FLASH, listed, page_url
from rubricate.web.session import CurrentUser, requires
from rubricate.web.templating import page

router = APIRouter()

SUFFIXES = {".zip": "zip", ".jsonl": "jsonl", ".json": "jsonl", ".csv": "csv"}
Kind = Literal["", "rows", "annotations", "judge_results", "resolutions"]


def file_format(filename: str, otel: bool) -> str:
    """How to read an upload: OpenTelemetry when asked, else by the file's suffix."""
    if otel:
        return "otel"
    suffix = PurePath(filename).suffix.lower()
    if suffix not in SUFFIXES:
        raise InvalidInput(
            f"cannot tell how to read {filename!r}: upload a .zip of a dataset folder, a "
            ".jsonl or a .csv file (or tick OpenTelemetry for an OTLP JSON lines file)",
            field="file",
        )
    return SUFFIXES[suffix]


@router.post("/evaluations/import", dependencies=[requires(Access.ADMIN)])
async def import_file(
    request: Request,
    rb: Workspace,
    user: CurrentUser,
    file: Annotated[UploadFile, File()],
    name: Annotated[str, Form(min_length=1, max_length=200)],
    kind: Annotated[Kind, Form()] = "",
    description: Annotated[str, Form(max_length=2000)] = "",
    otel: Annotated[str, Form(max_length=2)] = "",
    metric: Annotated[str, Form(max_length=200)] = "",
    dry_run: Annotated[str, Form(max_length=2)] = "",
) -> Response:
    """Import the uploaded file; then the evaluation's page (or, for a check only, the
    list again with what would come in)."""
    filename = file.filename or "upload"
    try:
        upload = Upload(
            kind or None,
            file_format(filename, bool(otel)),
            description or None,
            metric or None,
            bool(dry_run),
            filename,
        )
        report = await run_in_threadpool(import_upload, rb, name, file.file, upload)
    except InvalidInput as error:
        shown = str(error) if error.file else f"{filename}: {error}"
        return _list_again(request, rb, user, shown, status_code=422)
    finally:
        await file.close()
    if report.dry_run:
        return _list_again(request, rb, user, None, report=report)
    request.session[IMPORT_FLASH] = summary(report)
    return see_other(page_url(report.evaluation))


def summary(report: ImportReportOut) -> str:
    """One line on what an import brought in (or, checked only, would bring)."""
    counts = [
        (report.rows_added, "row"),
        (report.annotations_added, "annotation"),
        (report.judge_results_added, "judge result"),
        (report.resolutions_added, "resolution"),
    ]
    parts = [f"{n:,} {noun}{'' if n == 1 else 's'}" for n, noun in counts if n]
    what = ", ".join(parts) if parts else "nothing new"
    verb = "would add" if report.dry_run else "added"
    made = " (a new evaluation)" if report.evaluation_created else ""
    unchanged = f"; {report.rows_unchanged:,} rows already there" if report.rows_unchanged else ""
    return f"Import into {report.evaluation}{made} {verb} {what}{unchanged}."


def _list_again(
    request: Request,
    rb: Workspace,
    user: User,
    error: str | None,
    *,
    report: ImportReportOut | None = None,
    status_code: int = 200,
) -> Response:
    notice = summary(report) + " Nothing was kept: this was a check." if report else None
    return page(
        request,
        "evaluations.html",
        status_code=status_code,
        evaluations=listed(rb),
        import_error=error,
        import_notice=notice,
        viewer=user,
    )
