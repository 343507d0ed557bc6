// @ts-check
// The appointment a call belongs to (GET /api/rooms/{room}/appointment, server/booking/
// room_info.py): when the call opens and closes, the appointment's number, subject and
// times, and for the specialist where to record the outcome. Asked before joining, so a
// link opened early can say when the call starts instead of looking dead. Nothing personal.

import { request, roomApiUrl } from './api.js';
import { clockOffset, parseInstant } from './schedule.js';

/**
 * @typedef {object} AppointmentInfo
 * @property {string} reference the appointment number the resident also has
 * @property {string} purposeName the subject, in the page's language
 * @property {Date} start
 * @property {Date} end
 * @property {string} state
 * @property {string | null} outcomeUrl where the specialist records the outcome (a path here)
 */

/**
 * @typedef {object} RoomSchedule
 * @property {Date | null} opensAt from when the room token lets one in
 * @property {Date | null} closesAt until when
 * @property {AppointmentInfo | null} appointment null for a room made by hand
 * @property {number} offset how far the server's clock is ahead of this browser's (ms)
 */

/**
 * A path on this site (never another site's address), or null.
 * @param {unknown} value
 */
function localPath(value) {
  return typeof value === 'string' && value.startsWith('/') && !value.startsWith('//') ? value : null;
}

/**
 * @param {unknown} raw
 * @returns {AppointmentInfo | null}
 */
export function readAppointment(raw) {
  if (!raw || typeof raw !== 'object') return null;
  const found = /** @type {Record<string, unknown>} */ (raw);
  const start = parseInstant(found.start);
  const end = parseInstant(found.end);
  if (typeof found.reference !== 'string' || !start || !end) return null;
  return {
    reference: found.reference,
    purposeName: typeof found.purpose_name === 'string' ? found.purpose_name : '',
    start,
    end,
    state: typeof found.state === 'string' ? found.state : '',
    outcomeUrl: localPath(found.outcome_url),
  };
}

/**
 * @param {string} room
 * @param {string} token
 * @returns {Promise<RoomSchedule>}
 */
export async function fetchSchedule(room, token) {
  const { body, response } = await request('GET', `${roomApiUrl(room)}/appointment`, token);
  const found = body && typeof body === 'object' ? body : {};
  return {
    opensAt: parseInstant(found.opens_at),
    closesAt: parseInstant(found.closes_at),
    appointment: readAppointment(found.appointment),
    offset: clockOffset(response.headers.get('Date'), Date.now()),
  };
}
