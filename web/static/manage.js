// @ts-check
// The manage link carries its token in the fragment (#token=…), which browsers never send
// to a server. This moves it into the page's form and posts it, so it reaches the server in
// a request body only, never a URL (access logs, history, Referer). Without JavaScript the
// resident pastes the link into the same form.
import { t } from './texts.js';

function openManageLink() {
  const fragment = window.location.hash.replace(/^#/, '');
  const token = new URLSearchParams(fragment).get('token');
  // The token leaves the address bar at once: no bookmark, history entry or screenshot keeps it.
  if (window.location.hash) {
    window.history.replaceState(null, '', window.location.pathname + window.location.search);
  }
  if (!token) return;
  const form = document.getElementById('manage-form');
  const field = document.getElementById('link');
  const status = document.getElementById('manage-status');
  if (!(form instanceof HTMLFormElement) || !(field instanceof HTMLInputElement)) return;
  field.value = token;
  if (status) {
    status.textContent = t('Uw afspraak wordt geopend…');
    status.hidden = false;
  }
  form.requestSubmit();
}

openManageLink();
// The link pasted into the address bar of this very page changes only the fragment.
window.addEventListener('hashchange', openManageLink);
