// On-stream overlays (core/web/overlays/). The page is a 1920x1080 stage scaled to the browser
// source; it hears its overlay's stream (Server-Sent Events) and draws what it says. Text is
// only ever set with textContent: names come from stream chat.
(function () {
  "use strict";
  var body = document.body;
  var kind = body.getAttribute("data-kind");
  var HEX = /^#[0-9a-f]{6}$/i;

  function colour(name, attr) {
    var value = body.getAttribute(attr) || "";
    if (HEX.test(value)) { document.documentElement.style.setProperty(name, value); }
  }
  colour("--accent", "data-accent");
  colour("--text", "data-text");

  // A source shaped like the stage (16:9, any size) shows the whole stage, scaled. One of
  // another shape (a 300x100 strip for the goal bar, a square for the heist) shows the overlay's
  // one panel alone, as large as fits and centred: on the whole stage it would be a speck.
  var PANELS = { heist: "heist", raffle: "raffle", goal: "goal", alerts: "alert" };
  var panel = document.getElementById(PANELS[kind] || "");
  function fit() {
    var width = window.innerWidth;
    var height = window.innerHeight;
    var scale = Math.min(width / 1920, height / 1080) || 1;
    var dx = 0;
    var dy = 0;
    var shape = width / height / (1920 / 1080);
    if (panel && panel.offsetWidth && panel.offsetHeight && (shape > 1.25 || shape < 0.8)) {
      scale = Math.min(width / panel.offsetWidth, height / panel.offsetHeight);
      dx = (width - scale * panel.offsetWidth) / 2 - scale * panel.offsetLeft;
      dy = (height - scale * panel.offsetHeight) / 2 - scale * panel.offsetTop;
    }
    var root = document.documentElement.style;
    root.setProperty("--scale", String(scale));
    root.setProperty("--shift-x", dx + "px");
    root.setProperty("--shift-y", dy + "px");
  }
  window.addEventListener("resize", fit);
  if (panel && window.ResizeObserver) { new ResizeObserver(fit).observe(panel); }  // it grew, showed
  fit();

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }
  function number(n) { return Number(n || 0).toLocaleString("en-US"); }

  // The server's clock, as far as this page can tell: countdowns use it, not the PC's.
  var offset = 0;
  function noteNow(state) {
    if (state && state.now) { offset = Date.parse(state.now) - Date.now(); }
  }
  function serverNow() { return Date.now() + offset; }

  // --- heist -----------------------------------------------------------------------------
  var heistTimer = null;
  function drawHeist(state) {
    var panel = document.getElementById("heist");
    var crew = document.getElementById("heist-crew");
    var clock = document.getElementById("heist-clock");
    var summary = document.getElementById("heist-summary");
    if (heistTimer) { clearInterval(heistTimer); heistTimer = null; }
    panel.setAttribute("data-state", state.state);
    if (state.state === "idle") { panel.hidden = true; return; }
    panel.hidden = false;
    clear(crew);
    (state.crew || []).forEach(function (member) {
      var row = el("li");
      row.appendChild(el("span", "name", member.name));
      if (member.badge) { row.appendChild(el("span", "badge", member.badge)); }
      row.appendChild(el("span", "risk risk-" + member.risk, member.risk));
      if (state.state === "resolved") {
        row.appendChild(el("span", member.won ? "won" : "lost", member.won ? "+" + number(member.payout) : "lost " + number(member.stake)));
      } else {
        row.appendChild(el("span", "stake", number(member.stake)));
      }
      crew.appendChild(row);
    });
    var size = (state.crew || []).length;
    if (state.state === "open") {
      document.getElementById("heist-title").textContent = "Heist: join now!";
      summary.textContent = size + (size === 1 ? " in the crew, " : " in the crew, ") + number(state.staked) + " staked. Type !join <amount> <risk>";
      var closes = Date.parse(state.closes_at);
      var tick = function () {
        var left = Math.max(0, Math.round((closes - serverNow()) / 1000));
        clock.textContent = left > 0 ? Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0") : "closing...";
      };
      tick();
      heistTimer = setInterval(tick, 250);
    } else {
      document.getElementById("heist-title").textContent = "Heist over";
      clock.textContent = "";
      summary.textContent = (state.winners || 0) + " of " + size + " made it out. Paid " + number(state.paid) + ".";
      var until = Date.parse(state.shown_until) - serverNow();
      heistTimer = setTimeout(function () { panel.hidden = true; panel.setAttribute("data-state", "idle"); }, Math.max(0, until));
    }
  }

  // --- raffle ----------------------------------------------------------------------------
  function drawRaffle(state) {
    var panel = document.getElementById("raffle");
    var top = document.getElementById("raffle-top");
    var drawBox = document.getElementById("raffle-draw");
    clear(top);
    (state.top || []).forEach(function (entry, i) {
      var row = el("li");
      row.appendChild(el("span", "rank", entry.place || "#" + (i + 1)));  // "=2": a shared rank
      row.appendChild(el("span", "name", entry.name));
      row.appendChild(el("span", "tickets", number(entry.tickets)));
      top.appendChild(row);
    });
    document.getElementById("raffle-total").textContent = state.period_id ? number(state.total) + " tickets" : "";
    var draw = state.draw;
    if (draw) { drawRaffleDraw(draw); }
    drawBox.hidden = !draw;
    panel.hidden = !(state.period_id || draw);
  }

  // The last draw: its winners and prize, or, when nobody won, that and why (never a prize
  // "won" by nobody).
  function drawRaffleDraw(draw) {
    var winners = document.getElementById("raffle-winners");
    var names = (draw.winners || []).filter(function (name) { return name; });
    var title = document.getElementById("raffle-draw-title");
    var why = document.getElementById("raffle-no-winner");
    clear(winners);
    names.forEach(function (name) { winners.appendChild(el("li", "", null)).appendChild(el("span", "name", name)); });
    winners.hidden = !names.length;
    if (names.length) {
      title.textContent = draw.prize ? "Won: " + draw.prize : "Winners";
      why.textContent = "";
    } else {
      title.textContent = "No winner this time";
      why.textContent = draw.no_winner_reason || "Nobody could win this draw.";
    }
    why.hidden = !!names.length;
    document.getElementById("raffle-proof").textContent = "Proof: " + window.location.origin + draw.proof_path;
  }

  // --- alerts: each once, in order; alerts.js queues and plays them --------------------
  var lastQueued = 0;
  function queueAlert(alert) {
    if (alert.seq <= lastQueued) { return; }
    lastQueued = alert.seq;
    if (window.StreamKeeperAlerts) { window.StreamKeeperAlerts.queue(alert); }
    remember();
  }

  // An OBS source that reloads (refreshed, or shut down while hidden and started again) is a
  // fresh page, which would start at the newest alert and miss those of the reload itself. The
  // page keeps the last alert it had shown (or was showing) in this browser's storage, with
  // when: reopened within RESUME_MS it goes on after that one, so alerts still waiting their
  // turn are not lost either; later it starts at the newest, never replaying the alerts of a
  // stream long over.
  var RESUME_MS = 60000;
  var ownToken = /\/overlay\/([A-Za-z0-9_-]+)\/events$/.exec(body.getAttribute("data-events") || "");
  var memoryKey = ownToken ? "streamkeeper-alerts:" + ownToken[1] : null;
  function remember() {
    if (kind !== "alerts" || !memoryKey) { return; }
    var waiting = window.StreamKeeperAlerts ? window.StreamKeeperAlerts.waiting() : null;
    var seq = waiting ? waiting - 1 : lastQueued;  // the alerts after it are asked for again
    try {
      window.localStorage.setItem(memoryKey, JSON.stringify({ seq: seq, at: Date.now() }));
    } catch (e) { /* storage refused: a reload starts at the newest */ }
  }
  function remembered() {
    if (kind !== "alerts" || !memoryKey) { return null; }
    try {
      var kept = JSON.parse(window.localStorage.getItem(memoryKey) || "null");
      var age = kept ? Date.now() - Number(kept.at) : Infinity;
      var seq = kept ? String(kept.seq) : "";
      return age >= 0 && age <= RESUME_MS && /^[0-9]{1,18}$/.test(seq) && seq !== "0" ? seq : null;
    } catch (e) {
      return null;
    }
  }
  if (kind === "alerts") {
    setInterval(remember, 5000);  // still here: a reload soon after may go on from here
    window.addEventListener("pagehide", remember);
  }

  // --- the stream ------------------------------------------------------------------------
  // The overlay follows its stream through the browser's one shared live connection
  // (live-link.js): OBS sources and the dashboard's previews of this origin share it.
  // ?since=N: start after alert N instead of at the newest (the dashboard's preview shows the
  // test alert it just sent this way).
  var since = new URLSearchParams(window.location.search).get("since");
  var lastId = since && /^[0-9]{1,18}$/.test(since) ? since : remembered();
  if (lastId !== null) { lastQueued = Number(lastId); }  // what comes is after it
  function onState(state) {
    noteNow(state);
    if (kind === "heist") { drawHeist(state); } else if (kind === "raffle") { drawRaffle(state); }
    else if (kind === "goal" && window.StreamKeeperGoal) { window.StreamKeeperGoal.draw(state); }
    body.setAttribute("data-live", "yes");
  }
  var leaving = false;
  function onEvent(name, id, data) {
    if (leaving) { return; }  // what comes now, the page asks for again once reloaded
    // "reload": the streamer changed its look. "gone": its link was rotated (or the overlay
    // removed); reloaded, the page says so instead of freezing on its last picture.
    if (name === "reload" || name === "gone") {
      leaving = true;
      window.location.reload();
      return;
    }
    if (name === "state") { onState(data); }
    if (name === "ready") {
      lastQueued = data.last || 0;  // the feed's newest: what comes next is after it
      remember();
      body.setAttribute("data-live", "yes");
    }
    if (name === "alert") { queueAlert(data); }
  }
  // A link rotated while the connection was down never hears "gone" (the live stream does not
  // follow an unknown link): when the connection drops or comes back, the page asks for its
  // own state, and a link that no longer works (404) reloads to say so.
  var checking = false;
  function checkLink() {
    var stateUrl = body.getAttribute("data-state");
    if (checking || leaving || !stateUrl || !window.fetch) { return; }
    checking = true;
    window.fetch(stateUrl, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (answer) {
        if (answer.status === 404 && !leaving) { leaving = true; window.location.reload(); }
      })
      .catch(function () { /* the server is away: asked again at the next reconnect */ })
      .then(function () { checking = false; });
  }
  var wasLive = null;
  function follow() {
    var found = /\/overlay\/([A-Za-z0-9_-]+)\/events$/.exec(body.getAttribute("data-events") || "");
    if (!found || !window.StreamKeeperLive) { return; }
    window.StreamKeeperLive.subscribe("o:" + found[1], lastId, onEvent, function (live) {
      if (live && kind === "alerts") { body.setAttribute("data-live", "yes"); }
      if (wasLive !== null && (!live || !wasLive)) { checkLink(); }
      wasLive = live;
    });
  }
  follow();
})();
