// @ts-check
// The waiting room on both sides: the resident's view of it (place in the queue, the
// specialist's note) and the specialist's lobby panel: who waits (for a resident: the
// appointment's number and subject, and how long they have waited), and what to do with
// them (admit, let wait with a note, or deny: apart from the others and only after a
// second question, so a slip of the finger cannot send someone away).

import { t } from '../../texts.js';
import { minutesWaited } from '../schedule.js';
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
 * @property {unknown} [since] when they arrived (unix seconds, the server's clock)
 */

/**
 * @typedef {object} WaitingItem
 * @property {string} id
 * @property {WaitingEntry} entry the latest entry from the server
 * @property {HTMLLIElement} li
 * @property {HTMLHeadingElement} heading
 * @property {HTMLParagraphElement} about the appointment's number and subject
 * @property {HTMLParagraphElement} state how long they wait, and whether they got a note
 * @property {HTMLLabelElement} label
 * @property {HTMLInputElement} input
 * @property {HTMLButtonElement} deny "Weigeren…": asks first
 * @property {HTMLElement} confirm the question "really deny?" with its two buttons
 * @property {HTMLParagraphElement} question
 * @property {HTMLButtonElement} keep "Nee, niet weigeren"
 * @property {{button: HTMLButtonElement, hiddenName: HTMLSpanElement}[]} buttons
 * @property {string} name
 */

/**
 * @typedef {object} LobbyActions
 * @property {(id: string) => void} onAdmit
 * @property {(id: string, note: string) => void} onDeny `note` may be empty
 * @property {(id: string, note: string) => void} onHold
 */

/**
 * What the specialist knows about the appointment of this call.
 * @typedef {object} LobbyAppointment
 * @property {string} reference the appointment number the resident also has
 * @property {string} purposeName the subject, in words
 */

// How often the waiting times are written again; they count whole minutes.
const TICK_MS = 15_000;

/**
 * How long someone has waited, in words.
 * @param {number | null} minutes
 */
export function waitedText(minutes) {
  if (minutes === null) return t('Wacht.');
  if (minutes < 1) return t('Wacht minder dan een minuut.');
  if (minutes === 1) return t('Wacht 1 minuut.');
  return t('Wacht {minutes} minuten.', { minutes });
}

/** The specialist's lobby panel (`#lobby-panel`): who waits, and what to do with them. */
export class LobbyPanel {
  /** @type {Map<string, WaitingItem>} waiting participant id -> entry */
  #items = new Map();
  #counter = 0;
  /** @type {LobbyAppointment | null} */
  #appointment = null;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  #ticker = undefined;

  /**
   * @param {{list: HTMLElement, empty: HTMLElement, title: HTMLElement}} elements
   * @param {LobbyActions} actions
   * @param {Announce} announce
   * @param {() => number} now the server's clock (ms since the epoch), for the waiting times
   */
  constructor(elements, actions, announce, now = Date.now) {
    this.elements = elements;
    this.actions = actions;
    this.announce = announce;
    this.now = now;
  }

  /** The ids of the people waiting, in the panel's order of arrival. */
  get ids() {
    return [...this.#items.keys()];
  }

  /**
   * The appointment this call belongs to: shown with the resident who waits.
   * @param {LobbyAppointment | null} appointment
   */
  setAppointment(appointment) {
    this.#appointment = appointment;
    [...this.#items.values()].forEach((item, index) => this.#updateItem(item, item.entry, index + 1));
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
    this.#tick();
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

  /** Keep the waiting times current while someone waits (silently: no announcement). */
  #tick() {
    if (this.#items.size === 0) {
      clearInterval(this.#ticker);
      this.#ticker = undefined;
    } else if (this.#ticker === undefined) {
      this.#ticker = setInterval(() => {
        for (const item of this.#items.values()) this.#showState(item);
      }, TICK_MS);
    }
  }

  /** @param {WaitingEntry} entry */
  #createItem(entry) {
    this.#counter += 1;
    const inputId = `waiting-note-${this.#counter}`;
    const questionId = `waiting-deny-question-${this.#counter}`;
    const li = document.createElement('li');
    li.className = 'waiting';
    const heading = document.createElement('h3');
    heading.className = 'waiting-name';
    const about = document.createElement('p');
    about.className = 'waiting-about';
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
    const denyRow = document.createElement('div');
    denyRow.className = 'waiting-deny';
    const confirm = document.createElement('div');
    confirm.className = 'waiting-confirm';
    confirm.setAttribute('role', 'group');
    confirm.setAttribute('aria-labelledby', questionId);
    confirm.hidden = true;
    const question = document.createElement('p');
    question.id = questionId;
    question.className = 'waiting-question';
    const confirmActions = document.createElement('div');
    confirmActions.className = 'waiting-actions';
    confirm.append(question, confirmActions);
    /** @type {{button: HTMLButtonElement, hiddenName: HTMLSpanElement}[]} */
    const buttons = [];
    /**
     * @param {HTMLElement} row
     * @param {string} text
     * @param {string} className
     * @param {() => void} onClick
     */
    const makeButton = (row, text, className, onClick) => {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = className;
      const visible = document.createElement('span');
      visible.textContent = text;
      const hiddenName = document.createElement('span');
      hiddenName.className = 'visually-hidden';
      button.append(visible, hiddenName);
      button.addEventListener('click', onClick);
      buttons.push({ button, hiddenName });
      row.append(button);
      return button;
    };
    const note = () => input.value.trim().slice(0, NOTE_MAX);
    makeButton(actions, t('Toelaten'), 'btn btn-primary', () => {
      setBusy(item, true);
      this.actions.onAdmit(item.id);
    });
    makeButton(actions, t('Laten wachten'), 'btn', () => {
      this.actions.onHold(item.id, note() || DEFAULT_HOLD_MESSAGE);
      this.announce(t('Uw bericht is verstuurd naar de wachtende.'));
    });
    const deny = makeButton(denyRow, t('Weigeren…'), 'btn btn-quiet-danger', () => {
      denyRow.hidden = true;
      confirm.hidden = false;
      keep.focus();
    });
    const keep = makeButton(confirmActions, t('Nee, niet weigeren'), 'btn', () => closeConfirm());
    makeButton(confirmActions, t('Ja, weigeren'), 'btn btn-danger', () => {
      setBusy(item, true);
      this.actions.onDeny(item.id, note());
    });
    const closeConfirm = () => {
      confirm.hidden = true;
      denyRow.hidden = false;
      deny.focus();
    };
    confirm.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        event.preventDefault();
        closeConfirm();
      }
    });
    /** @type {WaitingItem} */
    const item = {
      id: entry.id, entry, li, heading, about, state, label, input, deny, confirm, question, keep, buttons, name: '',
    };
    li.append(heading, about, state, label, input, actions, denyRow, confirm);
    return item;
  }

  /**
   * @param {WaitingItem} item
   * @param {WaitingEntry} entry
   * @param {number} position
   */
  #updateItem(item, entry, position) {
    item.entry = entry;
    item.name = `${roleLabel(entry.role)} ${position}`;
    item.heading.textContent = item.name;
    // The appointment belongs to the resident; a guest (interpreter, colleague) has none.
    const appointment = entry.role === 'resident' ? this.#appointment : null;
    item.about.hidden = !appointment;
    item.about.textContent = appointment
      ? t('Afspraaknummer {reference} · {purpose}', { reference: appointment.reference, purpose: appointment.purposeName })
      : '';
    this.#showState(item);
    item.label.textContent = t('Bericht aan {name} (bij laten wachten of weigeren)', { name: item.name });
    item.question.textContent = t('Wilt u {name} echt weigeren? Diegene kan dan niet meer in dit gesprek komen.', {
      name: item.name,
    });
    for (const { hiddenName } of item.buttons) hiddenName.textContent = `: ${item.name}`;
    setBusy(item, false);
  }

  /** @param {WaitingItem} item */
  #showState(item) {
    const waited = waitedText(minutesWaited(item.entry.since, this.now()));
    item.state.textContent = item.entry.state === 'on-hold' ? waited + ' ' + t('Heeft uw bericht gekregen.') : waited;
  }
}

/**
 * @param {WaitingItem} item
 * @param {boolean} busy
 */
function setBusy(item, busy) {
  for (const { button } of item.buttons) button.disabled = busy;
}
