// An overlay whose server could not read its database shows nothing and loads itself again
// after the seconds its script tag names (a script, not a meta refresh: OBS never sees a
// timed refresh warning, and the page's policy allows only this site's scripts), up to twice
// that at random: the overlays of every streamer on the server then do not all ask at the
// same second once the database is back.
(function () {
  "use strict";
  var seconds = Number(document.currentScript.getAttribute("data-seconds")) || 10;
  setTimeout(function () { window.location.reload(); }, seconds * (1 + Math.random()) * 1000);
})();
