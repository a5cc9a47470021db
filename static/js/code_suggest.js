// Suggest IPC subclasses and GB/T 4754 industries while a listing is written. The server also
// renders suggestions after a submit, so the form works without this script.
(function () {
  "use strict";

  var WAIT_MS = 700;
  var MAX_CHARS = 600; // the start of a description classifies it as well as the whole
  var MIN_CHINESE = 4;

  function chineseCount(text) {
    var found = text.match(/[\u4e00-\u9fff]/g);
    return found ? found.length : 0;
  }

  function codesIn(value) {
    return value.split(/[；;，,、]/).map(function (s) { return s.trim(); }).filter(Boolean);
  }

  function fill(box, kind, code) {
    var target = document.getElementById(box.getAttribute("data-" + kind + "-target"));
    if (!target) { return; }
    if (kind === "industry") {
      target.value = code;
    } else {
      var codes = codesIn(target.value);
      if (codes.indexOf(code) < 0) { codes.push(code); }
      target.value = codes.join("；");
    }
    target.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function chip(box, kind, code, label) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-sm " + (kind === "ipc" ? "btn-outline-primary" : "btn-outline-secondary");
    button.setAttribute("data-code", code);
    button.textContent = code + " " + label;
    return button;
  }

  function render(box, kind, items) {
    var row = box.querySelector('[data-chips="' + kind + '"]');
    if (!row) { return; }
    Array.prototype.slice.call(row.querySelectorAll("button")).forEach(function (b) { b.remove(); });
    items.forEach(function (item) {
      var label = kind === "ipc" ? item.title : item.name;
      if (label.length > 24) { label = label.slice(0, 24) + "…"; }
      row.appendChild(chip(box, kind, item.code, label));
    });
    row.hidden = items.length === 0;
  }

  function textOf(box) {
    return box.getAttribute("data-sources").split(/\s+/).map(function (id) {
      var el = document.getElementById(id);
      return el ? el.value : "";
    }).join("。").slice(0, MAX_CHARS);
  }

  function refresh(box) {
    var text = textOf(box);
    if (chineseCount(text) < MIN_CHINESE) { return; }
    var url = box.getAttribute("data-url") + "?k=3&text=" + encodeURIComponent(text);
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (found) {
        if (!found) { return; }
        render(box, "ipc", found.ipc || []);
        render(box, "industry", found.industries || []);
      })
      .catch(function () { /* suggestions are a help, never a blocker */ });
  }

  document.querySelectorAll("[data-code-suggest]").forEach(function (box) {
    var timer = null;
    box.addEventListener("click", function (event) {
      var button = event.target.closest("button[data-code]");
      if (!button) { return; }
      var kind = button.parentElement.getAttribute("data-chips");
      fill(box, kind, button.getAttribute("data-code"));
      button.setAttribute("aria-pressed", "true");
      button.classList.add("active");
    });
    box.getAttribute("data-sources").split(/\s+/).forEach(function (id) {
      var el = document.getElementById(id);
      if (!el) { return; }
      el.addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(function () { refresh(box); }, WAIT_MS);
      });
    });
    refresh(box);
  });
})();
