/* Kompas: start DKFDS components, and start them again in whatever htmx swaps in. */
(function () {
  "use strict";
  var DKFDS = window.DKFDS;

  // DKFDS.init sets up the main menu for the whole document whatever its scope, adding one
  // more "Mere" overflow item each time: after an htmx swap the menu must be left alone.
  if (DKFDS && DKFDS.Navigation && DKFDS.Navigation.prototype.init) {
    var initNavigation = DKFDS.Navigation.prototype.init;
    DKFDS.Navigation.prototype.init = function () {
      if (document.querySelector(".navigation-menu .more-option")) { return; }
      return initNavigation.apply(this, arguments);
    };
  }

  function initDesignSystem(scope) {
    if (DKFDS && typeof DKFDS.init === "function") {
      DKFDS.init({ scope: scope || document });
    }
  }
  document.addEventListener("DOMContentLoaded", function () { initDesignSystem(document); });
  document.addEventListener("htmx:afterSettle", function (event) {
    initDesignSystem(event.target);
    // The control that sent the request may have been swapped out, leaving focus nowhere:
    // move it to the start of the new content (an error summary has focused itself already).
    var active = document.activeElement;
    if (active && active !== document.body && document.contains(active)) { return; }
    var scope = event.target.closest ? event.target : document;
    var first = scope.matches("[data-swap-focus]") ? scope : scope.querySelector("[data-swap-focus]");
    if (first) { first.focus(); }
  });

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

/* Drafts: nothing typed is lost to an expired session or a failed request. Forms marked
   data-draft keep what is typed in this browser until the server confirms a save. A draft
   remembers the version its form was loaded at (the hidden "version" field): put back into a
   page that shows a newer saved text, it takes that version back with it, so its save is
   refused and both texts are shown, rather than overwriting unseen what someone else saved. */
(function () {
  "use strict";
  // Keyed by user: the page names its signed-in user by an opaque value (base.html), so one
  // person's unsaved text is never put into another's form on a shared browser.
  var ROOT = "kompas-draft:";
  var OWNER = (document.body && document.body.getAttribute("data-draft-owner")) || "";
  var PREFIX = ROOT + OWNER + ":";
  var VERSION = "__version";
  function versionField(form) { return form.querySelector('input[type="hidden"][name="version"]'); }
  function fields(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && el.name !== "csrf_token" && el.type !== "hidden" && el.type !== "submit" && el.type !== "file";
    });
  }
  function snapshot(form) {
    var data = {};
    fields(form).forEach(function (el) {
      if (el.type === "checkbox" || el.type === "radio") {
        data[el.name + "=" + el.value] = el.checked;
      } else {
        data[el.name] = el.value;
      }
    });
    var version = versionField(form);
    if (version) { data[VERSION] = version.value; }
    return data;
  }
  function restore(form, data) {
    var changed = false;
    fields(form).forEach(function (el) {
      if (el.type === "checkbox" || el.type === "radio") {
        var key = el.name + "=" + el.value;
        if (key in data && el.checked !== data[key]) { el.checked = data[key]; changed = true; }
      } else if (el.name in data && el.value !== data[el.name]) {
        el.value = data[el.name]; changed = true;
      }
    });
    // (Not on the page that shows a refused save: its form names the saved version on purpose.)
    var version = versionField(form);
    if (changed && version && VERSION in data && !form.hasAttribute("data-conflict")) {
      version.value = data[VERSION];
    }
    return changed;
  }
  function notice(form, text) {
    var box = document.createElement("div");
    box.className = "alert alert-info kompas-draft-notice";
    box.setAttribute("role", "status");
    var body = document.createElement("div");
    body.className = "alert-body";
    var p = document.createElement("p");
    p.className = "alert-text";
    p.textContent = text;
    body.appendChild(p);
    box.appendChild(body);
    form.parentNode.insertBefore(box, form);
  }
  function texts() {
    var da = document.documentElement.lang !== "en";
    return {
      restored: da ? "Vi har sat det ind igen, som du skrev, men som ikke blev gemt. Tjek det, og gem." :
        "We put back what you typed that was not saved. Check it and save.",
      expired: da ? "Du er blevet logget ud. Det, du har skrevet, er gemt i denne browser: log ind igen, og gem." :
        "You have been signed out. What you typed is kept in this browser: sign in again and save."
    };
  }
  document.addEventListener("DOMContentLoaded", function () {
    // Signed in: drafts of anyone else (or from before drafts had owners) go at once.
    if (OWNER) {
      Object.keys(localStorage).forEach(function (k) {
        if (k.indexOf(ROOT) === 0 && k.indexOf(PREFIX) !== 0) { localStorage.removeItem(k); }
      });
    }
    var saved = document.querySelector(".alert-success");
    document.querySelectorAll("form[data-draft]").forEach(function (form) {
      var key = PREFIX + form.getAttribute("data-draft");
      if (saved && sessionStorage.getItem(key)) {
        localStorage.removeItem(key);
        sessionStorage.removeItem(key);
      }
      var stored = localStorage.getItem(key);
      if (stored && !saved) {
        try {
          if (restore(form, JSON.parse(stored))) { notice(form, texts().restored); }
        } catch (e) { localStorage.removeItem(key); }
      }
      form.addEventListener("input", function () {
        localStorage.setItem(key, JSON.stringify(snapshot(form)));
      });
      form.addEventListener("submit", function () { sessionStorage.setItem(key, "1"); });
    });
    // "Keep the saved text and drop mine", after a refused save: the draft goes too.
    document.querySelectorAll("a[data-discard-draft]").forEach(function (link) {
      link.addEventListener("click", function () {
        localStorage.removeItem(PREFIX + link.getAttribute("data-discard-draft"));
      });
    });
    document.querySelectorAll("form[data-clear-drafts]").forEach(function (form) {
      form.addEventListener("submit", function () {
        Object.keys(localStorage).forEach(function (k) { if (k.indexOf(ROOT) === 0) { localStorage.removeItem(k); } });
      });
    });
  });
  // An autosave whose session has expired lands on the sign-in page: keep the page as it is.
  // One refused because someone else saved first (409) says so in the save status.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    var form = event.detail.elt && event.detail.elt.closest ? event.detail.elt.closest("form[data-draft]") : null;
    if (form && xhr && xhr.status === 409) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
    var url = xhr && xhr.responseURL;
    if (url && url.indexOf("/auth/login") !== -1) {
      event.detail.shouldSwap = false;
      var target = event.detail.target;
      if (target) { target.textContent = texts().expired; }
    }
  });
  // A successful autosave: the draft is safe on the server.
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt && event.detail.elt.closest ? event.detail.elt.closest("form[data-draft]") : null;
    var xhr = event.detail.xhr;
    if (form && xhr && xhr.status >= 200 && xhr.status < 300 && !(xhr.responseURL || "").match(/auth\/login/)) {
      localStorage.removeItem(PREFIX + form.getAttribute("data-draft"));
    }
  });
})();
