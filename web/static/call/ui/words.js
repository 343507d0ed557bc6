// @ts-check
// Role names and times of day in the page's language, shared by the tiles, the lobby,
// the chat and the announcements.

import { LANGUAGE, t } from '../../texts.js';

/** @type {Record<string, string | undefined>} */
const ROLE_LABEL = {
  resident: t('Inwoner'),
  specialist: t('Medewerker'),
  guest: t('Tolk of collega'),
};
// Lower-case forms for use inside a sentence ("De verbinding van de inwoner…").
/** @type {Record<string, string | undefined>} */
const ROLE_IN_SENTENCE = {
  resident: t('de inwoner'),
  specialist: t('de medewerker'),
  guest: t('de tolk of collega'),
};
// Times of day in the page's language (chat, verified panel).
export const TIME_LOCALE = LANGUAGE === 'en' ? 'en-GB' : 'nl-NL';

/** @param {unknown} role */
export function roleLabel(role) {
  return ROLE_LABEL[String(role)] ?? t('Deelnemer');
}

/** @param {unknown} role */
export function roleInSentence(role) {
  return ROLE_IN_SENTENCE[String(role)] ?? t('een deelnemer');
}

/** @param {string} text */
export function capitalise(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * A time of day as the page's language writes it ("14:05").
 * @param {Date} date
 */
export function timeOfDay(date) {
  return date.toLocaleTimeString(TIME_LOCALE, { hour: '2-digit', minute: '2-digit' });
}
