// The alerts overlay's queue (core/web/overlays/templates/overlay/alerts.html): overlay.js
// hears the stream and hands each new alert here, in the server's order (its number); alerts
// play one at a time, never overlapping, each with its picture and sound when it has them.
// Text is only ever set with textContent: names come from stream chat.
// The queue is capped, so a flood (a backlog after an outage) never keeps OBS busy for hours:
// at most MAX_WAITING alerts wait their turn (beyond that the oldest waiting are dropped), and
// one that waited here over MAX_AGE_SECONDS when its turn comes is dropped. Dropped alerts are
// counted in data-dropped.
(function () {
  "use strict";
  var MAX_WAITING = 20;
  var MAX_AGE_SECONDS = 300;
  var body = document.body;
  var queue = [];  // {alert, received}: received is when this page got it (Date.now())
  var showing = false;
  var fallbackSeconds = Math.min(60, Math.max(2, parseInt(body.getAttribute("data-alert-seconds"), 10) || 6));
  // Media URLs come from the server and are this overlay's own paths: anything else is ignored.
  var OWN = /^\/overlay\/[A-Za-z0-9_-]{32}\/media\/[0-9a-f]{32}$/;

  function seconds(alert) {
    var chosen = parseInt(alert.seconds, 10);
    return chosen >= 2 && chosen <= 60 ? chosen : fallbackSeconds;
  }

  function drop(count) {
    body.setAttribute("data-dropped", String(Number(body.getAttribute("data-dropped") || 0) + count));
  }

  function tooOld(item) {
    return (Date.now() - item.received) / 1000 > MAX_AGE_SECONDS;
  }

  function nextFresh() {
    var item = queue.shift();
    while (item && tooOld(item)) {
      drop(1);
      item = queue.shift();
    }
    return item ? item.alert : null;
  }

  // The longest words (200 characters) under a picture would run off the stage's bottom: the
  // title is drawn smaller, step by step, until the whole alert fits (again once its picture
  // has loaded and taken its room).
  var STAGE_BOTTOM = 1080 - 24;
  var TITLE_PX = 64;
  var SMALLEST_PX = 28;
  function fit() {
    var box = document.getElementById("alert");
    var title = document.getElementById("alert-title");
    var size = TITLE_PX;
    title.style.fontSize = "";
    while (size > SMALLEST_PX && box.offsetTop + box.offsetHeight > STAGE_BOTTOM) {
      size -= 4;
      title.style.fontSize = size + "px";
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.getElementById("alert-image").addEventListener("load", fit);
  });

  function showNext() {
    var box = document.getElementById("alert");
    var image = document.getElementById("alert-image");
    var sound = document.getElementById("alert-sound");
    var alert = nextFresh();
    if (!alert) { showing = false; box.hidden = true; return; }
    showing = true;
    document.getElementById("alert-title").textContent = alert.title;
    document.getElementById("alert-detail").textContent = alert.detail || "";
    if (alert.image && OWN.test(alert.image)) {
      image.src = alert.image;
      image.hidden = false;
    } else {
      image.removeAttribute("src");
      image.hidden = true;
    }
    if (alert.sound && OWN.test(alert.sound)) {
      sound.src = alert.sound;
      var played = sound.play();
      if (played && played.catch) { played.catch(function () { /* the browser refused autoplay */ }); }
    } else {
      sound.pause();
      sound.removeAttribute("src");
    }
    box.setAttribute("data-seq", String(alert.seq));
    box.setAttribute("data-kind", alert.kind);
    box.hidden = false;
    fit();
    body.setAttribute("data-shown", String(Number(body.getAttribute("data-shown") || 0) + 1));
    var shown = body.getAttribute("data-shown-seqs");
    body.setAttribute("data-shown-seqs", (shown ? shown + "," : "") + alert.seq);
    setTimeout(function () {
      box.hidden = true;
      sound.pause();
      setTimeout(showNext, 400);  // a breath between two alerts: never overlapping
    }, seconds(alert) * 1000);
  }

  window.StreamKeeperAlerts = {
    queue: function (alert) {
      queue.push({alert: alert, received: Date.now()});
      if (queue.length > MAX_WAITING) { drop(queue.splice(0, queue.length - MAX_WAITING).length); }
      if (!showing) { showNext(); }
    },
    // The number of the first alert still waiting its turn (null: none waits).
    waiting: function () { return queue.length ? queue[0].alert.seq : null; }
  };
})();
