"""A version's page and the side-by-side comparison of two versions."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from registry.client import Registry
from registry.domain.entities import ModelVersion
from registry.domain.stages import Stage
from registry.domain.validation import validate_version
from registry.errors import InvalidParameterValue
from registry.ui.html import Markup, tag, url, void
from registry.ui.layout import Page, RenderContext, chip, human_size, section, short_digest, stage_badge, time_el
from registry.ui.markdown import render_markdown, safe_link
from registry.ui.pages import cell, query_value, tags_card, timeline, version_select
from registry.ui.views import InputExample, SpecRow, VersionDetails, param_rows, signature_rows, version_details

__all__ = ["compare_page", "version_page"]


def _table(headers: tuple[str, ...], rows: Sequence[Sequence[object]], class_: str = "table") -> Markup:
    return tag(
        "div",
        tag(
            "table",
            tag("thead", tag("tr", [tag("th", h, scope="col") for h in headers])),
            tag("tbody", [tag("tr", [cell(h, c) for h, c in zip(headers, r, strict=True)]) for r in rows]),
            class_=class_,
        ),
        class_="table-wrap",
    )


def _spec_table(rows: list[SpecRow], empty: str) -> Markup:
    if not rows:
        return tag("p", empty, class_="muted")
    return _table(("Name", "Type", "Notes"), [[tag("code", r.name), r.type, r.detail] for r in rows], "table compact")


def _meta(mv: ModelVersion) -> Markup:
    run_link = safe_link(mv.run_link) if mv.run_link else None
    items: list[tuple[str, object]] = [
        ("Stage", stage_badge(mv.current_stage)),
        ("Aliases", [chip(f"@{a}", "alias") for a in mv.aliases] or tag("span", "none", class_="muted")),
        ("Created", time_el(mv.creation_timestamp)),
        ("Updated", time_el(mv.last_updated_timestamp)),
        ("By", mv.user_id or "unknown"),
        ("Source", tag("code", mv.source, class_="wrap") if mv.source else tag("span", "logged into the registry")),
        ("Run", tag("code", mv.run_id) if mv.run_id else tag("span", "none", class_="muted")),
        ("Run link", tag("a", mv.run_link, href=run_link, rel="nofollow noopener noreferrer") if run_link else None),
        ("Status", mv.status),
        ("Digest", tag("code", mv.digest, class_="wrap") if mv.digest else tag("span", "none", class_="muted")),
    ]
    return tag("dl", [[tag("dt", k), tag("dd", v)] for k, v in items if v is not None], class_="meta-grid")


def _example(example: InputExample | None) -> Markup:
    if example is None:
        return tag("p", "This version was saved without an input example.", class_="muted")
    if example.message:
        return tag("p", example.message, class_="muted")
    if example.columns is not None and example.rows is not None:
        shown = example.rows[:20]
        note = (
            tag("p", f"First 20 of {len(example.rows)} rows.", class_="muted small") if len(example.rows) > 20 else None
        )
        header = tuple(example.columns)
        cells = [[v if isinstance(v, str) else json.dumps(v, default=str) for v in row] for row in shown]
        width = len(header)
        cells = [(c + [""] * width)[:width] for c in cells]
        return Markup(_table(header, cells, "table compact") + (note or ""))
    return tag("pre", tag("code", example.text or ""), class_="code")


def _files(details: VersionDetails) -> Markup:
    if details.files_message:
        return tag("p", details.files_message, class_="muted")
    if not details.files:
        return tag("p", "No files.", class_="muted")
    total = sum(f.size or 0 for f in details.files)
    rows = [[tag("code", f.path, class_="wrap"), human_size(f.size), short_digest(f.sha256)] for f in details.files]
    summary = tag(
        "p", f"{len(details.files)} files, {human_size(total)} in all; sha256 as recorded.", class_="muted small"
    )
    return Markup(_table(("File", "Size", "sha256"), rows, "table files") + summary)


def version_page(reg: Registry, ctx: RenderContext, name: str, version: str) -> Page:
    """``/models/<name>/versions/<n>``: metadata, stage, description, tags, aliases, signature, example, files."""
    mv = reg.get_model_version(name, version)
    versions = reg.list_model_versions(name)
    details = version_details(reg, mv)
    base = url("models", name, "versions", mv.version)
    allowed = [s for s in reg.get_model_version_stages(name, mv.version) if s != mv.current_stage.value]
    policy = reg.stage_policy.name

    head = tag(
        "section",
        tag("div", tag("h1", f"{mv.name} ", tag("span", f"v{mv.version}", class_="vnum-big")), class_="title"),
        _meta(mv),
        id="version",
        class_="card",
        data_live=True,
    )
    description = section(
        "Description",
        tag("div", render_markdown(mv.description), class_="markdown")
        if mv.description
        else tag("p", "No description yet.", class_="muted"),
        tag(
            "details",
            tag("summary", "Edit description"),
            ctx.form(
                base + "/actions/describe",
                tag("label", "Description (Markdown)", for_="version-description", class_="visually-hidden"),
                tag("textarea", mv.description or "", id="version-description", name="description", rows="6"),
                tag("button", "Save description", type="submit"),
                class_="stack-form",
            ),
            class_="edit",
        ),
        id="description",
    )
    preferred = allowed[0] if allowed else None
    stage_options = [
        tag("option", s.value, value=s.value, selected=s.value == preferred) for s in Stage if s != mv.current_stage
    ]
    hint = (
        f"The {policy!r} stage policy lets this version move to: {', '.join(allowed)}."
        if allowed
        else f"The {policy!r} stage policy lets this version move nowhere from {mv.current_stage.value}."
    )
    stage = section(
        "Stage",
        tag("p", "Now ", stage_badge(mv.current_stage), class_="now"),
        ctx.form(
            base + "/actions/transition",
            tag("label", tag("span", "Move to"), tag("select", stage_options, name="stage"), class_="field"),
            tag(
                "label",
                void("input", type="checkbox", name="archive_existing_versions", value="true"),
                " archive the versions now in that stage",
                class_="check",
            ),
            tag("button", "Move", type="submit"),
            class_="stack-form",
        ),
        tag("p", hint, class_="help"),
        id="stage",
    )
    aliases = section(
        "Aliases",
        tag(
            "ul",
            [
                tag(
                    "li",
                    chip(f"@{alias}", "alias"),
                    ctx.form(
                        url("models", name) + "/actions/delete-alias",
                        void("input", type="hidden", name="alias", value=alias),
                        tag("button", "Remove", type="submit", class_="link danger", aria_label=f"Remove @{alias}"),
                    ),
                    class_="kv-row",
                )
                for alias in mv.aliases
            ],
            class_="kv-list",
        )
        if mv.aliases
        else tag("p", "No alias points here.", class_="muted"),
        ctx.form(
            base + "/actions/set-alias",
            tag(
                "label",
                tag("span", "Alias"),
                void("input", name="alias", required=True, placeholder="champion", autocomplete="off"),
                class_="field",
            ),
            tag("button", "Point here", type="submit"),
            class_="row-form",
        ),
        id="aliases",
    )
    tags = tags_card(ctx, base, mv.tags, "version-tags")
    others = [v for v in versions if v.version != mv.version]
    compare = section(
        "Compare",
        tag(
            "form",
            void("input", type="hidden", name="a", value=mv.version),
            version_select("b", others, others[-1].version, "With version"),
            tag("button", "Compare", type="submit", class_="secondary"),
            method="get",
            action=url("models", name, "compare"),
            class_="row-form",
        )
        if others
        else tag("p", "This is the model's only version.", class_="muted"),
        id="compare",
    )
    signature = details.signature
    if signature is None:
        why = details.mlmodel_message or "This version's MLmodel has no signature."
        signature_body: Markup = tag("p", why, class_="muted")
    else:
        signature_body = Markup(
            tag("h3", "Inputs")
            + _spec_table(signature_rows(signature.inputs), "No inputs recorded.")
            + tag("h3", "Outputs")
            + _spec_table(signature_rows(signature.outputs), "No outputs recorded.")
            + (
                tag("h3", "Parameters") + _spec_table(param_rows(signature), "")
                if signature.params is not None
                else Markup("")
            )
        )
    flavors = (
        tag("p", "Flavors: ", [chip(f, "flavor") for f in sorted(details.mlmodel.flavors)], class_="small")
        if details.mlmodel is not None
        else None
    )
    history = section("History", timeline(reg.history(name, mv.version)), id="version-history")
    # On a phone the actions (stage, aliases, tags) come right after the head, before the long details.
    body = tag(
        "div",
        tag("div", head, class_="area-head"),
        tag("aside", stage, aliases, tags, compare, class_="area-side"),
        tag(
            "div",
            description,
            section("Signature", flavors, signature_body, id="signature"),
            section("Input example", _example(details.example), id="example"),
            section("Files", _files(details), id="files"),
            history,
            class_="area-main",
        ),
        class_="version-layout",
    )
    crumbs = ((mv.name, url("models", name)), (f"v{mv.version}", None))
    return Page(f"{mv.name} v{mv.version}", body, crumbs=crumbs)


# -- comparison -----------------------------------------------------------------------------------------------------


def _diff_row(label: object, a: object, b: object, same: bool) -> Markup:
    return tag(
        "tr",
        tag("th", label, scope="row"),
        tag("td", a, data_label="A"),
        tag("td", b, data_label="B"),
        class_="same" if same else "differs",
    )


def _diff_table(title: str, rows: list[Markup], a: int, b: int, empty: str) -> Markup:
    if not rows:
        return Markup(tag("h3", title) + tag("p", empty, class_="muted"))
    head = tag("thead", tag("tr", tag("th", "", scope="col"), tag("th", f"v{a}", scope="col"), tag("th", f"v{b}")))
    return Markup(
        tag("h3", title) + tag("div", tag("table", head, tag("tbody", rows), class_="table diff"), class_="table-wrap")
    )


def _spec_map(rows: list[SpecRow]) -> dict[str, str]:
    return {r.name: f"{r.type} ({r.detail})" for r in rows}


def _keyed_rows(left: Mapping[str, str], right: Mapping[str, str], code: bool = False) -> list[Markup]:
    absent = tag("span", "—", class_="muted")
    rows = []
    for key in sorted(set(left) | set(right)):
        a, b = left.get(key), right.get(key)
        show_a = (tag("code", a) if code else a) if a is not None else absent
        show_b = (tag("code", b) if code else b) if b is not None else absent
        rows.append(_diff_row(tag("code", key), show_a, show_b, a == b))
    return rows


def compare_page(reg: Registry, ctx: RenderContext, name: str, query: Mapping[str, list[str]]) -> Page:
    """``/models/<name>/compare?a=1&b=2``: two versions side by side (tags, signature, description, files)."""
    a_text, b_text = query_value(query, "a"), query_value(query, "b")
    if not a_text or not b_text:
        raise InvalidParameterValue("Choose two versions to compare: /models/<name>/compare?a=1&b=2.")
    a = reg.get_model_version(name, validate_version(a_text))
    b = reg.get_model_version(name, validate_version(b_text))
    versions = reg.list_model_versions(name)
    da, db = version_details(reg, a), version_details(reg, b)

    picker = tag(
        "form",
        version_select("a", versions, a.version, "Version"),
        version_select("b", versions, b.version, "with"),
        tag("button", "Compare", type="submit", class_="secondary"),
        method="get",
        action=url("models", name, "compare"),
        class_="compare-form",
    )

    def link(mv: ModelVersion) -> Markup:
        return tag("a", f"v{mv.version}", href=url("models", name, "versions", mv.version))

    summary = [
        _diff_row("Version", link(a), link(b), True),
        _diff_row(
            "Stage", stage_badge(a.current_stage), stage_badge(b.current_stage), a.current_stage == b.current_stage
        ),
        _diff_row(
            "Aliases",
            [chip(f"@{x}", "alias") for x in a.aliases] or "—",
            [chip(f"@{x}", "alias") for x in b.aliases] or "—",
            a.aliases == b.aliases,
        ),
        _diff_row("Created", time_el(a.creation_timestamp), time_el(b.creation_timestamp), True),
        _diff_row("By", a.user_id or "—", b.user_id or "—", a.user_id == b.user_id),
        _diff_row("Run", a.run_id or "—", b.run_id or "—", a.run_id == b.run_id),
        _diff_row("Digest", short_digest(a.digest), short_digest(b.digest), a.digest == b.digest),
    ]
    description = _diff_row(
        "Description",
        tag("div", render_markdown(a.description), class_="markdown") if a.description else "—",
        tag("div", render_markdown(b.description), class_="markdown") if b.description else "—",
        (a.description or "") == (b.description or ""),
    )
    sa, sb = da.signature, db.signature
    inputs = _keyed_rows(
        _spec_map(signature_rows(sa.inputs if sa else None)), _spec_map(signature_rows(sb.inputs if sb else None))
    )
    outputs = _keyed_rows(
        _spec_map(signature_rows(sa.outputs if sa else None)), _spec_map(signature_rows(sb.outputs if sb else None))
    )
    files = _keyed_rows(
        {f.path: f"{f.sha256[:12]} · {human_size(f.size)}" for f in da.files},
        {f.path: f"{f.sha256[:12]} · {human_size(f.size)}" for f in db.files},
        code=True,
    )
    changed = sum(1 for f in files if 'class="differs"' in f)
    body = Markup(
        tag("section", tag("h1", f"{name}: v{a.version} and v{b.version}"), picker, class_="card", id="picker")
        + section(
            "Side by side",
            tag("p", "Rows that differ are marked.", class_="muted small"),
            _diff_table("Summary", [*summary, description], a.version, b.version, ""),
            _diff_table("Tags", _keyed_rows(a.tags, b.tags), a.version, b.version, "Neither version has tags."),
            _diff_table("Signature inputs", inputs, a.version, b.version, "Neither version records inputs."),
            _diff_table("Signature outputs", outputs, a.version, b.version, "Neither version records outputs."),
            _diff_table(
                f"Files ({changed} differ)" if files else "Files",
                files,
                a.version,
                b.version,
                "Neither version has files in the registry.",
            ),
            id="comparison",
        )
    )
    crumbs = ((name, url("models", name)), (f"v{a.version} ↔ v{b.version}", None))
    return Page(f"{name}: v{a.version} and v{b.version}", body, crumbs=crumbs)
