// @ts-check
// A walk-in counter's queue, from the resident's page (docs/signaling.md, the `queue`
// notice; the HTTP side in docs/walk-in.md): where they stand, kept current by the server's
// `queue` notices and, in case one is lost (a resume that could not replay, another node),
// by asking `GET /api/rooms/{room}/queue` on entering the waiting room and every 30 seconds
// while there. `DELETE` on the same address gives the place up. The room token rides in the
// Authorization header, never in a URL.

import { ApiProblem, api, roomApiUrl } from './api.js';

// The queue moves in minutes; asking more often would only load the server.
export const POLL_MS = 30_000;

/**
 * Where the resident stands. `null` fields: not known (yet).
 * @typedef {object} QueueState
 * @property {'waiting' | 'taken' | 'left'} state
 * @property {number | null} position 1 for the first in line
 * @property {number | null} waiting how many wait in this queue
 * @property {number | null} expectedMinutes the expected wait; null: no estimate
 * @property {{callback: string, booking: string} | null} offer the wait is long: where to
 *   ask for a call-back or book instead (this site's paths only)
 */

/**
 * A `queue` notice or the GET's answer, checked field by field (JSON we did not write).
 * @param {unknown} raw
 * @returns {QueueState | null} null when it is not a queue state
 */
export function parseQueue(raw) {
  if (!raw || typeof raw !== 'object') return null;
  const body = /** @type {Record<string, unknown>} */ (raw);
  const { state } = body;
  if (state !== 'waiting' && state !== 'taken' && state !== 'left') return null;
  /** @param {unknown} value */
  const count = (value) => (Number.isInteger(value) && Number(value) >= 0 ? Number(value) : null);
  /** @param {unknown} value a path on this site, or null (never another site's address) */
  const path = (value) => (typeof value === 'string' && /^\/[^/\\]/.test(value) ? value : null);
  const callback = path(body.callback_url);
  const booking = path(body.booking_url);
  return {
    state,
    position: count(body.position),
    waiting: count(body.waiting),
    expectedMinutes: count(body.expected_minutes),
    offer: callback && booking ? { callback, booking } : null,
  };
}

/** @param {string} room */
export function queueUrl(room) {
  return `${roomApiUrl(room)}/queue`;
}

/**
 * The resident's place, or null while they have none yet (404: the server makes the place
 * when the seat enters the waiting room, so the first answer may come before it).
 * @param {string} room
 * @param {string} token
 * @returns {Promise<QueueState | null>}
 */
export async function fetchQueue(room, token) {
  try {
    return parseQueue(await api('GET', queueUrl(room), token));
  } catch (error) {
    if (error instanceof ApiProblem && error.status === 404) return null;
    throw error;
  }
}

/**
 * Give the place up.
 * @param {string} room
 * @param {string} token
 */
export function leaveQueue(room, token) {
  return api('DELETE', queueUrl(room), token);
}

/**
 * @typedef {object} QueueWatchOptions
 * @property {string} room
 * @property {string} token
 * @property {(state: QueueState | null) => void} onState a new state (null: no place yet)
 */

/** Asks for the place on start and every POLL_MS until stopped. */
export class QueueWatch {
  /** @type {ReturnType<typeof setInterval> | undefined} */
  #timer = undefined;
  // a slow answer that arrives after stop() must not show a stale place
  #round = 0;

  /** @param {QueueWatchOptions} options */
  constructor(options) {
    this.options = options;
  }

  get running() {
    return this.#timer !== undefined;
  }

  /** Ask now and every POLL_MS (again from now when already running). */
  start() {
    this.stop();
    this.#timer = setInterval(() => this.#ask(), POLL_MS);
    this.#ask();
  }

  stop() {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#round += 1;
  }

  async #ask() {
    const round = this.#round;
    const { room, token, onState } = this.options;
    try {
      const state = await fetchQueue(room, token);
      if (round === this.#round) onState(state);
    } catch (error) {
      // The notices still come; the next round asks again.
      console.warn('the queue could not be read', error instanceof Error ? error.message : error);
    }
  }
}
