// A button with data-copy="<input id>" copies that input's text and says so on itself. An input
// hidden in a closed <details> (an overlay's secret URL) is copied without showing it where the
// clipboard API is there; elsewhere copying needs it selected, so it is shown first.
"use strict";
document.addEventListener("click", (event) => {
  const button = event.target.closest ? event.target.closest("[data-copy]") : null;
  if (!button) { return; }
  const input = document.getElementById(button.dataset.copy);
  if (!input) { return; }
  const label = button.textContent;
  const said = (text) => {
    button.textContent = text;
    setTimeout(() => { button.textContent = label; }, 2000);
  };
  const selectShown = () => {
    const secret = input.closest("details");
    if (secret) { secret.open = true; }
    input.select();
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(input.value).then(() => said("Copied"), () => { selectShown(); said("Press Ctrl+C"); });
  } else {
    selectShown();
    said(document.execCommand && document.execCommand("copy") ? "Copied" : "Press Ctrl+C");
  }
});
