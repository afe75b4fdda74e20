import pytest

from backend import i18n, i18n_tool


@pytest.mark.parametrize("package", list(i18n_tool.CATALOGUE_SOURCES))
@pytest.mark.parametrize("locale", ["es", "en"])
def test_every_message_has_a_translation(package, locale):
    untranslated = i18n_tool.missing(package, locale)
    assert untranslated == [], (
        f"{len(untranslated)} message(s) of {package} lack a {locale} translation; run "
        f"`python -m backend.i18n_tool update {package}` and translate: {untranslated[:10]}"
    )


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("en-US,en;q=0.9,es;q=0.8", "en"),
        ("es-MX,es;q=0.9", "es"),
        ("fr-FR,fr;q=0.9,en;q=0.5", "en"),
        ("fr", None),
        ("", None),
        ("en;q=0.2, es;q=0.8", "es"),
        ("en;q=0", None),
        ("garbage;;q=x", None),
    ],
)
def test_accept_language_negotiation(header, expected):
    assert i18n.negotiate(header) == expected


def test_messages_are_translated_in_the_current_locale():
    with i18n.use_locale("es"):
        assert i18n._("Sign in") == "Iniciar sesión"
        assert i18n.ngettext("%(num)s result", "%(num)s results", 3) == "3 resultados"
    with i18n.use_locale("en"):
        assert i18n._("Sign in") == "Sign in"
        assert i18n.ngettext("%(num)s result", "%(num)s results", 1) == "1 result"


@pytest.mark.parametrize("locale", ["es", "en"])
def test_a_message_shared_by_packages_is_translated_the_same_way(locale):
    from babel.messages.pofile import read_po

    seen: dict[str, tuple[str, object]] = {}
    clashes = []
    for package in i18n.catalogue_packages():
        try:
            path = i18n.catalogue_path(package, locale)
        except ModuleNotFoundError:
            continue
        if not path.exists():
            continue
        with path.open("rb") as fh:
            for message in read_po(fh, locale=locale):
                if not message.id:
                    continue
                key = message.id if isinstance(message.id, str) else message.id[0]
                if key in seen and seen[key][1] != message.string:
                    clashes.append((key, seen[key][0], package))
                seen.setdefault(key, (package, message.string))
    assert clashes == [], clashes
