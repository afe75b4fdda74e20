"""The ASGI application for uvicorn workers: `uvicorn backend.asgi:app`."""

from backend.app import create_app, settle_garbage_collector

app = create_app()
# Once the code and the app are loaded, in the worker that serves (not in tests that build
# apps of their own).
settle_garbage_collector()
