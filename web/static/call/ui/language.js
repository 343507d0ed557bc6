// @ts-check
// The language switch on the call page.
//
// The switch is an ordinary form: POST /taal sets the language cookie and redirects back
// here. Submitted as is, it would reload this page without the room token, which lives only
// in memory. So post it with fetch, put the token back into the fragment (which never leaves
// the browser: no query string, no request body) and reload; the reload takes it out again.

import { t } from '../../texts.js';

/**
 * @param {HTMLFormElement} form the switch's form
 * @param {{token: string | null, showAlert: (text: string) => void}} options
 */
export function keepTokenOnLanguageSwitch(form, { token, showAlert }) {
  form.addEventListener('submit', async (event) => {
    const action = new URL(form.action, window.location.href);
    // Without a token there is nothing to keep: the ordinary submit does the job.
    if (token === null || action.origin !== window.location.origin) return;
    event.preventDefault();
    const submitter = event.submitter ?? form.querySelector('button[name]');
    const button = submitter instanceof HTMLButtonElement ? submitter : null;
    const fields = new URLSearchParams();
    for (const [name, value] of new FormData(form)) fields.append(name, String(value));
    if (button && button.name) fields.append(button.name, button.value);
    if (button) button.disabled = true;
    let switched = false;
    try {
      const response = await fetch(action.href, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: fields,
        credentials: 'same-origin',
        cache: 'no-store',
        // The answer is the redirect back to this page (opaque here); its cookie is kept.
        redirect: 'manual',
      });
      switched = response.type === 'opaqueredirect' || response.ok;
    } catch (error) {
      console.warn('the language switch failed', error);
    }
    if (!switched) {
      if (button) {
        button.disabled = false;
        button.focus();
      }
      showAlert(t('Het lukte niet om de taal te wisselen. Probeer het opnieuw.'));
      return;
    }
    const { pathname, search } = window.location;
    window.history.replaceState(null, '', `${pathname}${search}#token=${encodeURIComponent(token)}`);
    window.location.reload();
  });
}
