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
  // The nav folds behind a Menu button on narrow screens (site.css says when). Only with this
  // script running: without it the button stays hidden and the links simply wrap.
  var topbar = document.querySelector(".topbar");
  var toggle = topbar && topbar.querySelector(".nav-toggle");
  var nav = topbar && topbar.querySelector("nav");
  // Two or three links (logged out) fit on any phone: folding them would only hide them.
  if (toggle && nav && nav.children.length > 3) {
    var setOpen = function (open) {
      topbar.classList.toggle("open", open);
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    };
    topbar.classList.add("foldable");
    toggle.hidden = false;
    toggle.addEventListener("click", function () { setOpen(!topbar.classList.contains("open")); });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && topbar.classList.contains("open")) { setOpen(false); toggle.focus(); }
    });
  }
  // <input data-select-on-click>: one click selects the whole value, ready to copy.
  document.addEventListener("click", function (event) {
    var el = event.target;
    if (el && el.hasAttribute && el.hasAttribute("data-select-on-click")) el.select();
  });
})();
