"""Unpacking an uploaded zip archive without trusting it: entries are counted from the
archive's end record before its directory is read, each entry is streamed to disk in
chunks with the bytes counted as they come out (a header's size is never believed), and
a damaged archive (a forged size, a bad CRC, an unknown compression) is invalid input
naming the entry, never a server error. Bounds: rubricate.limits."""

from __future__ import annotations

import shutil
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import IO

from rubricate.domain.errors import InvalidInput
from rubricate.limits import MIB, ZIP_MAX_ENTRIES, ZIP_MAX_UNPACKED_BYTES

CHUNK = 1 * MIB
_DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError)


def _entry_count(source: IO[bytes]) -> int:
    """Entries the archive's end record declares (before zipfile builds its directory)."""
    end = zipfile._EndRecData(source)  # type: ignore[attr-defined]  # stdlib, stable since 2.x
    if not end:
        raise InvalidInput("the body is not a zip archive", field="body")
    count: int = end[zipfile._ECD_ENTRIES_TOTAL]  # type: ignore[attr-defined]
    source.seek(0)
    return count


def _checked_name(member: zipfile.ZipInfo) -> PurePosixPath:
    name = PurePosixPath(member.filename)
    if name.is_absolute() or ".." in name.parts or "\\" in member.filename:
        raise InvalidInput(f"unsafe path in the archive: {member.filename!r}", field="body")
    return name


def _copy(archive: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path, used: int) -> int:
    """Stream one entry to ``target``; the archive's bytes unpacked so far."""
    try:
        with archive.open(member) as entry, target.open("wb") as out:
            while chunk := entry.read(CHUNK):
                used += len(chunk)
                if used > ZIP_MAX_UNPACKED_BYTES:
                    raise InvalidInput(
                        f"the archive unpacks to more than {ZIP_MAX_UNPACKED_BYTES} bytes "
                        f"(reached in {member.filename!r})",
                        file=member.filename,
                        field="body",
                    )
                out.write(chunk)
    except _DAMAGED as error:
        raise InvalidInput(
            f"the archive's entry {member.filename!r} cannot be unpacked: {error}",
            file=member.filename,
            field="body",
        ) from None
    return used


def unpack(source: IO[bytes], folder: Path) -> Path:
    """The archive's files under ``folder`` (no path may leave it); the folder to import:
    the archive's single top folder, if it has one."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        if _entry_count(source) > ZIP_MAX_ENTRIES:
            raise InvalidInput(
                f"the archive holds more than {ZIP_MAX_ENTRIES} entries", field="body"
            )
        archive = zipfile.ZipFile(source)
    except (*_DAMAGED, OSError) as error:
        raise InvalidInput(f"the body is not a zip archive: {error}", field="body") from None
    with archive:
        members = archive.infolist()
        if len(members) > ZIP_MAX_ENTRIES:  # the end record may have understated them
            raise InvalidInput(
                f"the archive holds more than {ZIP_MAX_ENTRIES} entries", field="body"
            )
        used = 0
        for member in members:
            name = _checked_name(member)
            target = folder.joinpath(*name.parts)
            if member.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            used = _copy(archive, member, target, used)
    entries = [p for p in folder.iterdir() if not p.name.startswith(("__MACOSX", "."))]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return folder


def save(source: IO[bytes], target: Path) -> None:
    """A flat upload, as it came."""
    with target.open("wb") as out:
        shutil.copyfileobj(source, out, CHUNK)
