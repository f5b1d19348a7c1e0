// A form marked data-confirm asks its question before it submits ("Remove VIP now", "Remove all
// my links", a reroll, a role tier removed): Cancel keeps everything as it is.
"use strict";
document.addEventListener(
  "submit",
  (event) => {
    const question = event.target.dataset ? event.target.dataset.confirm : undefined;
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  },
  true,
);
