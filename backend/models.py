"""Imports every table of every domain so that SQLModel.metadata knows them all.

Alembic's autogenerate and the test-suite read the metadata from here. A new domain adds its
models module to MODEL_MODULES.
"""

from importlib import import_module

MODEL_MODULES = [
    "backend.auth.models",
    "backend.org.models",
    "backend.audit",
    "backend.jobs",
    "backend.revisions",
    "competency_framework.models",
    "assessments.appraisals.models",
    "competency_framework.training.models",
    "whistleblowing.models",
    "assessments.vacancies.models",
]

for _name in MODEL_MODULES:
    import_module(_name)
