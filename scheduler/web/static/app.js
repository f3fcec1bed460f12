/* Scheduler pages: small progressive enhancements (the pages work without them). No inline script:
   the Content-Security-Policy allows scripts from this file only. */
(function () {
  "use strict";

  // Day board and week: keyboard shortcuts, documented on the page. Links carry data-key.
  function shortcuts() {
    var links = document.querySelectorAll("a[data-key]");
    if (!links.length) return;
    var byKey = {};
    links.forEach(function (a) { a.getAttribute("data-key").split(" ").forEach(function (k) { byKey[k] = a; }); });
    document.addEventListener("keydown", function (event) {
      if (event.altKey || event.ctrlKey || event.metaKey || event.defaultPrevented) return;
      var target = event.target;
      var tag = target && target.tagName;
      if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA" || (target && target.isContentEditable)) return;
      var link = byKey[event.key];
      if (link) {
        event.preventDefault();
        window.location.assign(link.href);
      }
    });
  }

  // Booking form: a one-off session's room type and clinician role follow its kind.
  function kindDefaults() {
    var row = document.querySelector("[data-kind-defaults]");
    if (!row) return;
    var defaults = JSON.parse(row.getAttribute("data-kind-defaults"));
    var kind = document.getElementById("kind");
    var capability = document.getElementById("capability");
    var role = document.getElementById("role");
    if (!kind || !capability || !role) return;
    kind.addEventListener("change", function () {
      var pair = defaults[kind.value];
      if (!pair) return;
      capability.value = pair[0];
      role.value = pair[1];
    });
  }

  // "Print the day sheet": the print stylesheet prints the day's agenda list.
  function printButtons() {
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    shortcuts();
    kindDefaults();
    printButtons();
  });
})();
