// Live parts of a page. An element with data-live-stream (its topic's stream,
// /dashboard/<guild>/live/<topic>) and data-live-url (a URL answering the element's new inner
// HTML) is fetched again whenever the topic changes. Every part of every tab follows its topic
// through the browser's one shared live connection (/overlay/static/live-link.js). After each
// update the element gets a "live:updated" event. Without JavaScript the page works by reload.
(function () {
  "use strict";
  var TOPIC = /\/dashboard\/([0-9]+)\/live\/([a-z]+)$/;
  var groups = {};
  document.querySelectorAll("[data-live-stream][data-live-url]").forEach(function (el) {
    var found = TOPIC.exec(el.getAttribute("data-live-stream"));
    if (!found) { return; }
    var label = "d:" + found[1] + ":" + found[2];
    (groups[label] = groups[label] || []).push(el);
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

  function stateOf(els) {
    return document.getElementById(els[0].id + "-live-state") || document.querySelector(".live-state");
  }

  function follow(label, els) {
    var state = stateOf(els);
    var refused = false;
    function say(text) { if (state && !refused) { state.textContent = text; } }
    window.StreamKeeperLive.subscribe(label, null, function (name, id, data) {
      if (name === "ready") { say("Updates live."); }
      if (name === "changed") { say("Updates live."); els.forEach(refresh); }
      if (name === "reload") { els.forEach(refresh); }
      if (name === "refused") {
        say("Live updates are off: " + (data.reason || "reload the page."));
        refused = true;
      }
    }, function (live) {
      say(live ? "Updates live." : "Live updates paused; reconnecting...");
    });
  }

  if (window.StreamKeeperLive) {
    Object.keys(groups).forEach(function (label) { follow(label, groups[label]); });
  }
})();
