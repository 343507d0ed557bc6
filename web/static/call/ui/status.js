// @ts-check
// The status line (a polite live region, read by screen readers) and the alert above the
// page with its optional "Opnieuw verbinden" button.

/**
 * @typedef {(text: string) => void} Announce
 */

/**
 * Announcements in the live region `region` (role="status", aria-live="polite").
 * @param {HTMLElement} region
 * @returns {Announce}
 */
export function createAnnouncer(region) {
  return (text) => {
    // Screen readers skip a live region whose text did not change; clear it first
    // so a repeated message ("De verbinding is hersteld.") is read again.
    if (region.textContent === text) {
      region.textContent = '';
      window.setTimeout(() => {
        region.textContent = text;
      }, 50);
    } else {
      region.textContent = text;
    }
  };
}

/** The alert (role="alert") and the actions under it. */
export class Alert {
  /**
   * @param {HTMLElement} box the alert's text
   * @param {HTMLElement} actions the reconnect button's row, shown with `retry`
   */
  constructor(box, actions) {
    this.box = box;
    this.actions = actions;
  }

  /**
   * @param {string} text
   * @param {{retry?: boolean}} [options]
   */
  show(text, { retry = false } = {}) {
    this.box.textContent = text;
    this.actions.hidden = !retry;
  }

  clear() {
    this.box.textContent = '';
    this.actions.hidden = true;
  }
}
