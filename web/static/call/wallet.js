// @ts-check
// The EU/NL identity wallet (OpenID4VP) from the call page (docs/identity.md): start a
// session, follow it until the wallet answered, and ask the server for its verdict. The
// page never sees a value: the wallet answers the server, which checks everything and keeps
// the values in its vault. The QR code and the button carry only the public request link.

import { api } from './api.js';
import { verificationUrl } from './identity.js';

const POLL_MS = 1500;
const CHANNEL = 'balie-wallet';
const QR_MODULE = '/vendor/qrcode.mjs';
// blank modules around the code, as the QR specification asks
const QUIET = 4;

/**
 * @typedef {object} WalletSession
 * @property {string} authorization_request the openid4vp:// link for the QR code or button
 * @property {string} flow cross-device or same-device
 */

/**
 * @param {string} room
 * @param {string} token
 * @param {'cross-device' | 'same-device'} flow
 * @returns {Promise<WalletSession>}
 */
export function startWalletSession(room, token, flow) {
  return api('POST', `${verificationUrl(room)}/session`, token, { wallet: 'openid4vp', flow });
}

/**
 * How far the wallet is: waiting, connected, done, cancelled or timeout.
 * @param {string} room
 * @param {string} token
 * @returns {Promise<string>}
 */
export async function walletProgress(room, token) {
  const body = await api('GET', `${verificationUrl(room)}/progress`, token);
  return String(body.status);
}

/**
 * The server's verdict; rejects with ApiProblem when the presentation was refused.
 * @param {string} room
 * @param {string} token
 * @param {string | null} responseCode the code the wallet sent this browser back with
 */
export function finishWallet(room, token, responseCode) {
  return api('POST', `${verificationUrl(room)}/result`, token,
    responseCode ? { response_code: responseCode } : {});
}

/**
 * Wait `ms`, or less when `signal` aborts.
 * @param {number} ms
 * @param {AbortSignal} signal
 */
export function pause(ms, signal) {
  return new Promise((resolve) => {
    const timer = window.setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      window.clearTimeout(timer);
      resolve(undefined);
    }, { once: true });
  });
}

export { POLL_MS };

/**
 * The response codes the wallet's way back (/identiteit/wallet, another tab of this
 * browser) hands over; each is acknowledged so that tab can say all is well.
 */
export class ResponseCodes {
  /** @type {string | null} */
  code = null;
  /** @type {((code: string) => void) | null} */
  #waiting = null;

  constructor() {
    this.channel = typeof BroadcastChannel === 'undefined' ? null : new BroadcastChannel(CHANNEL);
    this.channel?.addEventListener('message', (event) => {
      const data = event.data;
      if (!data || data.type !== 'response-code' || typeof data.code !== 'string') return;
      this.code = data.code;
      this.channel?.postMessage({ type: 'received' });
      this.#waiting?.(data.code);
    });
  }

  /**
   * The code, once it came.
   * @param {AbortSignal} signal
   * @returns {Promise<string | null>} null when stopped first
   */
  next(signal) {
    if (this.code) return Promise.resolve(this.code);
    return new Promise((resolve) => {
      this.#waiting = resolve;
      signal.addEventListener('abort', () => resolve(null), { once: true });
    });
  }

  close() {
    this.channel?.close();
  }
}

/**
 * Draw `text` as a QR code (an SVG of the modules) into `element`, with the QR library
 * from npm (qrcode-generator).
 * @param {HTMLElement} element
 * @param {string} text
 */
export async function drawQr(element, text) {
  const url = QR_MODULE; // a variable: the library is loaded at run time from /vendor
  const library = await import(url);
  const code = library.default(0, 'M');
  code.addData(text);
  code.make();
  const count = Number(code.getModuleCount());
  const size = count + 2 * QUIET;
  const parts = [];
  for (let row = 0; row < count; row += 1) {
    for (let column = 0; column < count; column += 1) {
      if (code.isDark(row, column)) parts.push(`M${column + QUIET},${row + QUIET}h1v1h-1z`);
    }
  }
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${size} ${size}`);
  svg.setAttribute('shape-rendering', 'crispEdges');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const background = document.createElementNS(ns, 'rect');
  background.setAttribute('width', String(size));
  background.setAttribute('height', String(size));
  background.setAttribute('fill', '#ffffff');
  const modules = document.createElementNS(ns, 'path');
  modules.setAttribute('d', parts.join(''));
  modules.setAttribute('fill', '#000000');
  svg.append(background, modules);
  element.replaceChildren(svg);
}
