// Live progress of invoices on their way to KSeF (W -> O -> A), without reloading the page.
// Elements marked data-live="<invoice id>" hold a .state label, a .live-letter box and maybe a
// .live-ksef cell for the KSeF number; while any
// of them is on its way this asks /stany-faktur every 1.5 s, updates them, and stops once all
// are final (or the session ended: then the next page load shows the login form).
(function () {
  "use strict";
  var INTERVAL_MS = 1500;

  function pending() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-live]"));
  }

  function show(el, s) {
    var label = el.querySelector(".state");
    if (label) { label.textContent = s.label; }
    var box = el.classList.contains("live-letter") ? el : el.querySelector(".live-letter");
    if (box) {
      var old = box.querySelector("b.letter");
      if (s.letter) {
        var b = old || document.createElement("b");
        b.className = "letter " + s.letter;
        b.textContent = s.letter;
        b.title = "status " + s.letter;
        if (!old) { box.appendChild(b); }
      } else if (old) {
        old.remove();
      }
    }
    var ksef = el.querySelector(".live-ksef");
    if (ksef && s.ksef_number) { ksef.textContent = s.ksef_number; }
    el.setAttribute("data-state", s.state);
    if (!s.on_its_way) { el.removeAttribute("data-live"); }
  }

  function poll() {
    var els = pending();
    if (els.length === 0) { return; }
    var ids = els.map(function (el) { return el.getAttribute("data-live"); });
    fetch("/stany-faktur?ids=" + encodeURIComponent(ids.join(",")), {
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    })
      .then(function (r) {
        var json = (r.headers.get("Content-Type") || "").indexOf("application/json") === 0;
        if (!r.ok || !json) { throw new Error("live progress stopped: " + r.status); }
        return r.json();
      })
      .then(function (answer) {
        var byId = {};
        answer.invoices.forEach(function (s) { byId[s.id] = s; });
        els.forEach(function (el) {
          var s = byId[el.getAttribute("data-live")];
          if (s) { show(el, s); } else { el.removeAttribute("data-live"); }
        });
        if (pending().length > 0) { setTimeout(poll, INTERVAL_MS); }
      })
      .catch(function () { /* stop quietly: the page still shows the last known state */ });
  }

  if (pending().length > 0) { setTimeout(poll, INTERVAL_MS); }
})();
