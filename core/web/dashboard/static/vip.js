// Countdowns on the VIP list: each <time class="countdown" datetime="..."> shows the time left.
(function () {
  "use strict";
  function left(ms) {
    if (ms <= 0) { return "ending now"; }
    var s = Math.floor(ms / 1000), d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600);
    var m = Math.floor(s % 3600 / 60), sec = s % 60;
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return "in " + (d ? d + "d " : "") + h + "h " + pad(m) + "m " + pad(sec) + "s";
  }
  function tick() {
    document.querySelectorAll("time.countdown").forEach(function (el) {
      var end = Date.parse(el.getAttribute("datetime"));
      if (isNaN(end)) { return; }
      if (!el.hasAttribute("title")) { el.setAttribute("title", el.textContent); }
      el.textContent = left(end - Date.now());
    });
  }
  tick();
  setInterval(tick, 1000);
  document.addEventListener("live:updated", tick);
})();
