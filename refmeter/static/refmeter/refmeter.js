/* Behaviour for every page, kept out of the templates: the Content-Security-Policy
   allows scripts from this site's static files only (no inline scripts or handlers).
   Everything listens on the document, so pages swapped in by htmx need no set-up. */
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

  function closeMenuGroups(except) {
    document.querySelectorAll("details[data-menu-group][open]").forEach(function (group) {
      if (group !== except) {
        group.open = false;
      }
    });
  }

  function isPhoneMenu() {
    const header = document.querySelector("header.top");
    return header !== null && header.classList.contains("menu-open");
  }

  document.addEventListener("click", function (event) {
    const target = event.target instanceof Element ? event.target : null;
    // The phone's menu button folds the header's menu open and shut.
    const toggle = target && target.closest("[data-menu-toggle]");
    if (toggle) {
      const header = toggle.closest("header.top");
      if (header) {
        const open = header.classList.toggle("menu-open");
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
      }
      return;
    }
    // On a wide screen one menu group is open at a time, and a click elsewhere closes it.
    const group = target && target.closest("details[data-menu-group]");
    if (!isPhoneMenu()) {
      closeMenuGroups(group);
    }

    // The inspection form's position button fills its hidden latitude and longitude.
    const locate = target && target.closest("[data-locate]");
    if (locate) {
      event.preventDefault();
      locatePosition(locate);
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      closeMenuGroups(null);
    }
  });

  function locatePosition(button) {
    const form = button.closest("form");
    const status = form && form.querySelector("[data-locate-status]");
    const latitude = form && form.querySelector("input[name=latitude]");
    const longitude = form && form.querySelector("input[name=longitude]");
    if (!form || !status || !latitude || !longitude) {
      return;
    }
    if (!("geolocation" in navigator)) {
      status.textContent = button.dataset.unavailable || "";
      return;
    }
    status.textContent = button.dataset.waiting || "";
    navigator.geolocation.getCurrentPosition(
      function (position) {
        latitude.value = position.coords.latitude.toFixed(6);
        longitude.value = position.coords.longitude.toFixed(6);
        status.textContent = latitude.value + ", " + longitude.value +
          " (±" + Math.round(position.coords.accuracy) + " m)";
      },
      function () {
        status.textContent = button.dataset.failed || "";
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
    );
  }
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
