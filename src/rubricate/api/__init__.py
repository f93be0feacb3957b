"""The REST API: a FastAPI app over the workspace facade (``create_app``)."""

from rubricate.api.app import create_app

__all__ = ["create_app"]
