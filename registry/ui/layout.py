"""The page shell and the small pieces every page uses: stage badges, chips, times, sizes, forms.

Every form an action needs is made by `RenderContext.form()`, which adds the anti-forgery token and the page
to come back to, so no page can forget either.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import attrs

from registry.domain.stages import Stage
from registry.ui.html import Markup, join, tag, url, void
from registry.ui.security import CSRF_FIELD

__all__ = [
    "Notice",
    "Page",
    "RenderContext",
    "chip",
    "document",
    "human_size",
    "section",
    "short_digest",
    "stage_badge",
    "time_el",
]


@attrs.frozen
class Notice:
    """A message at the top of a page: ``ok`` after an action, ``error`` when one was refused."""

    kind: str
    text: str


@attrs.frozen
class Page:
    """A rendered page: its title, breadcrumbs (label, link or None) and the content of ``<main>``."""

    title: str
    body: Markup
    crumbs: tuple[tuple[str, str | None], ...] = ()
    status: int = 200


@attrs.frozen
class RenderContext:
    """What rendering needs besides the registry: the session's token, where we are, and the journal position."""

    csrf_token: str
    here: str
    registry_uri: str
    seq: int
    notices: tuple[Notice, ...] = ()

    def form(self, action: str, *children: Any, class_: str = "inline", confirm: str | None = None) -> Markup:
        """A POST form to ``action`` carrying the token and this page as the place to come back to."""
        return tag(
            "form",
            void("input", type="hidden", name=CSRF_FIELD, value=self.csrf_token),
            void("input", type="hidden", name="next", value=self.here),
            *children,
            method="post",
            action=action,
            class_=class_,
            data_confirm=confirm,
        )


_STAGE_CLASS = {
    Stage.NONE: "stage-none",
    Stage.STAGING: "stage-staging",
    Stage.PRODUCTION: "stage-production",
    Stage.ARCHIVED: "stage-archived",
}


def stage_badge(stage: Stage | str) -> Markup:
    parsed = Stage.parse(stage)
    return tag("span", parsed.value, class_=f"badge {_STAGE_CLASS[parsed]}")


def chip(text: Any, kind: str = "tag", title: str | None = None) -> Markup:
    return tag("span", text, class_=f"chip chip-{kind}", title=title)


def time_el(ms: int | None) -> Markup:
    """A ``<time>``: UTC text for reading without JavaScript, the exact instant for the script to localise."""
    if ms is None:
        return Markup("")
    moment = _dt.datetime.fromtimestamp(ms / 1000, tz=_dt.UTC)
    return tag("time", moment.strftime("%Y-%m-%d %H:%M UTC"), datetime=moment.isoformat(timespec="seconds"))


def human_size(size: int | None) -> str:
    if size is None:
        return "missing"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover - the loop always returns


def short_digest(digest: str | None) -> Markup:
    if not digest:
        return tag("span", "none", class_="muted")
    return tag("code", digest[:12], title=digest, class_="digest")


def section(title: str, *body: Any, id: str, live: bool = True, actions: Any = None) -> Markup:
    """A titled card; ``live`` sections are replaced in place when the registry changes."""
    head = tag("div", tag("h2", title), actions, class_="section-head")
    return tag("section", head, *body, id=id, class_="card", data_live=live)


def document(page: Page, ctx: RenderContext) -> str:
    """The whole HTML document for a page."""
    crumbs = [tag("a", "Models", href=url("models"))]
    for label, link in page.crumbs:
        crumbs.append(tag("span", "/", class_="sep", aria_hidden="true"))
        crumbs.append(tag("a", label, href=link) if link else tag("span", label, aria_current="page"))
    notices = [
        tag("div", n.text, class_=f"notice notice-{n.kind}", role="alert" if n.kind == "error" else "status")
        for n in ctx.notices
    ]
    header = tag(
        "header",
        tag(
            "div",
            tag("a", tag("span", "◆", class_="logo", aria_hidden="true"), "registry", href="/", class_="brand"),
            tag("nav", *crumbs, class_="crumbs", aria_label="Breadcrumbs"),
            tag("span", "offline", id="live", class_="live", title="Live updates from the registry's journal"),
            class_="bar",
        ),
        class_="top",
    )
    body = tag(
        "body",
        header,
        tag("main", tag("div", *notices, id="notices"), page.body, id="main"),
        tag("footer", "Registry ", tag("code", ctx.registry_uri), class_="foot"),
        tag("div", id="toast", class_="toast", role="status", aria_live="polite"),
        data_seq=ctx.seq,
    )
    head = join(
        [
            void("meta", charset="utf-8"),
            void("meta", name="viewport", content="width=device-width, initial-scale=1"),
            tag("title", f"{page.title} · registry"),
            void("link", rel="stylesheet", href="/static/ui.css"),
            tag("script", src="/static/ui.js", defer=True),
        ]
    )
    return "<!doctype html>\n" + tag("html", tag("head", head), body, lang="en")
