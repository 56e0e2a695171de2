"""Each tenant's locale: og:locale in language_TERRITORY form, and dates written in it."""

from __future__ import annotations

import lxml.html
import pytest

from floe.errors import SourceError
from floe.tenants import load_tenants
from tests.conftest import REPO, Project


def set_agencies(project: Project, old: str, new: str) -> None:
    path = project.root / "site" / "tenants.toml"
    text = path.read_text(encoding="utf-8")
    at = text.index("[tenants.agencies]")
    path.write_text(text[:at] + text[at:].replace(old, new, 1), encoding="utf-8")


def test_the_tenant_record_has_its_locale() -> None:
    tenants = load_tenants(REPO / "site" / "tenants.toml")
    assert {t.locale for t in tenants.values()} == {"en_US"}


def test_og_locale_and_dates_follow_the_tenant_locale(project: Project) -> None:
    project.post("dated", date="2026-03-04", updated="2026-05-06")
    set_agencies(project, 'locale = "en_US"', 'locale = "en_GB"')
    assert project.build().exit_code == 0
    for tenant, locale, date in (
        ("freelancers", "en_US", "March 4, 2026"),
        ("agencies", "en_GB", "4 March 2026"),
    ):
        doc = lxml.html.parse(str(project.site(tenant) / "blog" / "dated" / "index.html"))
        assert doc.xpath("//meta[@property='og:locale']/@content") == [locale]
        assert date in doc.getroot().text_content()
        listing = lxml.html.parse(str(project.site(tenant) / "blog" / "index.html"))
        assert date in listing.getroot().text_content()


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('locale = "en_US"', 'locale = "en-us"', "'en-us' is not language_TERRITORY"),
        ('locale = "en_US"', 'locale = "fr_FR"', "'fr_FR' is not in the language of lang 'en'"),
        ('locale = "en_US"', 'locale = "en_QQ"', "'en_QQ' is not a locale Babel knows"),
        ('locale = "en_US"\n', "", "required: lang 'en' does not say the territory"),
    ],
)
def test_a_bad_or_missing_locale_is_reported(
    project: Project, old: str, new: str, message: str
) -> None:
    set_agencies(project, old, new)
    result = project.build()
    assert result.exit_code == 1
    assert "site/tenants.toml:" in result.output
    assert f"tenants.agencies.locale: {message}".replace("locale: locale:", "locale:") in (
        result.output
    )


def test_a_lang_with_its_territory_gives_the_locale(project: Project) -> None:
    set_agencies(project, 'locale = "en_US"\n', "")
    set_agencies(project, 'lang = "en"', 'lang = "en-GB"')
    tenants = load_tenants(project.root / "site" / "tenants.toml")
    assert tenants["agencies"].locale == "en_GB"
    with pytest.raises(SourceError):
        set_agencies(project, 'lang = "en-GB"', 'lang = "en"')
        load_tenants(project.root / "site" / "tenants.toml")
