// @ts-check
// Warn before the staff session ends and offer one action to extend it (WCAG 2.2.1).
// Polling GET /staff/session does not count as activity; the button's POST does.
// Pages load this as a classic script; the texts come from ./texts.js through a dynamic
// import (allowed in a classic script too), so the page needs script_texts_block().
"use strict";
(function () {
  const main = document.getElementById("main");
  const box = document.getElementById("session-warning");
  const text = document.getElementById("session-warning-text");
  const extend = document.getElementById("session-extend");
  const csrf = document.querySelector('meta[name="balie-csrf"]');
  if (!main || !main.dataset.sessionUrl || !box || !text || !extend || !(csrf instanceof HTMLMetaElement)) return;
  const url = main.dataset.sessionUrl;
  const warn = Number(main.dataset.warnSeconds || "120");
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  /**
   * GET/POST /staff/session's answer.
   * @typedef {{seconds_left: number, idle_seconds_left: number, absolute_seconds_left: number}} SessionState
   */
  // Dutch until texts.js is loaded (or if it cannot be): the same placeholders filled in
  /** @type {(message: string, values?: Record<string, string | number>) => string} */
  let t = function (message, values) {
    return message.replace(/\{(\w+)\}/g, function (whole, name) {
      return values && Object.hasOwn(values, name) ? String(values[name]) : whole;
    });
  };

  // (function expressions, not declarations: they keep the elements above known non-null)
  /**
   * @param {boolean} absolute the absolute limit comes first (extending cannot help)
   * @param {number} seconds
   */
  const warning = function (absolute, seconds) {
    const minutes = Math.max(1, Math.ceil(seconds / 60));
    if (absolute) {
      return minutes === 1
        ? t("U wordt over 1 minuut uitgelogd, omdat u al lang bent ingelogd. Sla uw werk op en log daarna opnieuw in.")
        : t("U wordt over {minutes} minuten uitgelogd, omdat u al lang bent ingelogd. Sla uw werk op en log daarna opnieuw in.", { minutes });
    }
    return minutes === 1
      ? t("U wordt over 1 minuut uitgelogd, omdat u een tijdje niets heeft gedaan.")
      : t("U wordt over {minutes} minuten uitgelogd, omdat u een tijdje niets heeft gedaan.", { minutes });
  };

  /** @param {SessionState} state */
  const show = function (state) {
    const absolute = state.absolute_seconds_left <= state.idle_seconds_left;
    text.textContent = warning(absolute, state.seconds_left);
    extend.hidden = absolute;
    if (box.hidden) {
      box.hidden = false;
      box.focus();
    }
  };

  /**
   * @param {Response} response
   * @returns {Promise<SessionState> | null}
   */
  const handle = function (response) {
    if (response.status === 401) {
      window.location.assign("/staff/sign-in?verlopen=1");
      return null;
    }
    return response.ok ? response.json() : null;
  };

  /** @param {SessionState | null} state */
  const schedule = function (state) {
    if (!state) return;
    if (state.seconds_left <= 0) {
      window.location.assign("/staff/sign-in?verlopen=1");
      return;
    }
    if (state.seconds_left <= warn) show(state); else box.hidden = true;
    clearTimeout(timer);
    timer = setTimeout(poll, Math.min(30, Math.max(5, state.seconds_left - warn)) * 1000);
  };

  const poll = function () {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(handle).then(schedule).catch(function () { timer = setTimeout(poll, 30000); });
  };

  extend.addEventListener("click", function () {
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRF-Token": csrf.content },
    }).then(handle).then(function (state) {
      box.hidden = true;
      const heading = main.querySelector("h1");
      if (heading) {
        heading.setAttribute("tabindex", "-1");
        heading.focus();
      }
      schedule(state);
    });
  });

  import("./texts.js")
    .then(function (texts) { t = texts.t; })
    .catch(function () { /* the Dutch texts above */ })
    .finally(poll);
})();
