// The goal bar (core/web/overlays/templates/overlay/goal.html): overlay.js hands each state
// from the stream here. Text is only ever set with textContent.
(function () {
  "use strict";
  function number(n) { return Number(n || 0).toLocaleString("en-US"); }

  window.StreamKeeperGoal = {
    draw: function (state) {
      var box = document.getElementById("goal");
      var goal = state && state.goal;
      if (!goal) { box.hidden = true; return; }
      var progress = Math.max(0, Number(goal.progress) || 0);
      var target = Math.max(1, Number(goal.target) || 1);
      // At or past the target the bar is full (never past its track) and says so.
      var reached = goal.reached === true || progress >= target;
      var share = Math.min(1, progress / target);
      document.getElementById("goal-title").textContent = goal.title;
      document.getElementById("goal-fill").style.width = (share * 100).toFixed(2) + "%";
      var bar = document.getElementById("goal-bar");
      bar.setAttribute("aria-valuemax", String(target));
      bar.setAttribute("aria-valuenow", String(Math.min(progress, target)));
      document.getElementById("goal-count").textContent =
        number(progress) + " / " + number(target) + " " + goal.unit;
      box.setAttribute("data-progress", String(progress));
      if (reached) { box.setAttribute("data-reached", "yes"); } else { box.removeAttribute("data-reached"); }
      document.getElementById("goal-reached").hidden = !reached;
      box.hidden = false;
    }
  };
})();
