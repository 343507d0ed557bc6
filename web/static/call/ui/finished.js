// @ts-check
// The end of the call (`#finished`): why it stopped, and what comes next. The resident reads
// what happens now (the municipality records the outcome, they hear from it if something
// follows, how to reach it with a question) and may give feedback; the specialist goes on
// to record the outcome, or back to the desk. A link opened after its time ends here too.

import { t } from '../../texts.js';
import { CLOSE } from '../close-codes.js';
import { byId } from './dom.js';

export const BROKEN_CONNECTION = t('Er ging iets mis met de verbinding. Open de link opnieuw.');
// What the page says after a close code that ends the session (signal.js decides which).
/** @type {Map<number, string>} */
const CLOSED_TEXT = new Map([
  [CLOSE.NORMAL, t('Het gesprek is gestopt.')],
  [CLOSE.INVALID_TEXT, BROKEN_CONNECTION],
  [CLOSE.MESSAGE_TOO_BIG, BROKEN_CONNECTION],
  [CLOSE.BAD_FIRST_FRAME, BROKEN_CONNECTION],
  [CLOSE.TOKEN_REFUSED, t('Deze link werkt niet. Misschien is de link verlopen. Vraag de gemeente om een nieuwe link.')],
  [CLOSE.DENIED, t('De medewerker heeft u niet toegelaten.')],
  [CLOSE.REPLACED, t('U heeft het gesprek in een ander venster of tabblad geopend. Dit venster doet niet meer mee.')],
  [CLOSE.ENDED, t('Het gesprek is beëindigd.')],
]);

/**
 * What the page says after a final close code.
 * @param {number} code
 */
export function closedText(code) {
  return CLOSED_TEXT.get(code) ?? BROKEN_CONNECTION;
}

/**
 * The end's elements in the call page's template.
 * @param {HTMLElement} panel
 * @param {HTMLButtonElement} rejoin
 * @returns {FinishedElements}
 */
export function finishedElements(panel, rejoin) {
  return {
    panel,
    title: byId('finished-title', HTMLElement),
    text: byId('finished-text', HTMLElement),
    detail: byId('finished-detail', HTMLElement),
    rejoin,
    next: byId('finished-next', HTMLElement),
    questions: byId('finished-questions', HTMLElement),
    reference: byId('finished-reference', HTMLElement),
    book: byId('finished-book', HTMLElement),
    bookLink: byId('finished-book-link', HTMLAnchorElement),
    feedbackForm: byId('feedback-form', HTMLFormElement),
    feedbackToken: byId('feedback-token', HTMLInputElement),
    staff: byId('finished-staff', HTMLElement),
    outcome: byId('finished-outcome', HTMLElement),
    outcomeLink: byId('finished-outcome-link', HTMLAnchorElement),
  };
}

/**
 * @typedef {object} FinishedElements
 * @property {HTMLElement} panel
 * @property {HTMLElement} title
 * @property {HTMLElement} text
 * @property {HTMLElement} detail
 * @property {HTMLButtonElement} rejoin
 * @property {HTMLElement} next the resident's "what happens now" after a call
 * @property {HTMLElement} questions how to reach the municipality
 * @property {HTMLElement} reference the appointment number to mention
 * @property {HTMLElement} book the way to a new appointment
 * @property {HTMLAnchorElement} bookLink
 * @property {HTMLFormElement} feedbackForm
 * @property {HTMLInputElement} feedbackToken
 * @property {HTMLElement} staff the specialist's next steps
 * @property {HTMLElement} outcome the outcome link's paragraph
 * @property {HTMLAnchorElement} outcomeLink
 */

/**
 * @typedef {object} FinishedResident
 * @property {boolean} afterCall they were in the call: say what happens now
 * @property {{room: string, token: string} | null} feedback the feedback form posts this token
 * @property {string | null} reference the appointment number, to mention when calling
 * @property {string | null} bookingUrl where to make a new appointment
 */

/**
 * @typedef {object} FinishedView
 * @property {string} text why it stopped
 * @property {string | null} [detail]
 * @property {boolean} [rejoin] offer "Opnieuw deelnemen"
 * @property {FinishedResident | null} [resident]
 * @property {{outcomeUrl: string | null} | null} [specialist]
 */

export class FinishedScreen {
  /** @param {FinishedElements} elements */
  constructor(elements) {
    this.elements = elements;
  }

  /**
   * Fill the panel (the page shows it and moves the focus to its title).
   * @param {FinishedView} view
   * @param {{canRejoin: boolean}} page whether the page still has its token
   */
  show({ text, detail = null, rejoin = false, resident = null, specialist = null }, { canRejoin }) {
    const el = this.elements;
    el.text.textContent = text;
    el.detail.textContent = detail ?? '';
    el.detail.hidden = !detail;
    el.rejoin.hidden = !(rejoin && canRejoin);

    el.next.hidden = !resident?.afterCall;
    el.questions.hidden = !resident;
    el.reference.hidden = !resident?.reference;
    el.reference.textContent = resident?.reference
      ? t('Noem dan uw afspraaknummer: {reference}.', { reference: resident.reference })
      : '';
    el.book.hidden = !resident?.bookingUrl;
    if (resident?.bookingUrl) el.bookLink.href = resident.bookingUrl;
    // The form posts the room token from memory, never in a URL.
    const feedback = resident?.feedback ?? null;
    el.feedbackForm.hidden = !feedback;
    el.feedbackToken.value = feedback ? feedback.token : '';
    if (feedback) el.feedbackForm.action = `/feedback/${encodeURIComponent(feedback.room)}`;

    el.staff.hidden = !specialist;
    el.outcome.hidden = !specialist?.outcomeUrl;
    if (specialist?.outcomeUrl) el.outcomeLink.href = specialist.outcomeUrl;
  }

  /** Keyboard and screen reader users land on the title (the controls just disappeared). */
  focus() {
    this.elements.title.focus();
  }
}
