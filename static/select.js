// "Zaznacz wszystkie na tej stronie": one header checkbox ticks or clears every row checkbox
// of the list. Self-hosted (CSP default-src 'self'); without script the rows are ticked one by
// one and "all matching" still works (it is a plain form field).
(function () {
  "use strict";
  var all = document.getElementById("zaznacz-strone");
  if (!all) { return; }
  var rows = function () { return document.querySelectorAll("#faktury input.wybor"); };
  all.hidden = false;
  all.addEventListener("change", function () {
    rows().forEach(function (box) { box.checked = all.checked; });
  });
  document.addEventListener("change", function (e) {
    if (!e.target.classList || !e.target.classList.contains("wybor")) { return; }
    var boxes = Array.prototype.slice.call(rows());
    all.checked = boxes.length > 0 && boxes.every(function (b) { return b.checked; });
  });
})();
