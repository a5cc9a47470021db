// Poll the import job's progress endpoint and update the bar until the job finishes.
// Without JavaScript the page still shows the state at load time and a refresh link.
(function () {
  "use strict";

  var INTERVAL_MS = 1500;
  var box = document.querySelector("[data-import-progress]");
  if (!box) {
    return;
  }
  var bar = box.querySelector("[data-bar]");
  var percentText = box.querySelector("[data-percent]");
  var message = box.querySelector("[data-message]");

  function show(state) {
    bar.value = state.percent;
    bar.textContent = state.percent + "%";
    percentText.textContent = state.percent + "%";
    message.textContent = (state.message || "") + "（" + state.done + "/" + state.total + "）";
  }

  function poll() {
    fetch(box.getAttribute("data-url"), {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.json();
      })
      .then(function (state) {
        show(state);
        if (state.finished) {
          // Reload once so the per-row results table shows the final outcome.
          if (!box.hasAttribute("data-was-finished")) {
            window.location.reload();
          }
          return;
        }
        window.setTimeout(poll, INTERVAL_MS);
      })
      .catch(function () {
        window.setTimeout(poll, INTERVAL_MS * 4);
      });
  }

  poll();
})();
