// @ts-check
// The page an identity wallet sends the phone's browser back to after a same-device answer
// (docs/identity.md). The response code is in the fragment, which never reaches a server:
// this script takes it out of the address at once and hands it to the call page in this
// browser over a BroadcastChannel (same origin only, nothing stored), which finishes the
// identity step with it. The code proves that this browser is the one the wallet answered.

import { t } from './texts.js';

const CHANNEL = 'balie-wallet';
// how long the call page has to say it got the code
const WAIT_MS = 4000;

const code = new URLSearchParams(window.location.hash.slice(1)).get('response_code');
// out of the address bar, bookmarks and history at once
window.history.replaceState(null, '', window.location.pathname);

const status = document.getElementById('wallet-return-status');
const next = document.getElementById('wallet-return-next');
const lost = document.getElementById('wallet-return-lost');

/** @param {HTMLElement | null} shown */
function finish(shown) {
  if (status) status.textContent = shown === next ? t('Gelukt.') : t('Dat lukte niet.');
  if (shown) shown.hidden = false;
}

if (!code || typeof BroadcastChannel === 'undefined') {
  finish(lost);
} else {
  const channel = new BroadcastChannel(CHANNEL);
  const timer = window.setTimeout(() => {
    channel.close();
    finish(lost);
  }, WAIT_MS);
  channel.addEventListener('message', (event) => {
    if (event.data && event.data.type === 'received') {
      window.clearTimeout(timer);
      channel.close();
      finish(next);
    }
  });
  channel.postMessage({ type: 'response-code', code });
}
