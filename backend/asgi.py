"""The ASGI application for uvicorn workers: `uvicorn backend.asgi:app`."""

from backend.app import create_app

app = create_app()
