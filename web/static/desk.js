// @ts-check
// The specialist desk: ask for the live states every few seconds and update the badges.
// The page works without this (the "Lijst vernieuwen" link); a newcomer in the lobby is
// announced through the polite status region ("Er wacht iemand voor 10:15"). The state
// labels come translated from the server; the announcements are translated here with t().
import { t } from './texts.js';

/**
 * One appointment in GET <state url>'s answer.
 * @typedef {object} DeskAppointment
 * @property {string} id
 * @property {string} state
 * @property {string} label the state in the page's language
 * @property {string} start the start time ("10:15")
 * @property {boolean} can_open
 * @property {boolean} can_close
 */

(function () {
  const main = document.getElementById("main");
  const announce = document.getElementById("desk-announce");
  if (!main || !announce || !main.dataset.stateUrl) return;
  const url = main.dataset.stateUrl;
  const every = Math.max(2, Number(main.dataset.pollSeconds || "5")) * 1000;

  // (function expressions, not declarations: they keep `main` and `announce` known non-null)
  /**
   * @param {string} id
   * @returns {HTMLElement | null}
   */
  const itemOf = function (id) {
    const items = main.querySelectorAll(".desk-item");
    for (let i = 0; i < items.length; i += 1) {
      const item = items[i];
      if (item instanceof HTMLElement && item.dataset.appointment === id) return item;
    }
    return null;
  };

  /**
   * @param {DeskAppointment} appointment
   * @returns {string | null} what to announce
   */
  function update(appointment) {
    const item = itemOf(appointment.id);
    if (!item) return null;
    const badge = item.querySelector(".desk-state");
    if (!(badge instanceof HTMLElement)) return null;
    const before = badge.dataset.state;
    if (before === appointment.state && badge.textContent === appointment.label) return null;
    badge.className = "desk-state desk-state-" + appointment.state;
    badge.dataset.state = appointment.state;
    badge.textContent = appointment.label;
    const open = item.querySelector(".desk-open");
    if (open instanceof HTMLElement) open.hidden = !appointment.can_open;
    const outcome = item.querySelector(".desk-outcome");
    if (outcome instanceof HTMLElement) outcome.hidden = !appointment.can_close;
    if (appointment.state === "waiting" && before !== "waiting") {
      return t("Er wacht iemand voor {time}.", { time: appointment.start });
    }
    if (appointment.state === "ended" && before !== "ended") {
      return t("Het gesprek van {time} is afgelopen. Leg de uitkomst vast.", { time: appointment.start });
    }
    if (appointment.state === "verified" && before === "booked") {
      return t("De inwoner van {time} heeft laten zien wie hij of zij is.", { time: appointment.start });
    }
    return null;
  }

  /** @param {{appointments?: DeskAppointment[]} | null} body */
  const apply = function (body) {
    if (!body || !Array.isArray(body.appointments)) return;
    /** @type {string[]} */
    const news = [];
    body.appointments.forEach(function (appointment) {
      const message = update(appointment);
      if (message) news.push(message);
    });
    // a status region is read when its text changes: one message per round
    if (news.length > 0) announce.textContent = news.join(" ");
  };

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 401) {
          window.location.assign("/staff/sign-in?verlopen=1");
          return null;
        }
        return response.ok ? response.json() : null;
      })
      .then(apply)
      .catch(function () { /* the next round tries again */ })
      .then(function () { setTimeout(poll, every); });
  }

  setTimeout(poll, every);
})();
