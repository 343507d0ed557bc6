// @ts-check
// The walk-in waiting room (`#queue` in `#lobby`): "U bent nummer 3 in de wachtrij", how
// many wait, the expected wait, and "Een medewerker komt zo bij u." once a specialist took
// the resident. Changes are announced in the status line without moving the focus, and only
// what a resident waits for: a new place, a new expected wait, taken, gone. How many others
// wait changes whenever anyone arrives and is shown silently.

import { t } from '../../texts.js';
import { QueueWatch, leaveQueue, parseQueue } from '../walkin.js';

/** @typedef {import('./status.js').Announce} Announce */

// how long "Wachtrij verlaten" waits for the server before leaving anyway
const LEAVE_WAIT_MS = 5000;
/** @typedef {import('../walkin.js').QueueState} QueueState */

/** @param {number} position */
export function positionText(position) {
  return position === 1
    ? t('U bent de eerste in de wachtrij.')
    : t('U bent nummer {position} in de wachtrij.', { position });
}

/** @param {number} waiting */
export function waitingText(waiting) {
  if (waiting <= 1) return t('Er wacht nu niemand anders.');
  return t('Er wachten nu {count} mensen in totaal.', { count: waiting });
}

/** @param {number | null} minutes */
export function expectedText(minutes) {
  if (minutes === null) return t('We weten nog niet hoe lang het duurt.');
  if (minutes < 1) return t('U bent waarschijnlijk binnen een minuut aan de beurt.');
  if (minutes === 1) return t('U moet ongeveer 1 minuut wachten.');
  return t('U moet ongeveer {minutes} minuten wachten.', { minutes });
}

/**
 * @typedef {object} QueueElements
 * @property {HTMLElement} box
 * @property {HTMLElement} position
 * @property {HTMLElement} waiting
 * @property {HTMLElement} expected
 * @property {HTMLElement} taken "Een medewerker komt zo bij u."
 */

export class QueueView {
  /** @type {QueueState | null} */
  #state = null;
  // what was said last: an unchanged place is not said again
  #said = '';

  /**
   * @param {QueueElements} elements
   * @param {Announce} announce
   */
  constructor(elements, announce) {
    this.elements = elements;
    this.announce = announce;
  }

  /** The last known state, for the browser tests. */
  get state() {
    return this.#state;
  }

  /**
   * A state from a notice or from asking; null: no place yet.
   * @param {QueueState | null} state
   */
  show(state) {
    const { box, position, waiting, expected, taken } = this.elements;
    if (!state) {
      // No place yet (the server makes it as the seat enters): say nothing of a place,
      // but never take back a place already shown.
      if (this.#state === null) {
        box.hidden = false;
        position.hidden = false;
        position.textContent = t('We zetten u in de wachtrij…');
        waiting.hidden = true;
        expected.hidden = true;
      }
      return;
    }
    this.#state = state;
    box.hidden = false;
    this.#offer(state);
    const waitingNow = state.state === 'waiting';
    taken.hidden = state.state !== 'taken';
    position.hidden = state.state === 'taken';
    if (state.state === 'left') position.textContent = t('U staat niet meer in de wachtrij.');
    else if (state.position !== null) position.textContent = positionText(state.position);
    waiting.hidden = !waitingNow || state.waiting === null;
    waiting.textContent = state.waiting === null ? '' : waitingText(state.waiting);
    expected.hidden = !waitingNow;
    expected.textContent = expectedText(state.expectedMinutes);
    this.#say(state);
  }

  /**
   * A long wait: "bel mij terug" or a booking instead, for the same purpose. Gone: a way to
   * start again.
   * @param {QueueState} state
   */
  #offer(state) {
    const { box } = this.elements;
    const offer = box.querySelector('#queue-offer');
    const again = box.querySelector('#queue-again');
    const callback = box.querySelector('#queue-callback');
    const booking = box.querySelector('#queue-booking');
    if (offer instanceof HTMLElement && callback instanceof HTMLAnchorElement && booking instanceof HTMLAnchorElement) {
      const shown = state.state === 'waiting' && state.offer !== null;
      offer.hidden = !shown;
      if (state.offer) {
        callback.href = state.offer.callback;
        booking.href = state.offer.booking;
      }
    }
    if (again instanceof HTMLElement) again.hidden = state.state !== 'left';
  }

  /** Admitted, or the page starts over: the queue's lines go. */
  clear() {
    this.#state = null;
    this.#said = '';
    this.elements.box.hidden = true;
  }

  /** @param {QueueState} state */
  #say(state) {
    let text = '';
    if (state.state === 'taken') text = t('Een medewerker komt zo bij u.');
    else if (state.state === 'left') text = t('U staat niet meer in de wachtrij.');
    else if (state.position !== null) text = `${positionText(state.position)} ${expectedText(state.expectedMinutes)}`;
    if (!text || text === this.#said) return;
    this.#said = text;
    this.announce(text);
  }
}

/**
 * The queue on the resident's page: the view, the asking while in the waiting room, the
 * server's notices, and giving the place up.
 */
export class WalkinQueue {
  #leaving = false;

  /**
   * @param {QueueElements} elements
   * @param {{room: string, token: string, announce: Announce}} options
   */
  constructor(elements, { room, token, announce }) {
    this.room = room;
    this.token = token;
    this.view = new QueueView(elements, announce);
    this.watch = new QueueWatch({ room, token, onState: (state) => this.view.show(state) });
    // Following "bel mij terug" or "maak een afspraak" gives the place up first, so nobody
    // waits for a resident who went elsewhere.
    for (const link of elements.box.querySelectorAll('#queue-callback, #queue-booking')) {
      link.addEventListener('click', (event) => {
        if (!(link instanceof HTMLAnchorElement)) return;
        event.preventDefault();
        const target = link.href;
        this.leave().finally(() => { window.location.assign(target); });
      });
    }
  }

  /**
   * Ask while the page is in the waiting room (called on every render: cheap when nothing
   * changes); on leaving it the queue's lines go.
   * @param {boolean} inLobby
   */
  follow(inLobby) {
    if (inLobby && !this.watch.running) this.watch.start();
    if (!inLobby && this.watch.running) {
      this.watch.stop();
      this.view.clear();
    }
  }

  /**
   * A `queue` notice from the server.
   * @param {Record<string, unknown>} message
   */
  notice(message) {
    if (!this.watch.running) return;
    const state = parseQueue(message);
    if (state) this.view.show(state);
  }

  /**
   * "Wachtrij verlaten": give the place up, then the caller leaves the call as always. A
   * refusal, or an answer that takes longer than LEAVE_WAIT_MS, does not keep anyone on the
   * page: the `leave` that follows still tells the server the seat is gone.
   * @returns {Promise<void>}
   */
  async leave() {
    if (this.#leaving) return;
    this.#leaving = true;
    this.watch.stop();
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    let timer;
    const late = new Promise((resolve) => { timer = setTimeout(resolve, LEAVE_WAIT_MS); });
    try {
      await Promise.race([leaveQueue(this.room, this.token), late]);
    } catch (error) {
      console.warn('the queue place could not be given up', error instanceof Error ? error.message : error);
    } finally {
      clearTimeout(timer);
      this.#leaving = false;
    }
  }
}
