// @ts-check
// The resident's identity step (`#verify`, docs/identity.md): which attributes they share,
// the Yivi QR code or app button, and a retry when it fails.

import { t } from '../../texts.js';
import { ApiProblem, problemText, verifyWithYivi } from '../identity.js';

/** @typedef {import('./status.js').Announce} Announce */
/** @typedef {import('../identity.js').Verification} Verification */

/**
 * @typedef {object} VerifyElements
 * @property {HTMLElement} title
 * @property {HTMLElement} attributes the list of attributes shared
 * @property {HTMLElement} demo the demo wallet hint
 * @property {HTMLAnchorElement} demoLink
 * @property {HTMLButtonElement} retry
 */

/**
 * @typedef {object} VerifyOptions
 * @property {string} room
 * @property {string} token
 * @property {Announce} announce
 * @property {import('./status.js').Alert} alert
 * @property {() => void} onChange the step appeared or went (the page renders)
 * @property {() => void} onVerified the resident proved who they are
 */

export class IdentityStep {
  #active = false;

  /**
   * @param {VerifyElements} elements
   * @param {VerifyOptions} options
   */
  constructor(elements, options) {
    this.elements = elements;
    this.options = options;
    elements.retry.addEventListener('click', () => {
      this.run();
    });
  }

  /** Whether the step is on screen (before the lobby, or when asked again). */
  get active() {
    return this.#active;
  }

  /** @param {Verification} state what the server asks for */
  start(state) {
    const { title, attributes, demo, demoLink } = this.elements;
    this.#active = true;
    attributes.replaceChildren(
      ...(state.attributes ?? []).map((attribute) => {
        const li = document.createElement('li');
        li.textContent = attribute.label;
        return li;
      }),
    );
    demo.hidden = !state.demo_wallet_url;
    if (state.demo_wallet_url) demoLink.href = state.demo_wallet_url;
    this.options.onChange();
    this.options.announce(t('Laat zien wie u bent. Scan de QR-code met de Yivi-app.'));
    title.focus();
    this.run();
  }

  async run() {
    const { retry } = this.elements;
    const { room, token, announce, alert } = this.options;
    retry.hidden = true;
    alert.clear();
    // yivi-frontend can start only once per element: give every attempt a fresh one.
    const form = document.createElement('div');
    form.id = 'yivi-web-form';
    form.className = 'yivi-form';
    document.getElementById('yivi-web-form')?.replaceWith(form);
    try {
      await verifyWithYivi({ room, token, element: '#yivi-web-form' });
    } catch (error) {
      if (error instanceof ApiProblem) {
        alert.show(problemText(error, t('Het lukte niet om te laten zien wie u bent.')));
      } else {
        alert.show(t('Het lukte niet om te laten zien wie u bent. Probeer het opnieuw.'));
      }
      announce(t('Het controleren is niet gelukt.'));
      retry.hidden = false;
      retry.focus();
      return;
    }
    this.#active = false;
    this.options.onChange();
    announce(t('Gelukt. De gemeente weet nu dat u het bent.'));
    this.options.onVerified();
  }
}
