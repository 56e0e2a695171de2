"""The tenant registry: one marketing domain of the product per entry of site/tenants.toml."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from floe.dates import known_locale, long_date
from floe.errors import Problem, SourceError
from floe.fields import Fields
from floe.outputpath import output_path_problem
from floe.tomlsource import locate, read_toml

_COLOUR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_KEY = re.compile(r"^[a-z][a-z0-9_-]*$")
#: S3's rules for bucket names (no uppercase, no underscore, 3 to 63 characters).
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_DISTRIBUTION = re.compile(r"^[A-Z0-9]+$")
#: Open Graph's form of a locale: language_TERRITORY, like en_US.
_LOCALE = re.compile(r"^(?P<lang>[a-z]{2,3})_[A-Z]{2}$")
#: A host name: dot-separated labels of letters, digits and inner hyphens.
_HOST = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)(?:\.(?!-)[a-z0-9-]{1,63}(?<!-))*$")

REQUIRED_KEYS = ("domain", "name", "tagline", "dynamic_origin", "theme", "nav")
OPTIONAL_KEYS = ("lang", "locale", "title_format", "author", "image", "logo", "twitter")
THEME_REQUIRED = ("primary", "accent", "background", "text")
THEME_OPTIONAL = ("code_style",)
NAV_KEYS = ("label", "href")
TABLE_KEYS = ("deploy",)
DEPLOY_KEYS = ("s3_bucket", "cloudfront_distribution")


@dataclass(frozen=True)
class NavLink:
    label: str
    href: str


@dataclass(frozen=True)
class Theme:
    primary: str
    accent: str
    background: str
    text: str
    code_style: str = "xcode"


@dataclass(frozen=True)
class DeploySettings:
    """Where ``build.py deploy`` publishes a tenant's site (the [tenants.NAME.deploy] table)."""

    s3_bucket: str | None = None
    cloudfront_distribution: str | None = None


@dataclass(frozen=True)
class Tenant:
    """One marketing domain: what its site is called, how it looks and where its service is."""

    key: str
    domain: str
    name: str
    tagline: str
    dynamic_origin: str
    theme: Theme
    nav: tuple[NavLink, ...]
    lang: str = "en"
    #: language_TERRITORY (``en_US``): og:locale, and how dates (and prices) are written.
    locale: str = "en_US"
    #: ``<title>`` of every page but the home page; ``{title}`` and ``{site}`` are filled in.
    title_format: str = "{title} — {site}"
    #: Default author of posts, and default share image (a path under /static/).
    author: str = ""
    image: str | None = None
    logo: str | None = None
    twitter: str | None = None
    #: Left out of repr, which the build's page keys digest: where a site is deployed does not
    #: change its pages.
    deploy: DeploySettings = field(default_factory=DeploySettings, repr=False)

    @property
    def base_url(self) -> str:
        return f"https://{self.domain}"

    def date_text(self, day: dt.date) -> str:
        """``day`` as the site writes it, in its locale ("March 14, 2026" in en_US)."""
        return long_date(day, self.locale)


#: A Host header the tenant lookup accepts: a host name, then optionally ``:`` and a port of
#: ASCII digits (``str.isdigit`` would take other scripts' digits too).
_HOST_HEADER = re.compile(r"(?P<name>[a-z0-9.-]+)(?::[0-9]{1,5})?")


class TenantRegistry(Mapping[str, Tenant]):
    """Tenants by key, in the order site/tenants.toml lists them (read-only)."""

    def __init__(self, tenants: Mapping[str, Tenant]):
        self._tenants = dict(tenants)

    def __getitem__(self, key: str) -> Tenant:
        return self._tenants[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tenants)

    def __len__(self) -> int:
        return len(self._tenants)

    def by_host(self, host: str) -> Tenant | None:
        """The tenant serving ``host`` (a Host header: port and case ignored), if any.

        Only a host name with an optional port of ASCII digits matches: anything else
        (``tallystack.example:1@evil.com``, ``tallystack.example:abc``) names no tenant."""
        found = _HOST_HEADER.fullmatch(host.strip().lower())
        if found is None:
            return None
        name = found.group("name").rstrip(".")
        for tenant in self.values():
            if tenant.domain == name:
                return tenant
        return None


def load_tenants(path: Path, *, display_path: str | None = None) -> TenantRegistry:
    """Read and validate ``path``; raise :class:`SourceError` naming tenant and key."""
    shown = display_path or str(path)
    read = read_toml(path, shown)
    if read is None:
        problem = Problem(
            shown, message="file not found", hint="create it with one [tenants.NAME] table per site"
        )
        raise SourceError([problem])
    text, data = read

    problems: list[Problem] = []
    extra = sorted(set(data) - {"tenants"})
    for key in extra:
        problems.append(
            Problem(
                shown,
                locate(text, key, "tenants"),
                key,
                "unknown top-level key",
                "tenants are tables named [tenants.NAME]",
            )
        )
    tables = data.get("tenants")
    if not isinstance(tables, dict) or not tables:
        problems.append(
            Problem(
                shown, message="no tenants defined", hint="add a [tenants.NAME] table for each site"
            )
        )
        raise SourceError(problems)

    tenants: dict[str, Tenant] = {}
    domains: dict[str, str] = {}
    for key, table in tables.items():
        tenant = _parse_tenant(key, table, text, shown, problems)
        if tenant is None:
            continue
        if tenant.domain in domains:
            problems.append(
                Problem(
                    shown,
                    locate(text, "domain", "tenants", key),
                    f"tenants.{key}.domain",
                    f"domain {tenant.domain!r} is already used by tenant "
                    f"{domains[tenant.domain]!r}",
                    "each tenant needs its own domain",
                )
            )
        domains[tenant.domain] = key
        tenants[key] = tenant
    if problems:
        raise SourceError(problems)
    return TenantRegistry(tenants)


def _parse_tenant(
    key: str, table: Any, text: str, shown: str, problems: list[Problem]
) -> Tenant | None:
    where = f"tenants.{key}"
    start = len(problems)
    if not _KEY.match(key):
        problems.append(
            Problem(
                shown,
                locate(text, key, "tenants"),
                where,
                "tenant name must be lowercase letters, digits, '-' or '_'",
            )
        )
    if not isinstance(table, dict):
        problems.append(Problem(shown, locate(text, key, "tenants"), where, "must be a table"))
        return None
    f = Fields(
        table,
        shown,
        problems,
        table=where,
        line=lambda name: locate(text, name.rsplit(".", 1)[-1], "tenants", key),
        table_line=locate(text, key, "tenants"),
    )
    f.required(REQUIRED_KEYS)
    f.unknown(REQUIRED_KEYS + OPTIONAL_KEYS + TABLE_KEYS)
    domain, name, tagline, origin, *_ = (
        f.string(k) for k in ("domain", "name", "tagline", "dynamic_origin", *OPTIONAL_KEYS)
    )
    if domain and (
        domain != domain.lower() or not _HOST.match(domain) or output_path_problem(domain)
    ):
        # It names the tenant's folder of the build's output, too.
        f.problem(
            "domain", f"{domain!r} is not a bare lowercase host name", "write it like example.com"
        )
    if origin:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
            f.problem(
                "dynamic_origin",
                f"{origin!r} is not an origin",
                "write it like https://app.example.com, without a path",
            )

    fmt = table.get("title_format", "{title} — {site}")
    if isinstance(fmt, str) and "{title}" not in fmt:
        f.problem("title_format", "must contain {title}", 'for example "{title} — {site}"')
    for picture in ("image", "logo"):
        value = table.get(picture)
        if isinstance(value, str) and not value.startswith("/static/"):
            hint = "write it like /static/img/x.png"
            f.problem(picture, f"{value!r} is not a file under /static/", hint)
        elif isinstance(value, str):
            f.address(picture, value)
    locale = _parse_locale(table.get("lang", "en"), table.get("locale"), f.problem)
    theme = _parse_theme(f)
    nav = _parse_nav(f)
    deploy = _parse_deploy(f)
    if len(problems) > start or not (theme and domain and name and tagline and origin):
        return None
    return Tenant(
        key=key,
        domain=domain,
        name=name,
        tagline=tagline,
        dynamic_origin=origin.rstrip("/"),
        theme=theme,
        nav=nav,
        lang=table.get("lang", "en"),
        locale=locale,
        title_format=fmt,
        author=table.get("author") or name,
        image=table.get("image"),
        logo=table.get("logo"),
        twitter=table.get("twitter"),
        deploy=deploy,
    )


def _parse_locale(lang: Any, locale: Any, problem: Callable[..., None]) -> str:
    """The tenant's locale: as given, or from a ``lang`` that names the territory (``en-GB``).

    A bare language (``en``) is spoken in many territories whose dates and money differ, so
    the locale is then required rather than guessed.
    """
    if not isinstance(lang, str) or (locale is not None and not isinstance(locale, str)):
        return ""  # reported as not a string
    if locale is None:
        language, _, territory = lang.partition("-")
        if not re.fullmatch(r"[A-Za-z]{2}", territory):
            problem(
                "locale",
                f"required: lang {lang!r} does not say the territory",
                f'add locale = "{language.lower()}_XX" with the territory, like en_US or en_GB',
            )
            return ""
        locale = f"{language.lower()}_{territory.upper()}"
    match = _LOCALE.match(locale)
    if not match:
        problem("locale", f"{locale!r} is not language_TERRITORY", "write it like en_US")
        return ""
    if match["lang"] != lang.partition("-")[0].lower():
        problem("locale", f"{locale!r} is not in the language of lang {lang!r}", "match them")
    elif not known_locale(locale):
        problem("locale", f"{locale!r} is not a locale Babel knows", "write it like en_US")
    return locale


def _parse_theme(tenant: Fields) -> Theme | None:
    value = tenant.data.get("theme")
    if value is None:
        return None  # reported as missing
    if not isinstance(value, dict):
        tenant.problem("theme", "must be a table", "add a [tenants.NAME.theme] table")
        return None
    f = tenant.nested("theme", value)
    f.required(THEME_REQUIRED, "a colour like #0b6e4f")
    f.unknown(THEME_REQUIRED + THEME_OPTIONAL)
    primary, accent, background, text = (
        f.matches(name, _COLOUR, "is not a colour", "write it like #0b6e4f")
        for name in THEME_REQUIRED
    )
    style = f.string("code_style", "must be the name of a Pygments style") or "xcode"
    if not (f.ok and primary and accent and background and text):
        return None
    return Theme(primary, accent, background, text, code_style=style)


def _parse_deploy(tenant: Fields) -> DeploySettings:
    value = tenant.data.get("deploy")
    if value is None:
        return DeploySettings()
    if not isinstance(value, dict):
        tenant.problem("deploy", "must be a table", "add a [tenants.NAME.deploy] table")
        return DeploySettings()
    f = tenant.nested("deploy", value)
    f.unknown(DEPLOY_KEYS)
    bucket = f.matches(
        "s3_bucket",
        _BUCKET,
        "is not an S3 bucket name",
        "3 to 63 lowercase letters, digits, dots and hyphens, like tallystack-site",
    )
    distribution = f.matches(
        "cloudfront_distribution",
        _DISTRIBUTION,
        "is not a CloudFront distribution id",
        "the ID column of the CloudFront console, like E2QWRUHAPOMQZL",
    )
    return DeploySettings(bucket, distribution)


def _parse_nav(tenant: Fields) -> tuple[NavLink, ...]:
    value = tenant.data.get("nav")
    if value is None:
        return ()  # reported as missing
    if not isinstance(value, list):
        tenant.problem("nav", "must be a list of [[tenants.NAME.nav]] tables")
        return ()
    links = []
    for index, item in enumerate(value, 1):
        if not isinstance(item, dict):
            tenant.problem(f"nav[{index}]", "must be a table with label and href")
            continue
        f = tenant.nested(f"nav[{index}]", item)
        label, href = (
            f.string(key, "required key is missing or empty", required=True) for key in NAV_KEYS
        )
        f.unknown(NAV_KEYS)
        if label and href:
            links.append(NavLink(label, href))
    return tuple(links)
