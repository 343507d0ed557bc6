// Warn before the staff session ends and offer one action to extend it (WCAG 2.2.1).
// Polling GET /staff/session does not count as activity; the button's POST does.
"use strict";
(function () {
  const main = document.getElementById("main");
  const box = document.getElementById("session-warning");
  const text = document.getElementById("session-warning-text");
  const extend = document.getElementById("session-extend");
  const csrf = document.querySelector('meta[name="balie-csrf"]');
  if (!main || !box || !text || !extend || !csrf) return;
  const url = main.dataset.sessionUrl;
  const warn = Number(main.dataset.warnSeconds || "120");
  let timer = 0;

  function minutes(seconds) {
    const m = Math.max(1, Math.ceil(seconds / 60));
    return m === 1 ? "1 minuut" : m + " minuten";
  }

  function show(state) {
    const absolute = state.absolute_seconds_left <= state.idle_seconds_left;
    text.textContent = absolute
      ? "U wordt over " + minutes(state.seconds_left) + " uitgelogd, omdat u al lang bent ingelogd. Sla uw werk op en log daarna opnieuw in."
      : "U wordt over " + minutes(state.seconds_left) + " uitgelogd, omdat u een tijdje niets heeft gedaan.";
    extend.hidden = absolute;
    if (box.hidden) {
      box.hidden = false;
      box.focus();
    }
  }

  function handle(response) {
    if (response.status === 401) {
      window.location.assign("/staff/sign-in?verlopen=1");
      return null;
    }
    return response.ok ? response.json() : null;
  }

  function schedule(state) {
    if (!state) return;
    if (state.seconds_left <= 0) {
      window.location.assign("/staff/sign-in?verlopen=1");
      return;
    }
    if (state.seconds_left <= warn) show(state); else box.hidden = true;
    clearTimeout(timer);
    timer = setTimeout(poll, Math.min(30, Math.max(5, state.seconds_left - warn)) * 1000);
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(handle).then(schedule).catch(function () { timer = setTimeout(poll, 30000); });
  }

  extend.addEventListener("click", function () {
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRF-Token": csrf.content },
    }).then(handle).then(function (state) {
      box.hidden = true;
      main.querySelector("h1").setAttribute("tabindex", "-1");
      main.querySelector("h1").focus();
      schedule(state);
    });
  });

  poll();
})();
