/* The status-arrow board: drag a card to another column (SortableJS), or use its buttons.
   A drop posts the same small form as the buttons; htmx then swaps the columns. What a move
   did is read out from #board-status, and a move that was not saved says so in #board-alert
   (both outside the swapped columns, so that screen readers notice the change). */
(function () {
  "use strict";
  var dropped = null; // the card dragged to another column, until the server has answered

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
        sort: false, // the order within a column is not kept: only the column counts
        // On a touch screen a card is dragged after a short press, so that a swipe over
        // the cards still scrolls the page.
        delay: 250,
        delayOnTouchOnly: true,
        animation: 150,
        onEnd: function (event) {
          var card = event.item;
          var status = event.to.getAttribute("data-status");
          if (event.from === event.to || !card.dataset.moveUrl) { return; }
          dropped = { card: card, from: event.from, index: event.oldIndex };
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
  function isBoard(target) {
    var board = document.getElementById("board-columns");
    return !!(board && target && (target === board || target.contains(board)));
  }
  function isMove(detail) {
    return isBoard(detail.target) && !!detail.requestConfig && detail.requestConfig.verb === "post";
  }
  function showAlert(templateId) {
    var region = document.getElementById("board-alert");
    var template = templateId && document.getElementById(templateId);
    if (!region) { return; }
    region.textContent = "";
    if (template) { region.appendChild(template.content.cloneNode(true)); }
  }
  function announce(board) {
    var region = document.getElementById("board-status");
    var message = board.querySelector("[data-announce]");
    if (!region) { return; }
    region.textContent = "";
    // After the focus has settled on the moved card, so that the news is not cut off.
    if (message) {
      window.setTimeout(function () { region.textContent = message.textContent.trim(); }, 150);
    }
  }
  function restoreFocus(board) {
    var id = board.getAttribute("data-focus");
    var target = id && document.getElementById(id);
    if (target) { target.focus(); }
  }
  // The move was not saved (no answer, an error, or not the board: a session that ended):
  // put a dragged card back where it came from and say so.
  function moveFailed() {
    if (dropped && dropped.from.isConnected) {
      dropped.from.insertBefore(dropped.card, dropped.from.children[dropped.index] || null);
    }
    dropped = null;
    document.querySelectorAll("#board-columns [style]").forEach(function (el) {
      el.removeAttribute("style");
    });
    showAlert("board-move-failed");
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail;
    if (!isBoard(detail.target)) { return; }
    var status = detail.xhr ? detail.xhr.status : 0;
    // A conflict (409) still brings the current board and its message: show it.
    if (status === 409) {
      detail.shouldSwap = true;
      detail.isError = false;
    }
    if (detail.shouldSwap && isMove(detail) &&
        String(detail.serverResponse).indexOf('id="board-columns"') === -1) {
      detail.shouldSwap = false; // an error page or the sign-in page: keep the board
      moveFailed();
      return;
    }
    if (detail.shouldSwap) {
      dropped = null;
      // SortableJS animates with inline styles; htmx would copy them onto the new cards
      // with the same ids (setAttribute), which the Content-Security-Policy forbids.
      var board = document.getElementById("board-columns");
      board.querySelectorAll("[style]").forEach(function (el) { el.removeAttribute("style"); });
    }
  });
  ["htmx:responseError", "htmx:sendError", "htmx:timeout"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      if (isMove(event.detail)) { moveFailed(); }
    });
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    init(document);
    var target = event.target;
    var board = target.id === "board-columns" ? target : target.querySelector("#board-columns");
    if (!board) { return; }
    showAlert(null);
    restoreFocus(board);
    announce(board);
  });
})();
