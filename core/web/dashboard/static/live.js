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

  Object.keys(groups).forEach(function (stream) {
    if (!window.EventSource) { return; }
    var els = groups[stream];
    var source = new EventSource(stream);
    var state = document.getElementById(els[0].id + "-live-state") || document.querySelector(".live-state");
    source.addEventListener("ready", function () {
      if (state) { state.textContent = "Updates live."; }
    });
    source.addEventListener("changed", function () { els.forEach(refresh); });
    source.addEventListener("reload", function () { els.forEach(refresh); });
    source.onerror = function () {
      if (state) { state.textContent = "Live updates paused; reconnecting..."; }
    };
    source.onopen = function () {
      if (state) { state.textContent = "Updates live."; }
    };
  });
})();
