"""Imports every table of the core and of every plugin, so that SQLModel.metadata knows them all.

Alembic's autogenerate, the migrations-versus-models test and the test-suite read the metadata
from here. A domain names its models modules in its plugin (`Plugin.models`).
"""

from importlib import import_module

from backend import plugins

CORE_MODEL_MODULES = (
    "backend.auth.models",
    "backend.org.models",
    "backend.audit",
    "backend.jobs",
    "backend.revisions",
    "backend.notices.models",
    "backend.privacy.models",
)


def model_modules() -> list[str]:
    """The core's models modules, then every plugin's."""
    return [*CORE_MODEL_MODULES, *plugins.modules("models")]


for _name in model_modules():
    import_module(_name)
