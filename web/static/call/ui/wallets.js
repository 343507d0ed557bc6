// @ts-check
// The choice of app in the identity step (`#verify-choice`) and the EU/NL wallet's own step
// (`#wallet-step`): a QR code on a computer, a button that opens the wallet on a phone. The
// page follows the session by itself and moves on when the wallet has answered; each change
// is said in the status line (aria-live) and shown under the code. Both the wallet's step and
// a Yivi attempt have "Andere app kiezen" (`#wallet-other`, `#yivi-other`) when there is a
// choice; ui/verify.js stops the attempt and shows the choice again.

import { t } from '../../texts.js';
import {
  POLL_MS,
  ResponseCodes,
  drawQr,
  finishWallet,
  pause,
  startWalletSession,
  walletProgress,
} from '../wallet.js';

/** @typedef {import('./status.js').Announce} Announce */

// a phone's screen: the wallet is on this device, so a button instead of a QR code
const PHONE = '(max-width: 40em)';

/**
 * @param {ParentNode} section
 * @param {string} id
 * @returns {HTMLElement}
 */
function part(section, id) {
  const found = section.querySelector(`#${id}`);
  if (!(found instanceof HTMLElement)) throw new Error(`#${id} is missing`);
  return found;
}

/**
 * What the wallet's progress means for the person, or null to say nothing.
 * @param {string} status
 * @returns {string | null}
 */
function progressText(status) {
  if (status === 'waiting') return t('Wacht op uw wallet-app…');
  if (status === 'connected') return t('Uw wallet-app is verbonden. Kies in de app of u uw gegevens deelt.');
  if (status === 'done') return t('Uw wallet-app heeft geantwoord. We controleren uw gegevens…');
  return null;
}

export class WalletStep {
  /** @param {ParentNode} section the identity step's `#verify` */
  constructor(section) {
    this.choice = part(section, 'verify-choice');
    this.yiviIntro = part(section, 'verify-yivi-intro');
    this.chooseYivi = part(section, 'wallet-yivi');
    this.chooseWallet = part(section, 'wallet-eu');
    this.step = part(section, 'wallet-step');
    this.scan = part(section, 'wallet-scan');
    this.qr = part(section, 'wallet-qr');
    this.tap = part(section, 'wallet-tap');
    this.open = /** @type {HTMLAnchorElement} */ (part(section, 'wallet-open'));
    this.progress = part(section, 'wallet-progress');
    this.other = part(section, 'wallet-other');
    this.yiviOther = part(section, 'yivi-other');
    /** @type {AbortController | null} */
    this.running = null;
  }

  /**
   * Show the choice of app (or, with one app, nothing of it).
   * @param {boolean} shown
   */
  showChoice(shown) {
    this.choice.hidden = !shown;
    this.yiviIntro.hidden = shown;
    this.step.hidden = true;
    this.yiviOther.hidden = true; // a Yivi attempt shows it again when there is a choice
  }

  /** Take away the code and the button of an attempt that is over. */
  clear() {
    for (const element of [this.scan, this.qr, this.tap, this.open]) element.hidden = true;
    this.qr.replaceChildren();
    this.progress.textContent = '';
  }

  /** Stop following a session (another app was chosen, or the step went). */
  stop() {
    this.running?.abort();
    this.running = null;
    this.step.hidden = true;
  }

  /**
   * Run one wallet session; resolves with the server's verdict, rejects with ApiProblem
   * (refused) or Error (stopped, timed out, or the network).
   * @param {{room: string, token: string, announce: Announce, canChoose: boolean}} options
   */
  async run({ room, token, announce, canChoose }) {
    this.stop();
    const running = new AbortController();
    this.running = running;
    const phone = window.matchMedia(PHONE).matches;
    this.choice.hidden = true;
    this.yiviIntro.hidden = true;
    this.step.hidden = false;
    this.other.hidden = !canChoose;
    this.scan.hidden = true;
    this.qr.hidden = true;
    this.tap.hidden = true;
    this.open.hidden = true;
    this.progress.textContent = t('Een moment alstublieft…');
    const codes = phone ? new ResponseCodes() : null;
    try {
      const session = await startWalletSession(room, token, phone ? 'same-device' : 'cross-device');
      if (phone) {
        this.open.href = session.authorization_request;
        this.open.hidden = false;
        this.tap.hidden = false;
        this.open.focus();
        announce(t('Tik op de knop om uw wallet-app te openen.'));
      } else {
        await drawQr(this.qr, session.authorization_request);
        this.qr.hidden = false;
        this.scan.hidden = false;
        announce(t('Scan de QR-code met uw wallet-app.'));
      }
      await this.#follow(room, token, announce, running.signal);
      const code = codes ? await codes.next(running.signal) : null;
      if (running.signal.aborted) throw new Error('stopped');
      return await finishWallet(room, token, code);
    } finally {
      codes?.close();
      if (this.running === running) this.running = null;
    }
  }

  /**
   * Poll until the wallet answered; the QR code goes once it was scanned.
   * @param {string} room
   * @param {string} token
   * @param {Announce} announce
   * @param {AbortSignal} signal
   */
  async #follow(room, token, announce, signal) {
    let last = '';
    while (!signal.aborted) {
      const status = await walletProgress(room, token);
      if (status !== last) {
        last = status;
        const text = progressText(status);
        if (text) {
          this.progress.textContent = text;
          if (status !== 'waiting') announce(text);
        }
        if (status === 'connected') this.qr.hidden = true;
      }
      if (status === 'done') return;
      if (status === 'cancelled' || status === 'timeout') {
        throw new Error(status === 'timeout'
          ? t('Het duurde te lang. Probeer het opnieuw.')
          : t('U heeft het delen gestopt.'));
      }
      await pause(POLL_MS, signal);
    }
    throw new Error('stopped');
  }
}
