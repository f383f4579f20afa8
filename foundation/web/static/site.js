/* Behaviour that pages would otherwise write inline (onsubmit=, onchange=), which the Content-Security-Policy
   refuses: a select marked data-autosubmit submits its form when changed; a box marked data-check-all="NAME" ticks every
   box NAME of its form; a form marked data-forget-pages="NAME"
   (logging out) first deletes the browser cache NAME, or each of several names separated by spaces (the patrol and
   home-care visit pages a phone kept for use without signal). */
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field.matches && field.matches("select[data-autosubmit]") && field.form) field.form.requestSubmit();
    // A "tick all" box: ticks or clears every box named by data-check-all that belongs to the same form.
    var name = field.getAttribute && field.getAttribute("data-check-all");
    if (name && field.form) {
      Array.prototype.forEach.call(document.querySelectorAll('input[type=checkbox][name="' + name + '"]'), function (box) {
        if (box.form === field.form) box.checked = field.checked;
      });
    }
  });
  document.addEventListener("submit", function (event) {
    var form = event.target, name = form.getAttribute && form.getAttribute("data-forget-pages");
    if (name && window.caches) name.split(" ").forEach(function (one) { caches.delete(one); });
  });
})();
