"""The UI over real HTTP on 127.0.0.1 (no browser): every route, the forgery and origin refusals, bad input,
and the live event stream. Each request must get an answer, and no answer may carry a traceback."""

from __future__ import annotations

import html
import json
import re
import socket
import time
from urllib.parse import quote

import pytest
from http_support import exchange, read_answer
from ui_client import Client, Reply

from registry import Registry
from registry.ui import UIServer
from registry.ui.server import MAX_FORM_BYTES
from registry.web.http import ServerLimits


@pytest.fixture
def client(ui_server: UIServer) -> Client:
    return Client(ui_server.port)


def no_traceback(reply: Reply) -> Reply:
    assert "Traceback" not in reply.body and 'File "' not in reply.body
    return reply


# -- pages ----------------------------------------------------------------------------------------------------------


def test_root_redirects_to_the_models_list(client: Client) -> None:
    reply = client.get("/")
    assert (reply.status, reply.location) == (303, "/models")


def test_models_list_shows_each_model_with_stages_aliases_tags_and_description(client: Client) -> None:
    reply = client.get("/models")
    assert reply.status == 200
    assert reply.headers["content-type"] == "text/html; charset=utf-8"
    text = reply.text()
    for name in ("fraud-detector", "churn-predictor", "search-ranker"):
        assert name in text
    assert "@champion → v1" in text and "@challenger → v2" in text
    assert "team=risk" in text and "Scores card transactions" in text
    assert 'class="badge stage-production">Production</span><span class="vnum">v1</span>' in reply.body
    assert "3 models" in text


def test_pages_set_a_strict_http_only_session_cookie_and_security_headers(client: Client) -> None:
    reply = client.get("/models")
    cookie = reply.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert "script-src 'self'" in reply.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in reply.headers["content-security-policy"]
    assert reply.headers["x-frame-options"] == "DENY"
    assert reply.headers["cache-control"] == "no-store"
    again = client.get("/models")
    assert "set-cookie" not in again.headers  # the session is kept


def test_search_with_the_filter_language(client: Client) -> None:
    reply = client.get("/models?filter=" + quote("tags.team = 'risk'"))
    assert reply.status == 200
    assert "fraud-detector" in reply.text() and "churn-predictor" not in reply.text()
    assert "1 model" in reply.text()
    none = client.get("/models?filter=" + quote("name = 'nothing'"))
    assert none.status == 200 and "No model matches this filter." in none.text()


def test_a_malformed_filter_is_shown_inline_with_400(client: Client) -> None:
    reply = no_traceback(client.get("/models?filter=" + quote("name LIKE")))
    assert reply.status == 400
    assert 'class="parse-error"' in reply.body and 'aria-invalid="true"' in reply.body
    assert 'value="name LIKE"' in reply.body  # the search box keeps what was typed
    assert "Fix the filter to see models." in reply.text()


def test_bad_order_and_page_token_are_400(client: Client) -> None:
    assert "Unknown order" in no_traceback(client.get("/models?order=" + quote("drop table"))).text()
    assert client.get("/models?order=bogus").status == 400
    assert client.get("/models?page_token=not-a-token").status == 400


def test_paging_links_to_the_next_page(ui_registry: Registry, client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    import registry.ui.pages as pages

    monkeypatch.setattr(pages, "PAGE_SIZE", 2)
    first = client.get("/models")
    assert "2+ models" in first.text() and "Next page" in first.text()
    link = re.search(r'href="(/models\?[^"]*page_token=[^"]*)"', first.body)
    assert link
    second = client.get(html.unescape(link.group(1)))
    assert second.status == 200 and "search-ranker" in second.text() and "Next page" not in second.text()


def test_model_page(client: Client) -> None:
    reply = client.get("/models/fraud-detector")
    assert reply.status == 200
    text = reply.text()
    assert "<h3>" not in reply.body.split('id="model"', 1)[1].split("</section>", 1)[0]  # no heading in it
    # the description as Markdown: a list, code and a safe link
    assert "<li>trained on 18 months of labelled transactions</li>" in reply.body
    assert '<a href="https://example.com/cards/fraud" rel="nofollow noopener noreferrer">model card</a>' in reply.body
    # the versions table: one row per version with its stage, aliases and tags
    assert reply.body.count('class="vlink"') == 3
    assert "validation=passed" in text
    # the history as a timeline, newest first
    timeline = reply.body.split('class="timeline"', 1)[1]
    assert timeline.index("alias @challenger -&gt; version 2") < timeline.index("model created")
    assert '<section id="versions" class="card" data-live>' in reply.body


def test_names_with_url_characters_round_trip(ui_registry: Registry, client: Client) -> None:
    name = "a b?c#d%e&f"
    ui_registry.create_registered_model(name, description="odd name")
    listing = client.get("/models")
    assert f'href="/models/{quote(name, safe="")}"' in listing.body
    page = client.get("/models/" + quote(name, safe=""))
    assert page.status == 200 and "odd name" in page.text()


def test_a_refusal_on_a_model_with_url_characters_comes_back_to_its_page(ui_registry: Registry, client: Client) -> None:
    name = "odd %41 name?"
    ui_registry.create_registered_model(name)
    page = "/models/" + quote(name, safe="")
    token = client.token(page)
    reply = client.post(page + "/actions/set-alias", {"alias": "v1", "version": "1", "next": page}, token=token)
    assert reply.status == 400  # an alias may not look like a version number; and the model has no version 1
    assert "<h1>odd %41 name?</h1>" in reply.body and "notice-error" in reply.body


def test_unknown_model_version_and_path_are_404(client: Client) -> None:
    for path in ("/models/nope", "/models/fraud-detector/versions/99", "/nowhere", "/models/x/y/z/w/v"):
        reply = no_traceback(client.get(path))
        assert reply.status == 404, path
    assert "Registered Model with name=nope not found" in client.get("/models/nope").text()


def test_bad_version_numbers_and_encodings_are_400(client: Client) -> None:
    assert no_traceback(client.get("/models/fraud-detector/versions/abc")).status == 400
    assert no_traceback(client.get("/models/fraud-detector/versions/0")).status == 400
    assert no_traceback(client.get("/models/%ff%fe")).status == 400
    assert no_traceback(client.get("/models?filter=%ff")).status == 400


def test_version_page_shows_metadata_signature_example_and_files(client: Client) -> None:
    reply = client.get("/models/fraud-detector/versions/2")
    assert reply.status == 200
    text = reply.text()
    assert "Staging" in text and "@challenger" in text and "ana" in text
    # signature: inputs as a table of name, type, required
    inputs = reply.body.split("<h3>Inputs</h3>", 1)[1].split("<h3>Outputs</h3>", 1)[0]
    for column, kind in (("amount", "double"), ("country", "string"), ("merchant", "string")):
        assert f"<code>{column}</code>" in inputs and kind in inputs
    # the input example, as a table of its records
    example = reply.body.split('id="example"', 1)[1].split("</section>", 1)[0]
    assert "grocery" in example and "980.0" in example
    # files, with sizes and (abbreviated) recorded digests
    files = reply.body.split('id="files"', 1)[1].split("</section>", 1)[0]
    assert "MLmodel" in files and "python_model.pkl" in files and " B</div>" in files
    assert 'class="digest"' in files
    # the stage policy's hint and the stage form
    assert "lets this version move to: Production, Archived" in text


def test_version_page_without_registry_files(ui_registry: Registry, client: Client) -> None:
    ui_registry.create_model_version("search-ranker", "s3://bucket/ranker/2")
    reply = client.get("/models/search-ranker/versions/2")
    assert reply.status == 200
    assert "recorded as given" in reply.text()
    plain = client.get("/models/search-ranker/versions/1")  # files but no MLmodel
    assert "no MLmodel document" in plain.text() and "weights.bin" in plain.text() and "2.0 KiB" in plain.text()


def test_input_example_path_outside_the_manifest_is_not_read(ui_registry: Registry, client: Client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "sneaky"
    folder.mkdir()
    secret = tmp_path / "secret.json"
    secret.write_text('{"password": "hunter2"}')
    (folder / "MLmodel").write_text(
        "flavors: {}\nsaved_input_example_info:\n  artifact_path: ../secret.json\n  type: json_object\n"
    )
    ui_registry.create_model_version("search-ranker", str(folder))
    reply = client.get("/models/search-ranker/versions/2")
    assert reply.status == 200
    assert "hunter2" not in reply.body
    # read_mlmodel refuses the document itself: its input example path leads outside the version's folder
    assert "saved_input_example_info.artifact_path" in reply.text() and "outside" in reply.text()


def test_compare_page(client: Client) -> None:
    reply = client.get("/models/fraud-detector/compare?a=1&b=2")
    assert reply.status == 200
    body = reply.body
    # tags side by side; the ones that differ are marked
    assert '<tr class="differs"><th scope="row"><code>auc</code></th><td data-label="A">0.81</td>' in body
    assert '<code>validation</code></th><td data-label="A"><span class="muted">—</span></td>' in body
    # signature: the column only version 2 has
    assert "<code>merchant</code>" in body.split("Signature inputs", 1)[1]
    # descriptions and files
    assert "Baseline: amount and country." in body and "<em>lower</em>" in body
    assert "python_model.pkl" in body and "Files (" in body


def test_compare_needs_two_good_versions(client: Client) -> None:
    assert no_traceback(client.get("/models/fraud-detector/compare?a=1")).status == 400
    assert client.get("/models/fraud-detector/compare?a=1&b=x").status == 400
    assert client.get("/models/fraud-detector/compare?a=1&b=42").status == 404


def test_static_files(client: Client) -> None:
    css = client.get("/static/ui.css")
    assert css.status == 200 and css.headers["content-type"].startswith("text/css") and "--accent" in css.body
    js = client.get("/static/ui.js")
    assert js.status == 200 and js.headers["content-type"].startswith("text/javascript") and "EventSource" in js.body
    for path in ("/static/nope.js", "/static/../server.py", "/static/%2e%2e/server.py", "/static/"):
        assert no_traceback(client.get(path)).status == 404, path
    assert client.get("/favicon.ico").status == 204


def test_other_methods_get_405(client: Client) -> None:
    for method in ("PUT", "DELETE", "PATCH"):
        assert no_traceback(client.request(method, "/models")).status == 405
    head = client.request("HEAD", "/models")
    assert head.status == 200 and head.body == ""


# -- actions --------------------------------------------------------------------------------------------------------


def test_an_action_redirects_back_with_a_notice(ui_registry: Registry, client: Client) -> None:
    token = client.token("/models/fraud-detector/versions/2")
    reply = client.post(
        "/models/fraud-detector/versions/2/actions/transition",
        {"stage": "Production", "archive_existing_versions": "true", "next": "/models/fraud-detector/versions/2"},
        token=token,
    )
    assert (reply.status, reply.location) == (303, "/models/fraud-detector/versions/2")
    assert ui_registry.get_model_version("fraud-detector", 2).current_stage == "Production"
    assert ui_registry.get_model_version("fraud-detector", 1).current_stage == "Archived"
    after = client.get(reply.location)
    assert "Moved version 2 from Staging to Production, archiving the other versions in Production." in after.text()
    assert "Moved version 2" not in client.get(reply.location).text()  # shown once


def test_every_action_changes_the_registry(ui_registry: Registry, client: Client) -> None:
    token = client.token()
    model, version = "/models/churn-predictor/actions/", "/models/churn-predictor/versions/1/actions/"
    steps = [
        (model + "describe", {"description": "New *words*"}),
        (model + "set-tag", {"key": "tier", "value": "gold"}),
        (model + "delete-tag", {"key": "team"}),
        (model + "set-alias", {"alias": "@old", "version": "1"}),
        (version + "describe", {"description": "v1 notes"}),
        (version + "set-tag", {"key": "checked", "value": "yes"}),
        (version + "set-alias", {"alias": "first"}),
        (version + "transition", {"stage": "Staging"}),
    ]
    for path, fields in steps:
        reply = client.post(path, fields, token=token)
        assert reply.status == 303, (path, reply.text())
    m = ui_registry.get_registered_model("churn-predictor")
    assert m.description == "New *words*" and m.tags == {"tier": "gold"}
    assert m.aliases == {"prod": 2, "old": 1, "first": 1}
    v1 = ui_registry.get_model_version("churn-predictor", 1)
    assert (v1.description, v1.tags["checked"], v1.current_stage) == ("v1 notes", "yes", "Staging")
    for path, fields in [
        (version + "delete-tag", {"key": "checked"}),
        (model + "delete-alias", {"alias": "old"}),
    ]:
        assert client.post(path, fields, token=token).status == 303
    assert "checked" not in ui_registry.get_model_version("churn-predictor", 1).tags
    assert "old" not in ui_registry.get_registered_model("churn-predictor").aliases


def test_a_refused_transition_shows_the_policy_error_with_409(ui_registry: Registry, client: Client) -> None:
    token = client.token("/models/fraud-detector/versions/3")
    reply = no_traceback(
        client.post(
            "/models/fraud-detector/versions/3/actions/transition",
            {"stage": "Production", "next": "/models/fraud-detector/versions/3"},
            token=token,
        )
    )
    assert reply.status == 409
    assert 'class="notice notice-error" role="alert"' in reply.body
    assert "under the 'lifecycle' stage policy" in reply.text() and "may move to: Staging, Archived" in reply.text()
    assert "fraud-detector" in reply.text() and 'id="files"' in reply.body  # the page it came from, whole
    assert ui_registry.get_model_version("fraud-detector", 3).current_stage == "None"


def test_invalid_action_input_is_400_on_the_page(client: Client) -> None:
    token = client.token()
    for path, fields, words in [
        ("/models/fraud-detector/actions/set-tag", {"key": ""}, "needs a value for 'key'"),
        ("/models/fraud-detector/actions/set-alias", {"alias": "v3", "version": "1"}, "alias"),
        ("/models/fraud-detector/actions/set-alias", {"alias": "ok", "version": "x"}, "positive integer"),
        ("/models/fraud-detector/versions/1/actions/transition", {"stage": "Nowhere"}, "Invalid Model Version stage"),
        ("/models/fraud-detector/actions/describe", {"description": "x" * 20_001}, "limit is 20,000"),
    ]:
        reply = no_traceback(client.post(path, {**fields, "next": "/models/fraud-detector"}, token=token))
        assert reply.status == 400, (path, reply.status)
        assert words in reply.text(), (path, reply.text()[:300])


def test_a_read_only_registry_can_be_browsed_but_not_changed(ui_registry: Registry) -> None:
    with Registry(ui_registry.uri, read_only=True) as looking, UIServer(looking, port=0) as server:
        client = Client(server.port)
        assert client.get("/models/fraud-detector/versions/2").status == 200
        token = client.token()
        reply = no_traceback(client.post(SET_TAG, {"key": "x", "next": "/models/fraud-detector"}, token=token))
        assert reply.status == 403 and "read-only" in reply.text() and "notice-error" in reply.body
    assert "x" not in ui_registry.get_registered_model("fraud-detector").tags


def test_actions_on_missing_things_are_404(client: Client) -> None:
    token = client.token()
    assert client.post("/models/nope/actions/set-tag", {"key": "a"}, token=token).status == 404
    assert client.post("/models/fraud-detector/versions/9/actions/set-tag", {"key": "a"}, token=token).status == 404
    assert client.post("/models/fraud-detector/actions/delete-alias", {"alias": "ghost"}, token=token).status == 404
    assert client.post("/models/fraud-detector/actions/explode", {}, token=token).status == 404
    assert client.post("/models/fraud-detector/versions/1/actions/explode", {}, token=token).status == 404
    assert client.post("/models/fraud-detector/versions/x/actions/set-tag", {"key": "a"}, token=token).status == 400
    assert client.post("/models", {}, token=token).status == 404


def test_next_never_leaves_the_server(client: Client) -> None:
    token = client.token()
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
        reply = client.post(SET_TAG, {"key": "a", "value": "b", "next": evil}, token=token)
        assert (reply.status, reply.location) == (303, "/models/fraud-detector"), evil


# -- forgery and origins --------------------------------------------------------------------------------------------

SET_TAG = "/models/fraud-detector/actions/set-tag"


def test_post_from_another_origin_is_refused(ui_registry: Registry, client: Client) -> None:
    token = client.token()
    reply = no_traceback(client.post(SET_TAG, {"key": "pwned"}, token=token, Origin="http://evil.example"))
    assert reply.status == 403 and "evil.example" in reply.text()
    reply = client.post(SET_TAG, {"key": "pwned"}, token=token, Origin="", Referer="http://evil.example/page")
    assert reply.status == 403
    reply = client.post(SET_TAG, {"key": "pwned"}, token=token, Origin="")  # says nothing about where it is from
    assert reply.status == 403
    ok = client.post(SET_TAG, {"key": "fine"}, token=token, Origin="", Referer=client.origin + "/models")
    assert ok.status == 303
    tags = ui_registry.get_registered_model("fraud-detector").tags
    assert "pwned" not in tags and "fine" in tags


def test_post_without_the_sessions_token_is_refused(ui_registry: Registry, ui_server: UIServer) -> None:
    alice, mallory = Client(ui_server.port), Client(ui_server.port)
    alice_token = alice.token()
    mallory.token()
    assert alice.post(SET_TAG, {"key": "x"}).status == 403  # no token
    assert alice.post(SET_TAG, {"key": "x"}, token="0" * 64).status == 403  # a made-up token
    assert mallory.post(SET_TAG, {"key": "x"}, token=alice_token).status == 403  # another session's token
    cookieless = Client(ui_server.port)
    reply = cookieless.post(SET_TAG, {"key": "x"}, token=alice_token)
    assert reply.status == 403 and "session cookie" in reply.text()
    assert "x" not in ui_registry.get_registered_model("fraud-detector").tags


def test_tokens_end_with_the_server(ui_registry: Registry) -> None:
    with UIServer(ui_registry, port=0) as first:
        c = Client(first.port)
        token = c.token()
    with UIServer(ui_registry, port=0) as second:
        c.port = second.port
        assert c.post(SET_TAG, {"key": "x"}, token=token).status == 403


def test_requests_naming_another_host_are_refused(client: Client) -> None:
    # DNS rebinding: a hostile name pointed at 127.0.0.1 still says its own name in Host.
    rebound = Client(client.port, host="evil.example")
    assert no_traceback(rebound.get("/models")).status == 421
    assert rebound.get("/events").status == 421
    token = client.token()
    rebound.cookie = client.cookie
    assert rebound.post(SET_TAG, {"key": "x"}, token=token).status == 421
    assert Client(client.port, host="localhost").get("/models").status == 200
    wrong_port = client.request("GET", "/models", headers={"Host": "127.0.0.1:1"})
    assert wrong_port.status == 421


def test_malformed_posts(client: Client) -> None:
    token = client.token()
    wrong_type = client.post(SET_TAG, {"key": "x"}, token=token, **{"Content-Type": "application/json"})
    assert wrong_type.status == 415
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Origin": client.origin}
    not_utf8 = client.request("POST", SET_TAG, b"key=%ff%fe&csrf_token=" + token.encode(), headers)
    assert no_traceback(not_utf8).status == 400
    too_big = client.request("POST", SET_TAG, b"k=" + b"x" * (300 * 1024), headers)
    assert too_big.status == 413


def test_a_post_without_content_length_is_411(ui_server: UIServer) -> None:
    with socket.create_connection(("127.0.0.1", ui_server.port), timeout=5) as s:
        s.sendall(f"POST {SET_TAG} HTTP/1.1\r\nHost: 127.0.0.1:{ui_server.port}\r\n\r\n".encode())
        answer = b""
        while chunk := s.recv(65536):  # the server closes the connection after answering
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 411") and b"Content-Length header" in answer


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"\x16\x03garbage\r\n\r\n", 400),  # a TLS hello, or anything else that is not HTTP
        (b"GET /models HTTP/2.0\r\n\r\n", 400),
        (b"GET /models HTTP/1.1\r\nX: " + b"y" * 70_000 + b"\r\n\r\n", 431),
        (b"GET /" + b"m" * 70_000 + b" HTTP/1.1\r\n\r\n", 414),
        (b"POST /models HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 411),
    ],
    ids=["not-http", "http-2", "headers-too-long", "line-too-long", "chunked"],
)
def test_malformed_http_gets_an_html_error_page_from_the_shared_http_layer(
    ui_server: UIServer, data: bytes, status: int
) -> None:
    answer = exchange(ui_server.port, data)
    assert answer.status == status
    assert answer.headers["content-type"] == "text/html; charset=utf-8" and b"<!doctype html>" in answer.body
    assert answer.headers["server"] == "registry-ui" and answer.headers["connection"] == "close"
    assert Client(ui_server.port).get("/models").status == 200  # and the server keeps serving


def test_a_client_too_slow_gets_408_and_connections_beyond_the_limit_503(ui_registry: Registry) -> None:
    impatient = UIServer(ui_registry, port=0, limits=ServerLimits(header_timeout=0.5)).start()
    try:
        with socket.create_connection(("127.0.0.1", impatient.port), timeout=10) as slow:
            slow.sendall(b"GET /models HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the blank line
            assert read_answer(slow).status == 408
    finally:
        impatient.shutdown()
    limits = ServerLimits(max_body_bytes=MAX_FORM_BYTES, header_timeout=30, max_connections=2)
    server = UIServer(ui_registry, port=0, limits=limits).start()
    try:
        held = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(2)]
        try:
            time.sleep(0.2)  # both are accepted and hold their slots (for up to 30 s of silence)
            refused = exchange(server.port, b"GET /models HTTP/1.1\r\n\r\n")
            assert refused.status == 503 and refused.headers["retry-after"] == "1"
            assert b"<!doctype html>" in refused.body
        finally:
            for sock in held:
                sock.close()
    finally:
        server.shutdown()


def test_an_unexpected_error_is_a_plain_500_and_the_server_keeps_serving(
    ui_registry: Registry, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(ui_registry, "list_model_versions", boom)
    reply = no_traceback(client.get("/models/fraud-detector"))
    assert reply.status == 500 and "secret internals" not in reply.body
    monkeypatch.undo()
    assert client.get("/models/fraud-detector").status == 200


def test_a_description_with_script_is_escaped(ui_registry: Registry, client: Client) -> None:
    ui_registry.update_registered_model("fraud-detector", "<script>alert('x')</script> <img src=x onerror=alert(1)>")
    body = client.get("/models/fraud-detector").body
    assert "<script>alert" not in body and "<img src=x" not in body
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in body


# -- the live stream ------------------------------------------------------------------------------------------------


def read_events(port: int, since: int | None, want: int, timeout: float = 10.0) -> list[dict]:  # type: ignore[type-arg]
    """Open /events and read ``want`` events (or fail after ``timeout``)."""
    path = "/events" + (f"?since={since}" if since is not None else "")
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        buffer = b""
        deadline = time.monotonic() + timeout
        while buffer.count(b"\ndata: ") < want and time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            buffer += chunk
    head, _, stream = buffer.partition(b"\r\n\r\n")
    assert b"Content-Type: text/event-stream" in head
    assert stream.startswith(b"retry: 2000")
    return [json.loads(line[6:]) for line in stream.decode().splitlines() if line.startswith("data: ")]


def test_events_stream_from_a_position(ui_registry: Registry, ui_server: UIServer) -> None:
    seq = ui_registry.last_event_seq()
    events = read_events(ui_server.port, seq - 2, want=2)
    assert [e["seq"] for e in events] == [seq - 1, seq]
    assert events[-1]["model"] == "search-ranker" and events[-1]["actor"] == "ana"
    assert events[-1]["what"].startswith("version 1 created from")


def test_events_stream_what_other_processes_commit(ui_registry: Registry, ui_server: UIServer) -> None:
    import subprocess
    import sys
    import threading

    seq = ui_registry.last_event_seq()
    got: list[dict] = []  # type: ignore[type-arg]
    reader = threading.Thread(target=lambda: got.extend(read_events(ui_server.port, seq, want=1)))
    reader.start()
    code = (
        "import sys; from registry import Registry; "
        "r = Registry(sys.argv[1], user='ci-bot'); r.set_registered_model_tag('fraud-detector', 'from', 'elsewhere')"
    )
    subprocess.run([sys.executable, "-c", code, ui_registry.uri], check=True, timeout=60)
    reader.join(15)
    assert [(e["actor"], e["what"]) for e in got] == [("ci-bot", "tag from=elsewhere")]


def test_bad_event_positions_are_400(client: Client) -> None:
    assert no_traceback(client.get("/events?since=abc")).status == 400
    assert client.get("/events?since=-1").status == 400


def test_a_reconnecting_stream_resumes_after_its_last_event_id(ui_registry: Registry, ui_server: UIServer) -> None:
    seq = ui_registry.last_event_seq()
    with socket.create_connection(("127.0.0.1", ui_server.port), timeout=10) as s:
        request = (
            f"GET /events?since=0 HTTP/1.1\r\nHost: 127.0.0.1:{ui_server.port}\r\nLast-Event-ID: {seq - 1}\r\n\r\n"
        )
        s.sendall(request.encode())
        buffer = b""
        while b"\ndata: " not in buffer:
            buffer += s.recv(65536)
        time.sleep(0.3)  # anything else would arrive within a few polls
        s.setblocking(False)
        try:
            buffer += s.recv(65536)
        except BlockingIOError:
            pass
    events = [json.loads(line[6:]) for line in buffer.decode().splitlines() if line.startswith("data: ")]
    assert [e["seq"] for e in events] == [seq]


def test_live_refreshes_leave_the_notice_for_the_page_the_user_sees(client: Client) -> None:
    token = client.token()
    reply = client.post(SET_TAG, {"key": "k", "value": "v"}, token=token)
    assert reply.status == 303
    refresh = client.get(reply.location, **{"X-Registry-Refresh": "1"})
    assert "Set tag k=v" not in refresh.text()
    assert "Set tag k=v on 'fraud-detector'." in client.get(reply.location).text()
