/* Kompas: start DKFDS components, and start them again in whatever htmx swaps in. */
(function () {
  "use strict";
  function initDesignSystem(scope) {
    if (window.DKFDS && typeof window.DKFDS.init === "function") {
      window.DKFDS.init({ scope: scope || document });
    }
  }
  document.addEventListener("DOMContentLoaded", function () { initDesignSystem(document); });
  document.addEventListener("htmx:afterSettle", function (event) { initDesignSystem(event.target); });

  // Every htmx request carries the CSRF token that the page was rendered with.
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('input[name="csrf_token"]');
    if (meta) { event.detail.headers["X-CSRFToken"] = meta.value; }
  });
})();

/* Upload progress for forms marked data-upload-progress. */
document.addEventListener("htmx:xhr:progress", function (event) {
  var form = event.target.closest ? event.target.closest("[data-upload-progress]") : null;
  if (!form || !event.detail.lengthComputable) { return; }
  var bar = form.querySelector("progress");
  if (bar) { bar.value = Math.round((event.detail.loaded / event.detail.total) * 100); }
});
