// @ts-check
// Time on the call page, without touching the page (Node tests: tests/web/schedule.test.mjs):
// whether an appointment's call is open yet, when to look again, the server's clock as seen
// from this browser, and how long someone has waited in the lobby.
//
// Times from the server are the server's clock; this browser's clock may be minutes off. The
// page estimates the difference once, from the Date header of an API answer, and reads "now"
// as the server would (to within a second: the header counts whole seconds).

/** The appointments' time zone: times are shown as the municipality's confirmation shows them. */
export const TIME_ZONE = 'Europe/Amsterdam';
// setTimeout's longest delay; a page open for weeks checks again well before that anyway
const LONGEST_WAIT_MS = 60_000;
// The page opens this long before the opening moment. The server lets a token in from 30
// seconds before its time (LEEWAY_SECONDS in signaling/tokens.py); a third of that covers the
// clock estimate's second, and a room made just now (its time is "now") is open at once.
export const EARLY_TOLERANCE_MS = 10_000;

/**
 * A time from the server (ISO 8601 text), or null.
 * @param {unknown} value
 * @returns {Date | null}
 */
export function parseInstant(value) {
  if (typeof value !== 'string' || !value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/**
 * How far the server's clock is ahead of this browser's, in milliseconds, from an answer's
 * Date header (0 without one).
 * @param {string | null} dateHeader
 * @param {number} receivedAt this browser's clock when the answer came (ms since the epoch)
 */
export function clockOffset(dateHeader, receivedAt) {
  const server = dateHeader ? Date.parse(dateHeader) : Number.NaN;
  return Number.isFinite(server) ? server - receivedAt : 0;
}

/**
 * @typedef {'early' | 'open' | 'over'} Opening
 *   early: the call has not opened yet; open: it may be joined; over: its time is past
 */

/**
 * Where a call stands at `now` (the server's clock).
 * @param {{now: number, opensAt: Date | null, closesAt: Date | null}} times
 * @returns {Opening}
 */
export function openingAt({ now, opensAt, closesAt }) {
  if (closesAt && now >= closesAt.getTime()) return 'over';
  if (opensAt && now < opensAt.getTime() - EARLY_TOLERANCE_MS) return 'early';
  return 'open';
}

/**
 * How long to wait before looking again whether an early call has opened: until the moment
 * itself, but never more than a minute (a sleeping laptop's timers stop; the clock does not).
 * @param {number} now the server's clock
 * @param {Date} opensAt
 */
export function nextLook(now, opensAt) {
  const until = opensAt.getTime() - EARLY_TOLERANCE_MS - now;
  return Math.min(Math.max(until, 0), LONGEST_WAIT_MS);
}

/**
 * The calendar day of `date` in the appointments' time zone ("2025-06-03").
 * @param {Date} date
 */
export function localDay(date) {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone: TIME_ZONE, year: 'numeric', month: '2-digit', day: '2-digit',
  }).format(date);
}

/**
 * @param {Date} a
 * @param {Date} b
 */
export function sameDay(a, b) {
  return localDay(a) === localDay(b);
}

/**
 * A time of day in the appointments' time zone ("14:05").
 * @param {Date} date
 * @param {string} locale
 */
export function clockTime(date, locale) {
  return new Intl.DateTimeFormat(locale, {
    timeZone: TIME_ZONE, hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).format(date);
}

/**
 * A date in words in the appointments' time zone ("dinsdag 3 juni").
 * @param {Date} date
 * @param {string} locale
 */
export function dayInWords(date, locale) {
  return new Intl.DateTimeFormat(locale, {
    timeZone: TIME_ZONE, weekday: 'long', day: 'numeric', month: 'long',
  }).format(date);
}

/**
 * Whole minutes someone has waited since `since` (unix seconds, the server's clock).
 * @param {unknown} since
 * @param {number} now the server's clock (ms since the epoch)
 * @returns {number | null} null when `since` is not a time
 */
export function minutesWaited(since, now) {
  if (typeof since !== 'number' || !Number.isFinite(since)) return null;
  return Math.max(0, Math.floor((now - since * 1000) / 60_000));
}
