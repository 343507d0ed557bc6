// @ts-check
// Identity step on the call page (docs/identity.md): the resident proves the
// attributes the appointment's purpose needs with a Yivi wallet before the
// waiting room; the specialist sees what was verified in a panel nobody else
// gets. Values never touch browser storage or URLs: the room token rides in an
// Authorization header, and the server binds the result to this browser by an
// HttpOnly cookie the page cannot read.

import { LANGUAGE, t } from '../texts.js';
import { ApiProblem, api, problemText, roomApiUrl } from './api.js';

export { ApiProblem, problemText };

const YIVI_SCRIPT = '/vendor/yivi.js';
// yivi-frontend speaks Dutch and English
const YIVI_LANGUAGE = LANGUAGE === 'en' ? 'en' : 'nl';

/**
 * One attribute in the verification state.
 * @typedef {object} VerifiedAttribute
 * @property {string} name
 * @property {string} label in the page's language
 * @property {string} [value] absent while masked
 * @property {boolean} [masked] the value is shown only after a reveal (the BSN)
 */

/**
 * What this seat must (still) do, and for a specialist what was verified.
 * @typedef {object} Verification
 * @property {string} [role]
 * @property {boolean} [required]
 * @property {boolean} [verified]
 * @property {VerifiedAttribute[]} [attributes]
 * @property {string | null} [demo_wallet_url]
 * @property {string[]} [wallets] the apps the purpose allows: yivi, openid4vp
 * @property {string | null} [verified_at]
 * @property {string | null} [verifier]
 * @property {boolean} [demo]
 */

/**
 * The parts of yivi-frontend's global this page uses.
 * @typedef {{start: () => Promise<unknown>, abort: () => unknown}} YiviWeb
 * @typedef {{newWeb: (options: object) => YiviWeb}} Yivi
 */

/** @param {string} room */
export function verificationUrl(room) {
  return `${roomApiUrl(room)}/verification`;
}

/**
 * What this seat must (still) do: {role, required, verified, attributes, demo_wallet_url}.
 * @param {string} room
 * @param {string} token
 * @returns {Promise<Verification>}
 */
export function fetchVerification(room, token) {
  return api('GET', verificationUrl(room), token);
}

/** @param {string} text */
function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * yivi-frontend's own texts, in the page's language and in the "u" form every other text on
 * the page uses (its Dutch says "je"). yivi-frontend puts them in the page as HTML: our texts
 * are escaped, the only markup is its own logo.
 * @returns {Record<string, string | ((code: string) => string)>}
 */
export function yiviTexts() {
  const logo = '<i class="yivi-web-logo">Yivi</i>';
  return {
    // {app} is left unfilled by t() and becomes the logo after escaping
    header: escapeHtml(t('Ga verder met {app}')).replace('{app}', logo),
    helper: escapeHtml(t('Lukt het niet? Op de website yivi.app staat uitleg.')),
    loading: escapeHtml(t('Een moment alstublieft…')),
    button: escapeHtml(t('Open de Yivi-app')),
    qrCode: escapeHtml(t('Laat de QR-code zien')),
    app: escapeHtml(t('Volg de stappen in de Yivi-app.')),
    retry: escapeHtml(t('Opnieuw proberen')),
    back: escapeHtml(t('Terug')),
    cancelled: escapeHtml(t('U heeft het delen gestopt.')),
    timeout: escapeHtml(t('Het duurde te lang. Probeer het opnieuw.')),
    error: escapeHtml(t('Er ging iets mis. Probeer het opnieuw.')),
    browser: escapeHtml(t('Uw browser is te oud voor Yivi. Gebruik een nieuwe versie van uw browser.')),
    success: escapeHtml(t('Gelukt!')),
    cancel: escapeHtml(t('Stoppen')),
    pairing: escapeHtml(t('Vul de koppelcode in die u in de Yivi-app ziet.')),
    pairingFailed: (code) => escapeHtml(t('De koppelcode {code} is niet goed. Kijk in uw Yivi-app en probeer het opnieuw.', {
      code: String(code),
    })),
  };
}

/** @type {Promise<Yivi> | null} */
let yiviLoading = null;

/** @returns {Promise<Yivi>} */
function loadYivi() {
  const page = /** @type {Window & {yivi?: Yivi}} */ (window);
  if (page.yivi) return Promise.resolve(page.yivi);
  if (yiviLoading) return yiviLoading;
  yiviLoading = new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = YIVI_SCRIPT;
    // Our CSP allows scripts by nonce; reuse the one this page was served with.
    const ours = document.querySelector('script[nonce]');
    if (ours instanceof HTMLScriptElement) script.nonce = ours.nonce;
    script.addEventListener('load', () => (page.yivi ? resolve(page.yivi) : reject(new Error('yivi missing'))));
    script.addEventListener('error', () => {
      yiviLoading = null;
      reject(new Error('yivi could not be loaded'));
    });
    document.head.append(script);
  });
  return yiviLoading;
}

/**
 * Run one Yivi session in `element` and ask the server for its verdict.
 * Resolves with the server's verdict; rejects with ApiProblem (refused) or Error.
 * `onSessionPointer` gets the session pointer the page already has (the demo wallet's
 * button posts its link; it never goes into a URL). Aborting `signal` stops the session:
 * yivi-frontend stops following it, cancels it on the irma server (or, still starting, as
 * soon as it exists) and the promise rejects; the verdict is then never asked for.
 * @param {{room: string, token: string, element: string,
 *   onSessionPointer?: (pointer: {u?: unknown}) => void, signal?: AbortSignal}} options
 */
export async function verifyWithYivi({ room, token, element, onSessionPointer, signal }) {
  const yivi = await loadYivi();
  signal?.throwIfAborted();
  const base = verificationUrl(room);
  const web = yivi.newWeb({
    element,
    language: YIVI_LANGUAGE,
    translations: yiviTexts(),
    session: {
      url: base,
      start: {
        url: (/** @type {{url: string}} */ o) => `${o.url}/session`,
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: '{}',
        credentials: 'same-origin',
      },
      // Only the session pointer reaches the page; the requestor token stays on the server.
      mapping: {
        sessionPtr: (/** @type {{sessionPtr: {u?: unknown}}} */ r) => {
          onSessionPointer?.(r.sessionPtr);
          return r.sessionPtr;
        },
        frontendRequest: (/** @type {{frontendRequest: unknown}} */ r) => r.frontendRequest,
      },
      // The server fetches and checks the result itself; we only ask for its verdict.
      result: false,
    },
  });
  const abort = () => {
    web.abort();
  };
  signal?.addEventListener('abort', abort, { once: true });
  try {
    await web.start();
  } finally {
    signal?.removeEventListener('abort', abort);
  }
  signal?.throwIfAborted();
  return api('POST', `${base}/result`, token, {});
}

/**
 * Specialist: reveal one masked attribute (each reveal is audited).
 * @param {string} room
 * @param {string} token
 * @param {string} attribute
 * @returns {Promise<{value: string}>}
 */
export function reveal(room, token, attribute) {
  return api('POST', `${verificationUrl(room)}/reveal`, token, { attribute });
}

/**
 * Specialist: ask the resident to verify again.
 * @param {string} room
 * @param {string} token
 */
export function requestRenewal(room, token) {
  return api('POST', `${verificationUrl(room)}/renew`, token, {});
}
