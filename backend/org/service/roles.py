"""Role profiles: the posts' kinds of work, read from the competency framework's reference file."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml

from backend.i18n import get_locale

# --- role profiles ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RoleProfileOption:
    """A role profile a position may follow, as listed in the framework's role_profiles.yaml."""

    code: str
    title_es: str
    title_en: str

    @property
    def title(self) -> str:
        return self.title_es if get_locale() == "es" else self.title_en


@lru_cache
def _read_role_profiles() -> tuple[RoleProfileOption, ...]:
    source = resources.files("competency_framework") / "data" / "role_profiles.yaml"
    data = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    return tuple(
        RoleProfileOption(
            code=str(entry["position_code"]),
            title_es=entry.get("title", {}).get("es", entry["position_code"]),
            title_en=entry.get("title", {}).get("en", entry["position_code"]),
        )
        for entry in data.get("profiles", [])
    )


def role_profile_options() -> list[RoleProfileOption]:
    """Return the role profiles positions may follow, in the file's order."""
    return list(_read_role_profiles())


def role_codes() -> set[str]:
    """Return the position codes of the role profiles file."""
    return {option.code for option in _read_role_profiles()}
