// @ts-check
// The waiting room on both sides: the resident's view of it (place in the queue, the
// specialist's note) and the specialist's lobby panel (admit, deny, let wait with a note).

import { t } from '../../texts.js';
import { roleLabel } from './words.js';

/** @typedef {import('./status.js').Announce} Announce */

export const NOTE_MAX = 500;
// The specialist's default note travels as this Dutch text; the resident's page shows
// it in the resident's language (holdNoteText).
export const DEFAULT_HOLD_MESSAGE = 'Even geduld alstublieft. U bent zo aan de beurt.';

/** @param {string} note */
function holdNoteText(note) {
  return note === DEFAULT_HOLD_MESSAGE ? t('Even geduld alstublieft. U bent zo aan de beurt.') : note;
}

/** The resident's waiting room (`#lobby`): position and the specialist's note. */
export class WaitingRoom {
  /**
   * @param {{position: HTMLElement, hold: HTMLElement, holdText: HTMLElement}} elements
   * @param {Announce} announce
   */
  constructor(elements, announce) {
    this.elements = elements;
    this.announce = announce;
  }

  /**
   * A `lobby` message: the own place in the queue changed, or a note arrived.
   * @param {Record<string, unknown>} message
   */
  update(message) {
    const { position: line, hold, holdText } = this.elements;
    const position = Number.isInteger(message.position) ? Number(message.position) : null;
    line.hidden = position === null || position < 1;
    if (position !== null && position > 0) {
      line.textContent = position === 1
        ? t('U bent de eerste in de wachtrij.')
        : t('U bent nummer {position} in de wachtrij.', { position });
    }
    const note = typeof message.message === 'string' ? holdNoteText(message.message) : '';
    if (message.state === 'on-hold' && note) {
      holdText.textContent = note;
      hold.hidden = false;
      this.announce(t('De medewerker heeft een bericht voor u: {note}', { note }));
    } else {
      hold.hidden = true;
    }
  }

  /** Admitted: the waiting room's details go. */
  clear() {
    this.elements.hold.hidden = true;
    this.elements.position.hidden = true;
  }
}

/**
 * @typedef {object} WaitingEntry
 * @property {string} id
 * @property {unknown} [role]
 * @property {unknown} [state]
 */

/**
 * @typedef {object} WaitingItem
 * @property {string} id
 * @property {HTMLLIElement} li
 * @property {HTMLHeadingElement} heading
 * @property {HTMLParagraphElement} state
 * @property {HTMLLabelElement} label
 * @property {HTMLInputElement} input
 * @property {{button: HTMLButtonElement, hiddenName: HTMLSpanElement}[]} buttons
 * @property {string} name
 */

/**
 * @typedef {object} LobbyActions
 * @property {(id: string) => void} onAdmit
 * @property {(id: string, note: string) => void} onDeny `note` may be empty
 * @property {(id: string, note: string) => void} onHold
 */

/** The specialist's lobby panel (`#lobby-panel`): who waits, and what to do with them. */
export class LobbyPanel {
  /** @type {Map<string, WaitingItem>} waiting participant id -> entry */
  #items = new Map();
  #counter = 0;

  /**
   * @param {{list: HTMLElement, empty: HTMLElement, title: HTMLElement}} elements
   * @param {LobbyActions} actions
   * @param {Announce} announce
   */
  constructor(elements, actions, announce) {
    this.elements = elements;
    this.actions = actions;
    this.announce = announce;
  }

  /** The ids of the people waiting, in the panel's order of arrival. */
  get ids() {
    return [...this.#items.keys()];
  }

  /**
   * A `lobby-update`: the list of people waiting.
   * @param {unknown} waiting
   */
  update(waiting) {
    const { list: panelList, empty, title } = this.elements;
    const list = Array.isArray(waiting) ? waiting : [];
    const seen = new Set();
    let newcomers = 0;
    list.forEach((entry, index) => {
      if (!entry || typeof entry.id !== 'string') return;
      seen.add(entry.id);
      let item = this.#items.get(entry.id);
      if (!item) {
        item = this.#createItem(entry);
        this.#items.set(entry.id, item);
        newcomers += 1;
      }
      this.#updateItem(item, entry, index + 1);
      // Only move nodes that are out of place: moving a node drops keyboard focus.
      if (panelList.children[index] !== item.li) {
        panelList.insertBefore(item.li, panelList.children[index] ?? null);
      }
    });
    for (const [id, item] of [...this.#items]) {
      if (seen.has(id)) continue;
      const hadFocus = item.li.contains(document.activeElement);
      item.li.remove();
      this.#items.delete(id);
      if (hadFocus) title.focus();
    }
    empty.hidden = this.#items.size > 0;
    if (newcomers > 0) {
      this.announce(newcomers === 1
        ? t('Er wacht iemand in de wachtkamer.')
        : t('Er wachten {count} mensen in de wachtkamer.', { count: newcomers }));
    }
  }

  /** The server answered (or refused): the buttons work again. */
  release() {
    for (const item of this.#items.values()) setBusy(item, false);
  }

  /** @param {WaitingEntry} entry */
  #createItem(entry) {
    this.#counter += 1;
    const inputId = `waiting-note-${this.#counter}`;
    const li = document.createElement('li');
    li.className = 'waiting';
    const heading = document.createElement('h3');
    heading.className = 'waiting-name';
    const state = document.createElement('p');
    state.className = 'waiting-state';
    const label = document.createElement('label');
    label.htmlFor = inputId;
    const input = document.createElement('input');
    input.type = 'text';
    input.id = inputId;
    input.maxLength = NOTE_MAX;
    input.autocomplete = 'off';
    const actions = document.createElement('div');
    actions.className = 'waiting-actions';
    /** @type {WaitingItem} */
    const item = { id: entry.id, li, heading, state, label, input, buttons: [], name: '' };
    /**
     * @param {string} text
     * @param {string} className
     * @param {() => void} onClick
     */
    const makeButton = (text, className, onClick) => {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = className;
      const visible = document.createElement('span');
      visible.textContent = text;
      const hiddenName = document.createElement('span');
      hiddenName.className = 'visually-hidden';
      button.append(visible, hiddenName);
      button.addEventListener('click', onClick);
      item.buttons.push({ button, hiddenName });
      actions.append(button);
    };
    makeButton(t('Toelaten'), 'btn btn-primary', () => {
      setBusy(item, true);
      this.actions.onAdmit(item.id);
    });
    makeButton(t('Weigeren'), 'btn btn-danger', () => {
      const note = input.value.trim().slice(0, NOTE_MAX);
      setBusy(item, true);
      this.actions.onDeny(item.id, note);
    });
    makeButton(t('Laten wachten'), 'btn', () => {
      const note = input.value.trim().slice(0, NOTE_MAX) || DEFAULT_HOLD_MESSAGE;
      this.actions.onHold(item.id, note);
      this.announce(t('Uw bericht is verstuurd naar de wachtende.'));
    });
    li.append(heading, state, label, input, actions);
    return item;
  }

  /**
   * @param {WaitingItem} item
   * @param {WaitingEntry} entry
   * @param {number} position
   */
  #updateItem(item, entry, position) {
    item.name = `${roleLabel(entry.role)} ${position}`;
    item.heading.textContent = item.name;
    item.state.textContent = entry.state === 'on-hold' ? t('Wacht. Heeft uw bericht gekregen.') : t('Wacht.');
    item.label.textContent = t('Bericht aan {name} (bij laten wachten of weigeren)', { name: item.name });
    for (const { hiddenName } of item.buttons) hiddenName.textContent = `: ${item.name}`;
    setBusy(item, false);
  }
}

/**
 * @param {WaitingItem} item
 * @param {boolean} busy
 */
function setBusy(item, busy) {
  for (const { button } of item.buttons) button.disabled = busy;
}
