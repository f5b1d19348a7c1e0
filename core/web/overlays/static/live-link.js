// One live connection per browser. Every dashboard tab, overlay and preview of this origin
// subscribes here; a SharedWorker (this same file, run as a worker) holds ONE EventSource on
// /live carrying all their subscriptions, so a dozen open tabs hold one of the browser's six
// connections to the server instead of a dozen (core/web/dashboard/live_mux.py). Where the
// browser has no SharedWorker, the page runs the same hub itself: one connection per tab.
//
// A subscription is a label: "d:<guild>:<topic>" (a dashboard page part) or "o:<token>" (an
// overlay). The hub keeps each one's last number and sends it back when it reconnects, so
// nothing missed goes unnoticed; a page joining a subscription the hub already follows gets
// what the hub last heard (the overlay's state, the alerts after the one it asks for).
//
// Page side: StreamKeeperLive.subscribe(label, last, onEvent, onStatus); onEvent(name, id,
// data), onStatus(true|false) when the connection opens or drops.
(function (scope) {
  "use strict";
  var NAMES = ["ready", "changed", "reload", "state", "alert", "refused", "gone"];
  var KEPT_ALERTS = 20;
  // Reconnecting: when the server restarts, every open page and overlay of every streamer
  // loses its connection at once. Each waits a random while in a window (a quarter of it to
  // all of it) that doubles with each failed try, from 4 s to at most 30 s, so they come back
  // spread out and knock ever more rarely while the server is away. A try that got no answer
  // at all (or a refusal: too many connections) waits at least the 16 s window; a connection
  // that stayed up STEADY_MS starts again from the first window.
  var FIRST_WINDOW_MS = 4000;
  var LONGEST_WINDOW_MS = 30000;
  var STEADY_MS = 10000;
  var UNANSWERED_FAILURES = 2;

  // --- the hub: in the SharedWorker, or in the page as the fallback -----------------------
  function Hub(streamUrl) {
    this.streamUrl = streamUrl;
    this.subs = {};
    this.source = null;
    this.live = false;
    this.timer = null;
    this.failures = 0;  // tries in a row that ended without a steady connection
    this.backingOff = false;  // waiting to try again after a drop
    this.connection = Math.random().toString(36).slice(2) + Date.now().toString(36);
  }
  Hub.prototype.subscribe = function (port, label, last) {
    var sub = this.subs[label];
    if (!sub) {
      sub = this.subs[label] = { last: last, ports: [], state: null, alerts: [] };
      // followed from the next connection: now, or, while waiting to try again after a
      // drop, at that try (a page joining does not cut the wait short)
      if (!this.backingOff) { this.reopenSoon(30); }
    } else {
      this.catchUp(port, label, sub, last);
    }
    sub.ports.push(port);
    if (this.live) { port.postMessage({ status: true }); }
  };
  Hub.prototype.catchUp = function (port, label, sub, last) {
    if (sub.state) { port.postMessage(sub.state); }
    if (label.indexOf("o:") !== 0 || sub.state) {
      if (label.indexOf("d:") === 0) { port.postMessage({ sub: label, name: "ready", id: sub.last, data: {} }); }
      return;
    }
    var from = last === null || last === undefined ? sub.last : Number(last);
    port.postMessage({ sub: label, name: "ready", id: from, data: { last: from === null ? 0 : from } });
    sub.alerts.forEach(function (message) {
      if (message.id > from) { port.postMessage(message); }
    });
  };
  Hub.prototype.leave = function (port) {
    var hub = this;
    Object.keys(hub.subs).forEach(function (label) {
      var sub = hub.subs[label];
      sub.ports = sub.ports.filter(function (p) { return p !== port; });
      if (!sub.ports.length) { delete hub.subs[label]; }  // dropped at the next reconnect
    });
    if (!Object.keys(hub.subs).length) { hub.stop(); }
  };
  Hub.prototype.stop = function () {
    if (this.source) { this.source.close(); this.source = null; }
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    this.live = false;
    this.backingOff = false;
  };
  Hub.prototype.reopenSoon = function (ms) {
    var hub = this;
    if (hub.timer) { clearTimeout(hub.timer); }
    hub.timer = setTimeout(function () { hub.timer = null; hub.open(); }, ms);
  };
  Hub.prototype.url = function () {
    var hub = this;
    var parts = ["c=" + hub.connection];
    Object.keys(hub.subs).forEach(function (label) {
      var last = hub.subs[label].last;
      parts.push("s=" + encodeURIComponent(label + (last === null || last === undefined ? "" : ":" + last)));
    });
    return hub.streamUrl + "?" + parts.join("&");
  };
  Hub.prototype.tell = function (message) {
    var hub = this;
    Object.keys(hub.subs).forEach(function (label) {
      hub.subs[label].ports.forEach(function (port) { port.postMessage(message); });
    });
  };
  Hub.prototype.open = function () {
    var hub = this;
    hub.backingOff = false;
    if (hub.source) { hub.source.close(); }
    if (!Object.keys(hub.subs).length) { hub.source = null; return; }
    var source = hub.source = new EventSource(hub.url());
    var opened = null;  // when it opened
    source.onopen = function () { opened = Date.now(); hub.live = true; hub.tell({ status: true }); };
    NAMES.forEach(function (name) {
      source.addEventListener(name, function (e) { hub.heard(name, JSON.parse(e.data)); });
    });
    // EventSource would reconnect by itself, but with the numbers of its first URL and after
    // a fixed wait: reconnect here instead, with each subscription's latest, after backoff().
    source.onerror = function () {
      if (hub.source !== source) { return; }
      source.close();
      hub.source = null;
      hub.live = false;
      hub.tell({ status: false });
      hub.backingOff = true;
      hub.reopenSoon(hub.backoff(opened));
    };
  };
  Hub.prototype.backoff = function (opened) {
    if (opened === null) {
      this.failures = Math.max(this.failures, UNANSWERED_FAILURES);
    } else if (Date.now() - opened >= STEADY_MS) {
      this.failures = 0;
    }
    var span = Math.min(LONGEST_WINDOW_MS, FIRST_WINDOW_MS * Math.pow(2, this.failures));
    this.failures = Math.min(this.failures + 1, 10);
    return span * (0.25 + 0.75 * Math.random());
  };
  Hub.prototype.heard = function (name, body) {
    var sub = this.subs[body.sub];
    if (!sub) { return; }
    var message = { sub: body.sub, name: name, id: body.id, data: body.data };
    if (body.id !== null && body.id !== undefined) { sub.last = body.id; }
    if (name === "state") { sub.state = message; }
    if (name === "alert") {
      sub.alerts.push(message);
      if (sub.alerts.length > KEPT_ALERTS) { sub.alerts.shift(); }
    }
    sub.ports.forEach(function (port) { port.postMessage(message); });
    if (name === "refused" || name === "gone") { delete this.subs[body.sub]; }
  };

  // --- run as the SharedWorker ---------------------------------------------------------------
  if (typeof window === "undefined") {
    var shared = new Hub(scope.location.origin + "/live");
    scope.onconnect = function (e) {
      var port = e.ports[0];
      port.onmessage = function (m) {
        var ask = m.data || {};
        if (ask.type === "subscribe") { shared.subscribe(port, String(ask.sub), ask.last); }
        if (ask.type === "bye") { shared.leave(port); }
      };
      port.start();
    };
    return;
  }

  // --- run in a page -------------------------------------------------------------------------
  var handlers = {};
  var statusHandlers = [];
  var script = document.currentScript;
  var link = null;

  function deliver(message) {
    if (message.status !== undefined) {
      statusHandlers.forEach(function (f) { f(message.status); });
      return;
    }
    (handlers[message.sub] || []).forEach(function (f) { f(message.name, message.id, message.data); });
  }
  function connect() {
    if (link) { return link; }
    if (window.SharedWorker && script) {
      try {
        var worker = new SharedWorker(script.src, { name: "streamkeeper-live" });
        worker.port.onmessage = function (m) { deliver(m.data); };
        worker.port.start();
        window.addEventListener("pagehide", function () { worker.port.postMessage({ type: "bye" }); });
        link = { send: function (m) { worker.port.postMessage(m); }, shared: true };
        return link;
      } catch (ignored) { /* a browser that refuses workers here: the page's own hub */ }
    }
    var hub = new Hub(window.location.origin + "/live");
    var port = { postMessage: function (m) { setTimeout(function () { deliver(m); }, 0); } };
    window.addEventListener("pagehide", function () { hub.leave(port); });
    link = {
      send: function (m) { if (m.type === "subscribe") { hub.subscribe(port, m.sub, m.last); } },
      shared: false
    };
    return link;
  }

  window.StreamKeeperLive = {
    subscribe: function (label, last, onEvent, onStatus) {
      if (!window.EventSource) { return false; }
      (handlers[label] = handlers[label] || []).push(onEvent);
      if (onStatus) { statusHandlers.push(onStatus); }
      connect().send({ type: "subscribe", sub: label, last: last === undefined ? null : last });
      return true;
    },
    shared: function () { return connect().shared; }
  };
})(self);
