// @ts-check
// The chat: the messages (text only, never HTML; web addresses become links built from DOM
// nodes), the unread count on the chat button, and the form (Enter sends, Shift+Enter is a
// new line, Escape closes the panel). In a chat-only call the chat is the main stage: always
// open, and its input gets the focus once, when the call starts (focusInput), never later.

import { t } from '../../texts.js';
import { chatParts } from '../chat-links.js';
import { roleInSentence, roleLabel, timeOfDay } from './words.js';

/** @typedef {import('./status.js').Announce} Announce */

export const CHAT_MAX = 2000;

/**
 * @typedef {object} ChatElements
 * @property {HTMLElement} panel
 * @property {HTMLElement} log the scrolling log
 * @property {HTMLElement} list the messages
 * @property {HTMLFormElement} form
 * @property {HTMLTextAreaElement} input
 * @property {HTMLButtonElement} button the chat button among the controls
 * @property {HTMLElement} unread the unread count inside the button
 */

/**
 * @typedef {object} ChatOptions
 * @property {(text: string) => void} send sends a chat message
 * @property {() => void} onToggle the panel opened or closed (the page renders)
 * @property {Announce} announce
 * @property {(text: string) => void} showAlert
 * @property {boolean} [main] the chat is the call itself (a chat-only call): always open in
 *   the call, no chat button, Escape does not close it
 */

/**
 * A time from the server: seconds or milliseconds since the epoch, or ISO text.
 * @param {unknown} value
 * @returns {Date | null}
 */
export function parseTime(value) {
  let date = null;
  if (typeof value === 'number' && Number.isFinite(value)) {
    // Seconds or milliseconds since the epoch; 1e12 ms is in 2001.
    date = new Date(value < 1e12 ? value * 1000 : value);
  } else if (typeof value === 'string') {
    date = new Date(value);
  }
  return date && !Number.isNaN(date.getTime()) ? date : null;
}

/**
 * Chat text as DOM nodes: plain text, and http(s) addresses as links that open in a new tab
 * without giving that page a hold on this one (or telling it where the link was).
 * @param {string} text
 * @returns {(Text | HTMLAnchorElement)[]}
 */
export function chatNodes(text) {
  return chatParts(text).map((part) => {
    if (!('href' in part)) return document.createTextNode(part.text);
    const link = document.createElement('a');
    link.href = part.href;
    link.textContent = part.text;
    link.target = '_blank';
    link.rel = 'noopener noreferrer';
    return link;
  });
}

export class Chat {
  #open = false;
  #unread = 0;

  /**
   * @param {ChatElements} elements
   * @param {ChatOptions} options
   */
  constructor(elements, options) {
    this.elements = elements;
    this.options = options;
    this.main = options.main === true;
    // the main stage counts as open: its log (role="log") reads new messages by itself
    this.#open = this.main;
    const { panel, form, input, button } = elements;
    button.addEventListener('click', () => {
      this.setOpen(!this.#open);
      if (!this.#open) button.focus();
    });
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.#send();
    });
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.#send();
      }
    });
    panel.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && !this.main) {
        this.setOpen(false);
        button.focus();
      }
    });
  }

  get open() {
    return this.#open;
  }

  /**
   * The chat button and panel, for the page's phase.
   * @param {boolean} inCall
   */
  render(inCall) {
    this.elements.button.hidden = !inCall || this.main;
    this.elements.panel.hidden = !(inCall && this.#open);
  }

  /** A chat-only call started: the person can type at once. Called only then. */
  focusInput() {
    this.elements.log.scrollTop = this.elements.log.scrollHeight;
    this.elements.input.focus();
  }

  /** @param {boolean} open */
  setOpen(open) {
    const { button, unread, log, input } = this.elements;
    this.#open = open;
    button.setAttribute('aria-expanded', String(open));
    if (open) {
      this.#unread = 0;
      unread.textContent = '';
      unread.hidden = true;
    }
    this.options.onToggle();
    if (open) {
      log.scrollTop = log.scrollHeight;
      input.focus();
    }
  }

  /**
   * The call switched from a chat to voice or video: the chat stays open beside it, and
   * from now on its button opens and closes it (and Escape closes it).
   */
  keepAfterSwitch() {
    if (!this.main) return;
    this.main = false;
    this.elements.button.setAttribute('aria-expanded', String(this.#open));
  }

  /** The call is over: closed, without moving the focus. */
  close() {
    this.#open = this.main;
    this.elements.button.setAttribute('aria-expanded', 'false');
  }

  /**
   * A `chat` message (own messages come back from the server too).
   * @param {Record<string, unknown>} message
   * @param {boolean} mine
   */
  add(message, mine) {
    if (typeof message.text !== 'string') return;
    const { list, log, unread } = this.elements;
    const who = mine ? t('U') : roleLabel(message.role);
    const li = document.createElement('li');
    li.className = mine ? 'chat-message chat-mine' : 'chat-message';
    const meta = document.createElement('p');
    meta.className = 'chat-meta';
    const author = document.createElement('strong');
    author.textContent = who;
    meta.append(author);
    const when = parseTime(message.at);
    if (when) {
      const time = document.createElement('time');
      time.dateTime = when.toISOString();
      time.textContent = timeOfDay(when);
      meta.append(' ', time);
    }
    const body = document.createElement('p');
    body.className = 'chat-text';
    // Text nodes and links only: chat text is untrusted input from another participant.
    body.append(...chatNodes(message.text));
    li.append(meta, body);
    list.append(li);
    log.scrollTop = log.scrollHeight;
    if (!mine && !this.#open) {
      this.#unread += 1;
      unread.textContent = ' ' + t('({count} nieuw)', { count: this.#unread });
      unread.hidden = false;
      this.options.announce(t('Nieuw chatbericht van {who}.', { who: roleInSentence(message.role) }));
    }
  }

  #send() {
    const { input } = this.elements;
    const text = input.value.trim();
    if (!text) {
      input.focus();
      return;
    }
    if (text.length > CHAT_MAX) {
      this.options.showAlert(t('Uw bericht is te lang. Gebruik maximaal {max} tekens.', { max: CHAT_MAX }));
      return;
    }
    this.options.send(text);
    input.value = '';
    input.focus();
  }
}
