"""Alignment runs: the Start Alignment dialog, a run's page, and what can be done to it."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
