// A button with data-copy="<input id>" copies that input's text and says so on itself.
"use strict";
document.addEventListener("click", (event) => {
  const button = event.target.closest ? event.target.closest("[data-copy]") : null;
  if (!button) { return; }
  const input = document.getElementById(button.dataset.copy);
  if (!input) { return; }
  input.select();
  const said = (text) => {
    button.textContent = text;
    setTimeout(() => { button.textContent = "Copy"; }, 2000);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(input.value).then(() => said("Copied"), () => said("Press Ctrl+C"));
  } else {
    said(document.execCommand && document.execCommand("copy") ? "Copied" : "Press Ctrl+C");
  }
});
