// registry ui: progressive enhancement only. Every form works without this script; with it, forms are sent
// in the background and the new page is swapped in, and the page follows the registry's journal live
// (Server-Sent Events from /events), refreshing the sections marked data-live when anything changes.
(function () {
  "use strict";

  var seq = Number(document.body.dataset.seq || 0);
  var refreshTimer = null;
  var toastTimer = null;

  function parse(html) {
    return new DOMParser().parseFromString(html, "text/html");
  }

  function toast(text) {
    var el = document.getElementById("toast");
    if (!el) return;
    el.textContent = text;
    el.classList.add("show");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { el.classList.remove("show"); }, 3500);
  }

  // A form the user has typed into (or opened) must not be replaced under them.
  function isDirty(root) {
    if (root.querySelector("details[open]")) return true;
    var fields = root.querySelectorAll("input, textarea, select");
    for (var i = 0; i < fields.length; i++) {
      var f = fields[i];
      if (f.type === "hidden" || f.type === "submit") continue;
      if (f.type === "checkbox" || f.type === "radio") {
        if (f.checked !== f.defaultChecked) return true;
      } else if (f.tagName === "SELECT") {
        for (var j = 0; j < f.options.length; j++) {
          if (f.options[j].selected !== f.options[j].defaultSelected) return true;
        }
      } else if (f.value !== f.defaultValue) {
        return true;
      }
    }
    return false;
  }

  function takeSeq(doc) {
    var next = Number(doc.body.dataset.seq || 0);
    if (next > seq) seq = next;
    document.body.dataset.seq = String(seq);
  }

  // Replace the whole page content (after a navigation or a form the user sent).
  function swapAll(doc) {
    var main = doc.getElementById("main");
    if (!main) return false;
    document.getElementById("main").replaceWith(main);
    var crumbs = doc.querySelector(".crumbs");
    var mine = document.querySelector(".crumbs");
    if (crumbs && mine) mine.replaceWith(crumbs);
    document.title = doc.title;
    takeSeq(doc);
    return true;
  }

  // Replace only the live sections that changed and that the user is not working in.
  function swapLive(doc) {
    var changed = 0;
    document.querySelectorAll("[data-live][id]").forEach(function (el) {
      var fresh = doc.getElementById(el.id);
      if (!fresh || fresh.innerHTML === el.innerHTML) return;
      if (el.contains(document.activeElement) || isDirty(el)) {
        el.dataset.stale = "true";
        return;
      }
      fresh.classList.add("flash-update");
      el.replaceWith(fresh);
      changed++;
    });
    takeSeq(doc);
    return changed;
  }

  function refresh() {
    fetch(location.href, { credentials: "same-origin", headers: { "X-Registry-Refresh": "1" } })
      .then(function (r) { return r.text().then(function (t) { return [r, t]; }); })
      .then(function (rt) {
        var doc = parse(rt[1]);
        if (rt[0].status === 404 || !doc.querySelector("[data-live]")) {
          swapAll(doc); // the model or version went away: show what the server says now
        } else {
          swapLive(doc);
        }
      })
      .catch(function () { /* offline for a moment: the next event tries again */ });
  }

  function scheduleRefresh() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refresh, 150);
  }

  function afterSwap(isPost) {
    var notice = document.querySelector("#notices .notice");
    if (!notice) return;
    if (notice.classList.contains("notice-error")) {
      notice.scrollIntoView({ block: "center" });
    } else if (isPost) {
      toast(notice.textContent);
    }
  }

  function navigate(url, push) {
    return fetch(url, { credentials: "same-origin" })
      .then(function (r) { return r.text().then(function (t) { return [r, t]; }); })
      .then(function (rt) {
        if (swapAll(parse(rt[1]))) {
          if (push) history.pushState(null, "", rt[0].url);
          window.scrollTo(0, 0);
        } else {
          location.href = url;
        }
      });
  }

  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!(form instanceof HTMLFormElement) || ev.defaultPrevented) return;
    var method = (form.getAttribute("method") || "get").toLowerCase();
    var data = new URLSearchParams(new FormData(form));
    ev.preventDefault();
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    var done;
    if (method === "post") {
      done = fetch(form.action, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
      }).then(function (r) {
        return r.text().then(function (text) {
          if (!swapAll(parse(text))) throw new Error("no page");
          // After a redirect we are on the page it names; a refusal re-renders the page we were on.
          if (r.redirected && r.url !== location.href) history.pushState(null, "", r.url);
          afterSwap(true);
        });
      });
    } else {
      var target = new URL(form.action, location.href);
      target.search = data.toString();
      done = navigate(target.toString(), true);
    }
    done.catch(function () {
      buttons.forEach(function (b) { b.disabled = false; });
      HTMLFormElement.prototype.submit.call(form); // fall back to the plain form
    });
  });

  window.addEventListener("popstate", function () { navigate(location.href, false); });

  // -- live ----------------------------------------------------------------------------------------------------
  if (window.EventSource) {
    var indicator = document.getElementById("live");
    var source = new EventSource("/events?since=" + seq);
    source.onopen = function () {
      if (!indicator) return;
      indicator.textContent = "live";
      indicator.classList.add("on");
    };
    source.onerror = function () {
      if (!indicator) return;
      indicator.textContent = "reconnecting";
      indicator.classList.remove("on");
    };
    source.onmessage = function (msg) {
      var event;
      try { event = JSON.parse(msg.data); } catch (e) { return; }
      if (event.seq <= seq) return; // this page already shows it
      toast((event.model ? event.model + ": " : "") + event.what + (event.actor ? " (" + event.actor + ")" : ""));
      scheduleRefresh();
    };
    // The indicator lives outside <main>, so page swaps keep it.
  }
})();
