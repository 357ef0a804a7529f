// Behaviour every page may use, declared in the markup with data- attributes instead of inline
// handlers (onclick=, onsubmit=), which the Content-Security-Policy does not let run.
(function () {
  "use strict";
  // <form data-confirm="Really?">: ask before submitting.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form && form.dataset ? form.dataset.confirm : null;
    if (question && !window.confirm(question)) event.preventDefault();
  });
  // <input data-select-on-click>: one click selects the whole value, ready to copy.
  document.addEventListener("click", function (event) {
    var el = event.target;
    if (el && el.hasAttribute && el.hasAttribute("data-select-on-click")) el.select();
  });
})();
