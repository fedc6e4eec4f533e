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

/* ---- Refused and failed htmx answers are shown, never dropped ----------------------------
   htmx swaps nothing for a 4xx or 5xx answer by default, so a refused form would seem to do
   nothing. A 4xx answer (a form shown again with its errors, a refusal) is swapped in place;
   a boosted request gets the whole page, which is what it asked for. A 5xx answer, or a whole
   error page sent to a fragment's request, goes into the page's #errors box instead. */
(function () {
  "use strict";

  function errorBox() {
    return document.getElementById("errors");
  }

  function messageOf(html, fallback) {
    const page = new DOMParser().parseFromString(html || "", "text/html");
    const marked = page.querySelector("[data-error-message]");
    const refusal = marked || page.querySelector(".refusal p, .errors p, [role=alert]");
    const text = refusal ? refusal.textContent.trim() : "";
    return text || fallback;
  }

  function showError(text) {
    const box = errorBox();
    if (!box) {
      return;
    }
    const paragraph = document.createElement("p");
    paragraph.textContent = text;
    box.replaceChildren(paragraph);
    box.classList.add("errors");
    box.setAttribute("role", "alert");
    box.scrollIntoView({ block: "nearest" });
  }

  function clearErrors() {
    const box = errorBox();
    if (box) {
      box.replaceChildren();
      box.classList.remove("errors");
    }
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    const detail = event.detail;
    const status = detail.xhr.status;
    if (status < 400) {
      clearErrors();
      return;
    }
    const body = detail.xhr.responseText || "";
    const wholePage = /<html[\s>]/i.test(body);
    const box = errorBox();
    const fallback = box ? box.dataset.serverError : "";
    if (status >= 500 || (wholePage && !detail.boosted)) {
      detail.shouldSwap = false;
      showError(messageOf(body, fallback));
      return;
    }
    detail.shouldSwap = true;
    detail.isError = false;
  });

  document.addEventListener("htmx:sendError", function () {
    const box = errorBox();
    showError(box ? box.dataset.offline : "");
  });
})();
