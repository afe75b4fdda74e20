"""The example domain's one line in the plugin list is `tests.example_domain.plugin`."""

from backend.plugins import Hook, Plugin

plugin = Plugin(
    name="example",
    package="tests.example_domain",
    routers=("tests.example_domain.routes.pages",),
    models=("tests.example_domain.models",),
    subscribers=("tests.example_domain.events",),
    jobs=("tests.example_domain.jobs",),
    cli="tests.example_domain.cli:register",
    catalogue="tests.example_domain",
    templates="templates",
    hooks=(Hook("reference_data", "tests.example_domain.reference:welcome_note", order=90),),
)
