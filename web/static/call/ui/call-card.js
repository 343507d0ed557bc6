// @ts-check
// The call card of a call without video (`#call-card`): in a voice call a large, calm "In
// gesprek met de medewerker" with how long the call has lasted, as on a phone; in a chat
// who the chat is with. The time counts from the first moment the sound connected. It is
// plain text, not a live region: a screen reader reading it every second would drown
// everything else; the page announces the call's start and changes in the status line.

import { t } from '../../texts.js';
import { roleInSentence } from './words.js';

/** @typedef {import('../link.js').Channel} Channel */

/**
 * "de medewerker", "de medewerker en de tolk of collega": who the call is with.
 * @param {readonly string[]} roles
 */
export function withWhom(roles) {
  const names = roles.map((role) => roleInSentence(role));
  if (names.length <= 1) return names[0] ?? '';
  return t('{first} en {last}', { first: names.slice(0, -1).join(', '), last: names[names.length - 1] });
}

/**
 * A call's length as a phone shows it: "0:07", "12:30", "1:02:03".
 * @param {number} ms
 */
export function callLength(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}

/**
 * @typedef {object} CallCardElements
 * @property {HTMLElement} card
 * @property {HTMLElement} with who the call is with
 * @property {HTMLElement} timeLine the line with the call's length (voice only)
 * @property {HTMLElement} time the call's length
 */

export class CallCard {
  /** @type {number | null} when the sound first connected (performance.now()) */
  #startedAt = null;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  #ticker = undefined;

  /**
   * @param {CallCardElements} elements
   * @param {Channel} channel
   */
  constructor(elements, channel) {
    this.elements = elements;
    this.channel = channel;
  }

  /**
   * Show the card in the call (never in a video call), with who is there.
   * @param {{inCall: boolean, roles: readonly string[]}} state
   */
  render({ inCall, roles }) {
    const { card, with: line, timeLine } = this.elements;
    card.hidden = this.channel === 'video' || !inCall || roles.length === 0;
    if (card.hidden) return;
    const who = withWhom(roles);
    line.textContent = this.channel === 'chat'
      ? t('U chat met {who}.', { who })
      : t('In gesprek met {who}', { who });
    timeLine.hidden = this.channel !== 'voice' || this.#startedAt === null;
  }

  /** The sound connected: the call's time starts (once per call). */
  connected() {
    if (this.channel !== 'voice' || this.#startedAt !== null) return;
    this.#startedAt = performance.now();
    this.#show();
    this.elements.timeLine.hidden = this.elements.card.hidden;
    this.#ticker = setInterval(() => this.#show(), 1000);
  }

  /** The call is over (or starts over): the time stops and is forgotten. */
  stop() {
    clearInterval(this.#ticker);
    this.#ticker = undefined;
    this.#startedAt = null;
    this.elements.timeLine.hidden = true;
  }

  #show() {
    if (this.#startedAt === null) return;
    this.elements.time.textContent = callLength(performance.now() - this.#startedAt);
  }
}
