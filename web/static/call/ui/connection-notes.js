// @ts-check
// What the page says about its own connection to the server (moved out of call.js, which
// only wires the parts): reconnecting, the service away for a moment (said once per outage),
// giving up, and a refused frame in words.

import { t } from '../../texts.js';
import { CLOSE } from '../close-codes.js';

/** @typedef {import('./status.js').Announce} Announce */

/**
 * Announce the signalling session's reconnects and show the alert when it gives up.
 * @param {import('../signal.js').SignalSession} signal
 * @param {{announce: Announce, alert: import('./status.js').Alert}} page
 */
export function sayConnectionChanges(signal, { announce, alert }) {
  // said once per outage: the slow retries that follow would repeat it every few seconds
  let unavailableSaid = false;
  signal.on('reconnecting', ({ attempt, resuming, code }) => {
    if (code === CLOSE.UNAVAILABLE) {
      if (!unavailableSaid) announce(t('De videobalie is even niet bereikbaar. We proberen het vanzelf opnieuw.'));
      unavailableSaid = true;
    } else if (attempt === 0) {
      announce(resuming ? t('De verbinding is even weg. We proberen het opnieuw.') : t('Verbinding maken…'));
    }
  });
  signal.on('joined', () => { unavailableSaid = false; });
  signal.on('resumed', () => { unavailableSaid = false; });
  signal.on('gave-up', () => {
    announce(t('Er is geen verbinding.'));
    alert.show(t('Het lukt niet om verbinding te maken. Controleer uw internet. Klik daarna op "Opnieuw verbinden".'), {
      retry: true,
    });
  });
}

/**
 * What to tell the person about a refused frame, or null when it is nothing of theirs.
 * @param {import('../signal.js').ServerMessage} message an `error` frame
 * @returns {string | null}
 */
export function refusalText(message) {
  const ref = Number.isInteger(message.ref) ? message.ref : null;
  if (message.code === 'room-full') return t('Er kunnen niet meer mensen in het gesprek. Er doen al drie mensen mee.');
  if (message.code === 'rate-limited') return t('U stuurt te veel berichten tegelijk. Wacht even en probeer het opnieuw.');
  if (ref !== null && message.code === 'bad-message') return t('Dat lukte niet. Is uw bericht misschien te lang?');
  return null;
}
