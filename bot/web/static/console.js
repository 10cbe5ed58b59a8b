// bantin web console: live broadcast preview and progress. No framework, no inline script;
// every text from the server is set with textContent, never as HTML.
"use strict";
(function () {
  function csrf() {
    var field = document.querySelector('input[name="csrf"]');
    return field ? field.value : "";
  }

  function fill(box, pieces, cls) {
    while (box.firstChild) box.removeChild(box.firstChild);
    pieces.forEach(function (text) {
      var pre = document.createElement("pre");
      pre.className = "bubble " + cls;
      pre.textContent = text;
      box.appendChild(pre);
    });
  }

  var text = document.getElementById("text");
  if (text && document.querySelector("[data-platform]")) {
    var timer = null;
    var refresh = function () {
      var body = new URLSearchParams({ text: text.value, csrf: csrf() });
      fetch("/admin/broadcasts/preview", {
        method: "POST", body: body, credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf() },
      }).then(function (r) { return r.ok ? r.json() : null; }).then(function (pv) {
        if (!pv) return;
        document.querySelectorAll("[data-platform]").forEach(function (box) {
          var name = box.getAttribute("data-platform");
          fill(box, pv[name] || [], name);
        });
      });
    };
    text.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(refresh, 250);
    });
    var when = document.getElementById("when");
    if (when) when.addEventListener("input", function () {
      document.getElementById("schedule-later").checked = true;
    });
  }

  var rows = document.querySelectorAll("tr[data-progress]");
  if (rows.length) {
    var poll = function () {
      fetch("/admin/broadcasts/progress", { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (all) {
          if (!all) return;
          var busy = false;
          rows.forEach(function (row) {
            var p = all[row.getAttribute("data-progress")];
            if (!p) return;
            row.querySelectorAll("td[data-k]").forEach(function (td) {
              td.textContent = String(p[td.getAttribute("data-k")]);
            });
            if (p.pending > 0) busy = true;
          });
          setTimeout(poll, busy ? 1000 : 5000);
        });
    };
    setTimeout(poll, 1000);
  }
})();
