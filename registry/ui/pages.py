"""The models list and a model's page.

Each function reads what it shows through the public client and returns a `Page`;
errors (no such model, a malformed filter) propagate to the server, which answers with the right status. The
sections marked live are the ones the page's script swaps in place when the registry changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from registry.client import Registry
from registry.domain.entities import ModelVersion, RegisteredModel
from registry.domain.history import describe_event
from registry.domain.stages import Stage
from registry.domain.state import Event
from registry.errors import InvalidParameterValue
from registry.ui.html import Markup, tag, url, void
from registry.ui.layout import Page, RenderContext, chip, section, stage_badge, time_el
from registry.ui.markdown import render_markdown

__all__ = [
    "ORDERINGS",
    "PAGE_SIZE",
    "cell",
    "model_page",
    "models_page",
    "query_value",
    "tag_list",
    "tags_card",
    "timeline",
    "version_select",
]

PAGE_SIZE = 50
HISTORY_LIMIT = 200

ORDERINGS: dict[str, str] = {
    "name ASC": "Name",
    "last_updated_timestamp DESC": "Recently updated",
    "creation_timestamp DESC": "Recently created",
}
"""The orders the models list offers (the client accepts any; the list offers these)."""

_FILTER_EXAMPLES = (
    "name LIKE 'fraud%'",
    "tags.team = 'risk'",
    "name ILIKE '%churn%' AND tags.owner != 'legacy'",
)


def query_value(query: Mapping[str, list[str]], key: str) -> str | None:
    """The first value of a query-string field, or None."""
    values = query.get(key)
    return values[0] if values else None


# -- the models list ------------------------------------------------------------------------------------------------


def models_page(reg: Registry, ctx: RenderContext, query: Mapping[str, list[str]]) -> Page:
    """``/models``: the searchable list. A malformed filter is shown under the search box (status 400)."""
    filter_string = (query_value(query, "filter") or "").strip()
    order = query_value(query, "order") or "name ASC"
    token = query_value(query, "page_token") or None
    error = None
    models: list[RegisteredModel] = []
    next_token = None
    if order not in ORDERINGS:
        error = f"Unknown order {order!r}; choose one of: {', '.join(ORDERINGS)}."
    else:
        try:
            found = reg.search_registered_models(filter_string or None, PAGE_SIZE, [order], token)
            models, next_token = list(found), found.token
        except InvalidParameterValue as exc:
            error = str(exc)
    search = tag(
        "form",
        tag("label", "Filter", for_="filter", class_="visually-hidden"),
        void(
            "input",
            id="filter",
            name="filter",
            type="search",
            value=filter_string,
            placeholder="name LIKE 'fraud%' AND tags.team = 'risk'",
            autocomplete="off",
            spellcheck="false",
            aria_invalid="true" if error else None,
            aria_describedby="filter-error" if error else "filter-help",
        ),
        tag("label", "Order", for_="order", class_="visually-hidden"),
        tag(
            "select",
            [tag("option", label, value=value, selected=value == order) for value, label in ORDERINGS.items()],
            id="order",
            name="order",
        ),
        tag("button", "Search", type="submit"),
        method="get",
        action=url("models"),
        class_="search",
        role="search",
    )
    help_text = tag(
        "p",
        "MLflow's filter language: ",
        [[tag("a", tag("code", ex), href=url("models", filter=ex), class_="example"), " "] for ex in _FILTER_EXAMPLES],
        id="filter-help",
        class_="help",
    )
    problem = tag("pre", error, id="filter-error", class_="parse-error", role="alert") if error else None
    search_card = tag("section", search, problem, help_text, id="search", class_="card search-card")
    if models:
        items = tag("ul", [_model_card(m) for m in models], class_="model-list")
    elif error:
        items = tag("p", "Fix the filter to see models.", class_="empty")
    elif filter_string:
        items = tag("p", "No model matches this filter.", class_="empty")
    else:
        items = tag(
            "p",
            "No models yet. Register one from Python (",
            tag("code", "reg.log_model(...)"),
            ") or try ",
            tag("code", "registry demo"),
            ".",
            class_="empty",
        )
    more = None
    if next_token:
        more = tag(
            "a",
            "Next page →",
            href=url("models", filter=filter_string or None, order=order, page_token=next_token),
            class_="button secondary",
        )
    count = f"{len(models)}{'+' if next_token else ''} model{'' if len(models) == 1 else 's'}"
    listing = section(count if not error else "Models", items, more, id="models")
    return Page("Models", Markup(search_card + listing), status=400 if error else 200)


def _model_card(m: RegisteredModel) -> Markup:
    by_stage = {mv.current_stage: mv.version for mv in m.latest_versions}
    stages = [
        tag("span", stage_badge(stage), tag("span", f"v{by_stage[stage]}", class_="vnum"), class_="stage-pair")
        for stage in (Stage.PRODUCTION, Stage.STAGING, Stage.NONE, Stage.ARCHIVED)
        if stage in by_stage
    ]
    aliases = [chip(f"@{a} → v{v}", "alias") for a, v in sorted(m.aliases.items())]
    description = render_markdown(m.description)
    return tag(
        "li",
        tag(
            "div",
            tag("h3", tag("a", m.name, href=url("models", m.name))),
            tag("span", "updated ", time_el(m.last_updated_timestamp), class_="muted small"),
            class_="model-card-head",
        ),
        tag("div", description, class_="markdown clamp") if description else None,
        tag("div", stages or tag("span", "no versions", class_="muted small"), class_="stages"),
        tag("div", aliases, tag_list(m.tags), class_="chips") if aliases or m.tags else None,
        class_="model-card",
    )


def tag_list(tags: Mapping[str, str]) -> list[Markup]:
    return [chip(f"{k}={v}" if v != "" else k, "tag", title=f"{k} = {v}") for k, v in sorted(tags.items())]


def version_select(name: str, versions: list[ModelVersion], selected: int | None, label: str) -> Markup:
    options = [
        tag("option", f"v{mv.version} · {mv.current_stage.value}", value=mv.version, selected=mv.version == selected)
        for mv in reversed(versions)
    ]
    return tag("label", tag("span", label), tag("select", options, name=name), class_="field")


# -- one model ------------------------------------------------------------------------------------------------------


def model_page(reg: Registry, ctx: RenderContext, name: str) -> Page:
    """``/models/<name>``: description, versions, history, and the model's tags and aliases with their forms."""
    model = reg.get_registered_model(name)
    versions = reg.list_model_versions(name)
    events = reg.history(name)
    base = url("models", name)

    head = tag(
        "section",
        tag(
            "div",
            tag("h1", model.name),
            tag(
                "p",
                "created ",
                time_el(model.creation_timestamp),
                " · updated ",
                time_el(model.last_updated_timestamp),
                class_="muted small",
            ),
            class_="title",
        ),
        tag("div", render_markdown(model.description), class_="markdown")
        if model.description
        else tag("p", "No description yet.", class_="muted"),
        tag(
            "details",
            tag("summary", "Edit description"),
            ctx.form(
                base + "/actions/describe",
                tag("label", "Description (Markdown)", for_="model-description", class_="visually-hidden"),
                tag("textarea", model.description or "", id="model-description", name="description", rows="6"),
                tag("button", "Save description", type="submit"),
                class_="stack-form",
            ),
            class_="edit",
        ),
        id="model",
        class_="card",
        data_live=True,
    )

    rows = [_version_row(name, mv) for mv in reversed(versions)]
    table = (
        tag(
            "div",
            tag(
                "table",
                tag(
                    "thead",
                    tag(
                        "tr",
                        [
                            tag("th", h, scope="col")
                            for h in ("Version", "Stage", "Aliases", "Tags", "Source", "Run", "Created", "By")
                        ],
                    ),
                ),
                tag("tbody", rows),
                class_="table stack versions",
            ),
            class_="table-wrap",
        )
        if versions
        else tag("p", "No versions yet.", class_="empty")
    )
    compare = None
    if len(versions) >= 2:
        compare = tag(
            "form",
            version_select("a", versions, versions[-2].version, "Compare"),
            version_select("b", versions, versions[-1].version, "with"),
            tag("button", "Compare", type="submit", class_="secondary"),
            method="get",
            action=base + "/compare",
            class_="compare-form",
        )
    versions_card = section("Versions", table, compare, id="versions")
    history_card = section("History", timeline(events), id="history")

    aliases_card = section(
        "Aliases",
        tag(
            "ul",
            [
                tag(
                    "li",
                    tag("a", chip(f"@{alias}", "alias"), href=url("models", name, "versions", number)),
                    tag("span", f"→ v{number}", class_="muted"),
                    ctx.form(
                        base + "/actions/delete-alias",
                        void("input", type="hidden", name="alias", value=alias),
                        tag("button", "Remove", type="submit", class_="link danger", aria_label=f"Remove @{alias}"),
                    ),
                    class_="kv-row",
                )
                for alias, number in sorted(model.aliases.items())
            ],
            class_="kv-list",
        )
        if model.aliases
        else tag("p", "No aliases.", class_="muted"),
        ctx.form(
            base + "/actions/set-alias",
            tag(
                "label",
                tag("span", "Alias"),
                void("input", name="alias", required=True, placeholder="champion", autocomplete="off"),
                class_="field",
            ),
            version_select("version", versions, versions[-1].version if versions else None, "Version")
            if versions
            else None,
            tag("button", "Set alias", type="submit", disabled=not versions),
            class_="row-form",
        ),
        id="aliases",
    )
    tags = tags_card(ctx, base, model.tags, "model-tags")
    # The versions table gets the full width (it has eight columns); on a phone it comes right after the head.
    body = tag(
        "div",
        tag("div", head, class_="area-head"),
        tag("aside", aliases_card, tags, class_="area-side"),
        tag("div", versions_card, class_="area-versions"),
        tag("div", history_card, class_="area-history"),
        class_="model-layout",
    )
    return Page(model.name, body, crumbs=((model.name, None),))


def tags_card(ctx: RenderContext, base: str, tags: Mapping[str, str], id: str) -> Markup:
    """Tags with a remove button each, and a form to set one (``base`` is the model's or the version's URL)."""
    listing = (
        tag(
            "ul",
            [
                tag(
                    "li",
                    tag("code", key, class_="key"),
                    tag("span", value, class_="value"),
                    ctx.form(
                        base + "/actions/delete-tag",
                        void("input", type="hidden", name="key", value=key),
                        tag("button", "Remove", type="submit", class_="link danger", aria_label=f"Remove tag {key}"),
                    ),
                    class_="kv-row",
                )
                for key, value in sorted(tags.items())
            ],
            class_="kv-list",
        )
        if tags
        else tag("p", "No tags.", class_="muted")
    )
    add = ctx.form(
        base + "/actions/set-tag",
        tag(
            "label",
            tag("span", "Key"),
            void("input", name="key", required=True, autocomplete="off", placeholder="team"),
            class_="field",
        ),
        tag(
            "label",
            tag("span", "Value"),
            void("input", name="value", autocomplete="off", placeholder="risk"),
            class_="field",
        ),
        tag("button", "Set tag", type="submit"),
        class_="row-form",
    )
    return section("Tags", listing, add, id=id)


def cell(label: str, *content: object) -> Markup:
    """A table cell labelled for the phone layout (where each row becomes a card of labelled lines)."""
    return tag("td", tag("div", *content, class_="cell"), data_label=label)


def _source_text(mv: ModelVersion) -> str:
    if not mv.source or mv.source == mv.storage_location:
        return "registry copy"
    return mv.source


def _version_row(name: str, mv: ModelVersion) -> Markup:
    link = url("models", name, "versions", mv.version)
    source = _source_text(mv)
    none = tag("span", "—", class_="muted")
    return tag(
        "tr",
        cell("Version", tag("a", f"v{mv.version}", href=link, class_="vlink")),
        cell("Stage", stage_badge(mv.current_stage)),
        cell("Aliases", [chip(f"@{a}", "alias") for a in mv.aliases] or none),
        cell("Tags", tag_list(mv.tags) or none),
        cell("Source", tag("span", source, class_="truncate", title=source)),
        cell("Run", tag("code", mv.run_id[:12], title=mv.run_id) if mv.run_id else none),
        cell("Created", time_el(mv.creation_timestamp)),
        cell("By", mv.user_id or none),
    )


def timeline(events: Sequence[Event]) -> Markup:
    """A history as a timeline, newest first (the most recent HISTORY_LIMIT events)."""
    if not events:
        return tag("p", "Nothing has happened yet.", class_="muted")
    shown = list(reversed(events))[:HISTORY_LIMIT]
    items = [
        tag(
            "li",
            tag("span", class_=f"dot dot-{e.type.split('.')[0].replace('_', '-')}", aria_hidden="true"),
            tag("div", describe_event(e), class_="what"),
            tag("div", time_el(e.timestamp), " · ", e.actor or "unknown", " · ", tag("code", e.type), class_="meta"),
            class_="event",
        )
        for e in shown
    ]
    more = (
        tag("p", f"{len(events) - HISTORY_LIMIT} earlier events not shown.", class_="muted small")
        if len(events) > HISTORY_LIMIT
        else None
    )
    return Markup(tag("ol", items, class_="timeline") + (more or ""))
