"""Limits on what one request, file, template or model reply may ask of the host.

This module is the policy, in one place: every check of a size, count, depth or time
imports its bound from here, and docs/deployment.md lists them. Each bound is generous
for real use and small enough that one hostile input cannot exhaust memory, stall the
workspace or abort a run. Changing a value here changes it everywhere.
"""

from __future__ import annotations

from typing import Final

KIB: Final = 1024
MIB: Final = 1024 * KIB
GIB: Final = 1024 * MIB

# --- Score scales ------------------------------------------------------------------------

SCALE_MAX_POINTS: Final = 101
"""Most points an ordinal scale may have (``max - min + 1``), and most labels a labels
scale may name. 0–100 fits; a wider scale is refused, because pages, plots and imports
list its points."""

SCALE_MAX_ABS: Final = 1e12
"""Largest magnitude of a scale bound (``min``/``max``, any scale type), so scores stay
exact in floats and fit every database column."""

# --- Names and texts -----------------------------------------------------------------------

NAME_MAX_CHARS: Final = 200
"""Longest name of an evaluation, metric, run or user."""

PROMPT_MAX_CHARS: Final = 100_000
"""Longest prompt template or guidelines text of a metric."""

JUDGE_REPLY_MAX_CHARS: Final = 1_000_000
"""Longest judge reply the parser reads; a longer reply is an unreadable answer."""

SCORE_MAX_CHARS: Final = 64
"""Longest written score (digits, sign, point, exponent) a judge reply may give; a
400-digit score is an out-of-range answer, not an overflow."""

# --- Request bodies (per route kind) -------------------------------------------------------

BODY_MAX_JSON: Final = 4 * MIB
"""Largest JSON body of a REST API write (a metric with its prompt, a batch of annotations)."""

BODY_MAX_FORM: Final = 1 * MIB
"""Largest form body a web page accepts."""

BODY_MAX_UPLOAD: Final = 512 * MIB
"""Largest upload to the import route (a flat file or a zip archive)."""

# --- Import files and archives -------------------------------------------------------------

ZIP_MAX_ENTRIES: Final = 1_000
"""Most members a zip archive to import may hold."""

ZIP_MAX_UNPACKED_BYTES: Final = 2 * GIB
"""Most bytes a zip archive may unpack to, counted while streaming, never held whole."""

IMPORT_MAX_LINE_BYTES: Final = 16 * MIB
"""Longest line of a JSON Lines or CSV file; a longer one is refused at its line."""

DOCUMENT_MAX_BYTES: Final = 16 * MIB
"""Largest JSON document read whole (dataset.json); rows come line by line."""

METADATA_MAX_DEPTH: Final = 32
"""Deepest nesting of lists and objects in a row's metadata (or any JSON cell of a CSV
file). What is accepted is written back by export and read again by import."""

# --- Templates -----------------------------------------------------------------------------

TEMPLATE_MAX_OPERATIONS: Final = 100_000
"""Most loop iterations and calls one template render may make inside the sandbox."""

TEMPLATE_RENDER_SECONDS: Final = 2.0
"""Longest one template render may take before it is stopped."""

TEMPLATE_CHECK_SECONDS: Final = 5.0
"""Longest ``check_template`` may take (in a subprocess it can kill)."""

TEMPLATE_MAX_OUTPUT_CHARS: Final = 200_000
"""Most characters one render may produce."""

# --- Sign-in -------------------------------------------------------------------------------

SIGNIN_MAX_FAILURES_PER_USER: Final = 5
"""Failed sign-ins allowed for one user name within ``SIGNIN_WINDOW_SECONDS``."""

SIGNIN_MAX_FAILURES_PER_ADDRESS: Final = 20
"""Failed sign-ins allowed from one client address within ``SIGNIN_WINDOW_SECONDS``."""

SIGNIN_WINDOW_SECONDS: Final = 15 * 60
"""The window over which failed sign-ins are counted; older failures are forgotten."""

# --- Alignment ---------------------------------------------------------------------------

REFLECTION_MAX_DISAGREEMENTS: Final = 240
"""Most disagreements a reflection model reads in one run: a seeded sample stratified by
direction and evaluation when there are more, so that reflection's calls and tokens stay
bounded whatever the number of rows (eight batches of about 30)."""

DISAGREEMENTS_KEPT: Final = 2_000
"""Most disagreements an alignment run holds in memory: a seeded uniform sample beyond it
(the counts stay exact), so that its peak memory stays flat from 10k to 50k rows and
beyond; reflection reads at most 240 of them, verification at most 150 + 150 a part."""

# --- Model replies -------------------------------------------------------------------------

# Failed rows listed at once by `evaluation-runs errors` and its API route.
ROW_ERRORS_MAX: Final = 1_000

REPLY_MAX_TOKENS: Final = 2_000_000
"""Most input or output tokens one model reply is counted for: a reply claiming more (10^12)
is clamped where it enters, so that totals stay true to scale and fit 32-bit columns."""

TOKEN_TOTAL_MAX: Final = 2**31 - 1
"""Largest token total a run records (its columns are 32-bit on PostgreSQL); a total stops
there rather than aborting the run."""
