/* Behaviour for every page, kept out of the templates: the Content-Security-Policy
   allows scripts from this site's static files only (no inline scripts or handlers). */
(function () {
  "use strict";

  // <select data-submit-on-change> sends its form as soon as a choice is made
  // (the language switch in the header).
  document.addEventListener("change", function (event) {
    const field = event.target;
    if (field instanceof HTMLSelectElement && field.matches("[data-submit-on-change]") && field.form) {
      field.form.submit();
    }
  });
})();
