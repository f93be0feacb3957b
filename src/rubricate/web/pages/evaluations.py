"""Evaluations: rows with judge and reviewers' scores, annotating and resolving."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
