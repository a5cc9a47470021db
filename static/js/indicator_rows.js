// Add and remove indicator rows on the listing forms. The server already renders at least
// three rows, so the form works without this script; it only makes the row count flexible.
(function () {
  "use strict";

  var MAX_ROWS = 30;

  function rowsOf(group) {
    return Array.prototype.slice.call(group.querySelectorAll("[data-indicator-row]"));
  }

  // WTForms names rows "indicators-0-name", "indicators-1-name", …; keep them consecutive.
  function renumber(group) {
    rowsOf(group).forEach(function (row, index) {
      row.querySelectorAll("[name], [id], label[for]").forEach(function (el) {
        ["name", "id", "for"].forEach(function (attr) {
          var value = el.getAttribute(attr);
          if (value) {
            el.setAttribute(attr, value.replace(/^(\w+)-\d+-/, "$1-" + index + "-"));
          }
        });
      });
      row.querySelectorAll("[data-label-template]").forEach(function (el) {
        var text = el.getAttribute("data-label-template").replace("__N__", String(index + 1));
        if (el.tagName === "BUTTON") {
          el.setAttribute("aria-label", text);
        } else {
          el.textContent = text;
        }
      });
    });
  }

  function clear(row) {
    row.querySelectorAll("input").forEach(function (input) {
      input.value = "";
      input.classList.remove("is-invalid");
    });
    row.querySelectorAll("select").forEach(function (select) {
      select.selectedIndex = 0;
    });
    row.querySelectorAll(".invalid-feedback").forEach(function (el) {
      el.remove();
    });
  }

  function addRow(group) {
    var rows = rowsOf(group);
    if (rows.length >= MAX_ROWS) {
      return;
    }
    var copy = rows[rows.length - 1].cloneNode(true);
    clear(copy);
    rows[rows.length - 1].after(copy);
    renumber(group);
    copy.querySelector("input").focus();
  }

  function removeRow(group, row) {
    var rows = rowsOf(group);
    var index = rows.indexOf(row);
    if (rows.length <= 1) {
      clear(row);
      return;
    }
    row.remove();
    renumber(group);
    var remaining = rowsOf(group);
    remaining[Math.min(index, remaining.length - 1)].querySelector("input").focus();
  }

  function init(group) {
    var add = group.querySelector("[data-add-row]");
    add.hidden = false;
    add.addEventListener("click", function () {
      addRow(group);
    });
    group.addEventListener("click", function (event) {
      var button = event.target.closest("[data-remove-row]");
      if (button) {
        removeRow(group, button.closest("[data-indicator-row]"));
      }
    });
    group.querySelectorAll("[data-remove-row]").forEach(function (button) {
      button.hidden = false;
    });
  }

  document.querySelectorAll("[data-indicator-rows]").forEach(init);
})();
