/* The status-arrow board: drag a card to another column (SortableJS), or use its buttons.
   A drop posts the same small form as the buttons; htmx then swaps the columns. */
(function () {
  "use strict";
  function csrfToken() {
    var input = document.querySelector('input[name="csrf_token"]');
    return input ? input.value : "";
  }
  function returnTo() {
    var field = document.querySelector('#board-columns input[name="return_to"]');
    return field ? field.value : window.location.pathname + window.location.search;
  }
  function init(root) {
    if (!window.Sortable) { return; }
    root.querySelectorAll(".kompas-column__cards").forEach(function (list) {
      if (list.dataset.sortable) { return; }
      list.dataset.sortable = "1";
      window.Sortable.create(list, {
        group: "board",
        draggable: ".kompas-card[data-movable]",
        animation: 150,
        onEnd: function (event) {
          var card = event.item;
          var status = event.to.getAttribute("data-status");
          if (event.from === event.to || !card.dataset.moveUrl) { return; }
          window.htmx.ajax("POST", card.dataset.moveUrl, {
            target: "#board-columns",
            swap: "outerHTML",
            values: {
              status: status,
              version: card.dataset.version,
              return_to: returnTo(),
              csrf_token: csrfToken()
            }
          });
        }
      });
    });
  }
  function restoreFocus(root) {
    var board = root.id === "board-columns" ? root : root.querySelector("#board-columns");
    var id = board && board.getAttribute("data-focus");
    var target = id && document.getElementById(id);
    if (target) { target.focus(); }
  }
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:afterSettle", function (event) {
    init(document);
    restoreFocus(event.target);
  });
  // A conflict (409) still brings the current board and its message: show it.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr && event.detail.xhr.status === 409) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
