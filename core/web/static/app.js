// pazar's dashboard: the only script. Pages work without it; it adds
// (1) live refresh of a table while runs go (data-live: a URL answering the rows),
// (2) "select all" checkboxes, (3) confirmations before destructive buttons.
(function () {
  "use strict";
  var PERIOD = 3000;

  function poll(body) {
    var url = body.getAttribute("data-live");
    var timer = null;
    function tick() {
      if (document.hidden) { timer = setTimeout(tick, PERIOD); return; }
      fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
        .then(function (response) {
          if (!response.ok) { throw new Error(String(response.status)); }
          var live = response.headers.get("X-Live");
          return response.text().then(function (html) { return { html: html, live: live }; });
        })
        .then(function (answer) {
          body.innerHTML = answer.html;
          if (answer.live === "0") {
            if (body.hasAttribute("data-reload-when-done")) { window.location.reload(); }
            return;
          }
          timer = setTimeout(tick, PERIOD);
        })
        .catch(function () { timer = setTimeout(tick, PERIOD * 3); });
    }
    timer = setTimeout(tick, PERIOD);
    return timer;
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-live]").forEach(poll);
    document.querySelectorAll("input[data-select-all]").forEach(function (box) {
      box.addEventListener("change", function () {
        var name = box.getAttribute("data-select-all");
        box.form.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (other) {
          other.checked = box.checked;
        });
      });
    });
    document.querySelectorAll("[data-confirm]").forEach(function (button) {
      button.addEventListener("click", function (event) {
        if (!window.confirm(button.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });
  });
})();
