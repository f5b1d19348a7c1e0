// Times marked <time datetime="..." data-local> are written in UTC by the server; this shows
// them on the reader's own clock and names the zone ("Nov 28, 1:37 AM EST"), the UTC text kept
// as the tooltip. data-local="seconds" keeps the seconds. Parts a live page swaps in are
// rewritten too. Without JavaScript the UTC text stays.
"use strict";
(() => {
  const thisYear = new Date().getFullYear();

  function show(el) {
    const moment = new Date(el.getAttribute("datetime"));
    if (Number.isNaN(moment.getTime())) {
      return;
    }
    const parts = {
      month: "short",
      day: "numeric",
      hour: "numeric",
      minute: "2-digit",
      timeZoneName: "short",
    };
    if (el.dataset.local === "seconds") {
      parts.second = "2-digit";
    }
    if (moment.getFullYear() !== thisYear) {
      parts.year = "numeric";
    }
    el.title = el.textContent;
    el.textContent = new Intl.DateTimeFormat(undefined, parts).format(moment);
    el.removeAttribute("data-local");
  }

  function showAll(root) {
    root.querySelectorAll("time[data-local]").forEach(show);
  }

  function start() {
    showAll(document);
    new MutationObserver((changes) => {
      for (const change of changes) {
        change.addedNodes.forEach((node) => {
          if (node.nodeType === Node.ELEMENT_NODE) {
            if (node.matches("time[data-local]")) {
              show(node);
            }
            showAll(node);
          }
        });
      }
    }).observe(document.body, { childList: true, subtree: true });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
