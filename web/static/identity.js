// Identity step on the call page (docs/identity.md): the resident proves the
// attributes the appointment's purpose needs with a Yivi wallet before the
// waiting room; the specialist sees what was verified in a panel nobody else
// gets. Values never touch browser storage or URLs: the room token rides in an
// Authorization header, and the server binds the result to this browser by an
// HttpOnly cookie the page cannot read.

import { LANGUAGE } from './texts.js';

const YIVI_SCRIPT = '/vendor/yivi.js';
// yivi-frontend speaks Dutch and English
const YIVI_LANGUAGE = LANGUAGE === 'en' ? 'en' : 'nl';

/** Fetch JSON from our API; a problem response becomes a thrown ApiProblem. */
export class ApiProblem extends Error {
  constructor(status, body) {
    super(body && typeof body.code === 'string' ? body.code : `http-${status}`);
    this.status = status;
    this.code = this.message;
    // `detail` is written for the person in front of the page (B1, in the page's language).
    this.detail = body && typeof body.detail === 'string' ? body.detail : null;
  }
}

async function api(method, url, token, body) {
  const init = { method, headers: { Authorization: `Bearer ${token}` }, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  let parsed = null;
  try {
    parsed = await response.json();
  } catch {
    parsed = null;
  }
  if (!response.ok) throw new ApiProblem(response.status, parsed);
  return parsed;
}

export function verificationUrl(room) {
  return `/api/rooms/${encodeURIComponent(room)}/verification`;
}

/** What this seat must (still) do: {role, required, verified, attributes, demo_wallet_url}. */
export function fetchVerification(room, token) {
  return api('GET', verificationUrl(room), token);
}

let yiviLoading = null;

function loadYivi() {
  if (window.yivi) return Promise.resolve(window.yivi);
  if (yiviLoading) return yiviLoading;
  yiviLoading = new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = YIVI_SCRIPT;
    // Our CSP allows scripts by nonce; reuse the one this page was served with.
    const ours = document.querySelector('script[nonce]');
    if (ours) script.nonce = ours.nonce;
    script.addEventListener('load', () => (window.yivi ? resolve(window.yivi) : reject(new Error('yivi missing'))));
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
 */
export async function verifyWithYivi({ room, token, element }) {
  const yivi = await loadYivi();
  const base = verificationUrl(room);
  const web = yivi.newWeb({
    element,
    language: YIVI_LANGUAGE,
    session: {
      url: base,
      start: {
        url: (o) => `${o.url}/session`,
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: '{}',
        credentials: 'same-origin',
      },
      // Only the session pointer reaches the page; the requestor token stays on the server.
      mapping: {
        sessionPtr: (r) => r.sessionPtr,
        frontendRequest: (r) => r.frontendRequest,
      },
      // The server fetches and checks the result itself; we only ask for its verdict.
      result: false,
    },
  });
  await web.start();
  return api('POST', `${base}/result`, token, {});
}

/** Specialist: reveal one masked attribute (each reveal is audited). */
export function reveal(room, token, attribute) {
  return api('POST', `${verificationUrl(room)}/reveal`, token, { attribute });
}

/** Specialist: ask the resident to verify again. */
export function requestRenewal(room, token) {
  return api('POST', `${verificationUrl(room)}/renew`, token, {});
}
