// Live parts of a page. An element with data-live-stream (the SSE URL,
// /dashboard/<guild>/live/<topic>) and data-live-url (a URL answering the element's new inner
// HTML) is fetched again whenever the topic changes. Elements sharing a stream share one
// connection. After each update the element gets a "live:updated" event. Without JavaScript
// the page works by reload.
(function () {
  "use strict";
  var groups = {};
  document.querySelectorAll("[data-live-stream][data-live-url]").forEach(function (el) {
    var stream = el.getAttribute("data-live-stream");
    (groups[stream] = groups[stream] || []).push(el);
  });

  function refresh(el) {
    return fetch(el.getAttribute("data-live-url"), { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (answer) {
        if (answer.status === 302 || answer.redirected) { window.location.reload(); return null; }
        return answer.ok ? answer.text() : null;
      })
      .then(function (html) {
        if (html === null) { return; }
        el.innerHTML = html;
        el.setAttribute("data-live-seen", String(Date.now()));
        el.dispatchEvent(new CustomEvent("live:updated", { bubbles: true }));
      })
      .catch(function () { /* the next change or reconnect tries again */ });
  }

  // EventSource reconnects by itself after a dropped connection (sending Last-Event-ID), but
  // gives up on an HTTP error such as 503 (too many live pages open): then start again after a
  // while, carrying the last id in the query so nothing missed goes unnoticed.
  function connect(stream, els, lastId) {
    var state = document.getElementById(els[0].id + "-live-state") || document.querySelector(".live-state");
    var url = stream + (lastId ? (stream.indexOf("?") < 0 ? "?" : "&") + "last_id=" + encodeURIComponent(lastId) : "");
    var source = new EventSource(url);
    var seen = lastId;
    function live() { if (state) { state.textContent = "Updates live."; } }
    function note(e) { if (e.lastEventId) { seen = e.lastEventId; } }
    source.addEventListener("ready", function (e) { note(e); live(); });
    source.addEventListener("changed", function (e) { note(e); live(); els.forEach(refresh); });
    source.addEventListener("reload", function (e) { note(e); els.forEach(refresh); });
    source.onerror = function () {
      if (state) { state.textContent = "Live updates paused; reconnecting..."; }
      if (source.readyState === EventSource.CLOSED) {
        setTimeout(function () { connect(stream, els, seen); }, 10000 + Math.random() * 10000);
      }
    };
  }

  if (window.EventSource) {
    Object.keys(groups).forEach(function (stream) { connect(stream, groups[stream], null); });
  }
})();
