"""The domains the application is made of, discovered from one list.

The core (`backend/`) imports no domain. Each domain package has a `plugin.py` whose `plugin`
(a `Plugin`) names, as dotted paths, what it contributes: its routers, tables, event
subscribers, scheduled jobs, command-line commands, message catalogue and the hooks it runs at
named moments (reference data after migrating, the demo). The core imports those modules when
it needs them: the app its routers, `backend.models` the tables, `backend.events` the
subscribers, and so on.

Adding a domain is creating its package and adding one line to `INSTALLED`
(docs/adding-a-domain.md). `MERITO_PLUGINS` (a comma-separated list of plugin modules) replaces
the list for one process, which the example domain's test uses.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib import import_module
from pathlib import Path
from typing import Any

__all__ = [
    "INSTALLED",
    "Hook",
    "Plugin",
    "call_hooks",
    "hooks",
    "installed",
    "load_object",
    "modules",
    "template_folders",
]

# Every domain, in the order its routes, hooks and navigation entries are registered.
INSTALLED: tuple[str, ...] = (
    "competency_framework.plugin",
    "competency_framework.training.plugin",
    "assessments.appraisals.plugin",
    "assessments.vacancies.plugin",
    "whistleblowing.plugin",
)


@dataclass(frozen=True)
class Hook:
    """A function (`"package.module:function"`) the core calls at a named moment.

    Moments: `reference_data` (after every migration: `fn(session)`), `demo.people` (while the
    demo organisation is generated), `demo.accounts` (after the demo accounts exist:
    `fn(session, settings, accounts)`), `demo.after` (after the demo is committed:
    `fn(engine, settings) -> str`, a line for the operator), `up` (a development `merito up`,
    after the demo: `fn(engine, settings) -> str | None`), `privacy.export` (a person's data
    export: `fn(session, subject) -> list[ExportPart]`, what the domain holds about them) and
    `privacy.retention` (`fn() -> list[RetentionRule]`, the domain's record types, periods and
    the functions that list and delete or anonymise what is past them; both shapes are in
    `backend.privacy.contracts`). Lower `order` runs first.
    """

    moment: str
    target: str
    order: int = 50


@dataclass(frozen=True)
class Plugin:
    """What one domain contributes. Every field is a dotted module path (or "module:object")."""

    name: str
    package: str
    # Modules exposing `router` (pages) and, optionally, `api_router` (JSON under /api/v1).
    routers: tuple[str, ...] = ()
    # Modules that define the domain's tables (imported before the metadata is used).
    models: tuple[str, ...] = ()
    # Modules whose `@events.subscribe` handlers react to other domains' events.
    subscribers: tuple[str, ...] = ()
    # Modules whose `@jobs.register` functions the scheduler runs.
    jobs: tuple[str, ...] = ()
    # "module:function": `function(app: typer.Typer)` adds the domain's `merito` commands.
    cli: str | None = None
    # The package whose `locale/{en,es}.po` holds the domain's messages (None: the core's).
    catalogue: str | None = None
    # A folder inside the package with the domain's own Jinja templates (None: the domain's
    # templates live in frontend/templates/, as the built-in domains' do).
    templates: str | None = None
    hooks: tuple[Hook, ...] = field(default=())


def _names() -> tuple[str, ...]:
    configured = os.environ.get("MERITO_PLUGINS", "").strip()
    if not configured:
        return INSTALLED
    return tuple(name.strip() for name in configured.split(",") if name.strip())


@cache
def _load(names: tuple[str, ...]) -> tuple[Plugin, ...]:
    found: list[Plugin] = []
    for name in names:
        plugin = import_module(name).plugin
        if not isinstance(plugin, Plugin):
            raise TypeError(f"{name}.plugin is not a backend.plugins.Plugin")
        found.append(plugin)
    return tuple(found)


def installed() -> tuple[Plugin, ...]:
    """Return the installed plugins, in order."""
    return _load(_names())


def modules(kind: str) -> list[str]:
    """Return every installed plugin's modules of one kind ("routers", "models", …), in order."""
    return [module for plugin in installed() for module in getattr(plugin, kind)]


def template_folders() -> list[Path]:
    """The template folders the installed plugins ship (`Plugin.templates`), in order."""
    folders = []
    for plugin in installed():
        if plugin.templates:
            package = import_module(plugin.package)
            folders.append(Path(package.__file__).resolve().parent / plugin.templates)
    return folders


def load_object(target: str) -> Any:
    """Return the object a "package.module:name" path names."""
    module_name, _, attribute = target.partition(":")
    module = import_module(module_name)
    return getattr(module, attribute) if attribute else module


def hooks(moment: str) -> Iterator[Callable[..., Any]]:
    """Yield the functions registered for `moment`, lowest `order` first."""
    found = [hook for plugin in installed() for hook in plugin.hooks if hook.moment == moment]
    for hook in sorted(found, key=lambda h: h.order):
        yield load_object(hook.target)


def call_hooks(moment: str, *args: Any, **kwargs: Any) -> list[Any]:
    """Call every function registered for `moment` and return their results."""
    return [fn(*args, **kwargs) for fn in hooks(moment)]
