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
 * @property {HTMLFormElement} demoForm posts this attempt's session link to the demo wallet
 * @property {HTMLInputElement} demoSession the session link, filled in per attempt
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
  /** @type {string | null} the demo wallet's address (development only) */
  #demoWallet = null;

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
    const { title, attributes, demo, demoForm } = this.elements;
    this.#active = true;
    attributes.replaceChildren(
      ...(state.attributes ?? []).map((attribute) => {
        const li = document.createElement('li');
        li.textContent = attribute.label;
        return li;
      }),
    );
    this.#demoWallet = state.demo_wallet_url || null;
    demo.hidden = !this.#demoWallet;
    // The session link is posted in the form's body to the wallet in a new tab, never put in
    // a URL: anyone with the link could answer the question.
    if (this.#demoWallet) demoForm.action = `${this.#demoWallet}/open`;
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
    this.#showDemoSession(null);
    try {
      await verifyWithYivi({
        room,
        token,
        element: '#yivi-web-form',
        onSessionPointer: (pointer) => this.#showDemoSession(pointer && pointer.u),
      });
    } catch (error) {
      this.#showDemoSession(null);
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
    this.#showDemoSession(null);
    this.#active = false;
    this.options.onChange();
    announce(t('Gelukt. De gemeente weet nu dat u het bent.'));
    this.options.onVerified();
  }

  /**
   * The demo wallet's button, for this attempt's session only (hidden without one).
   * @param {unknown} link the session pointer's `u`
   */
  #showDemoSession(link) {
    const { demoForm, demoSession } = this.elements;
    const usable = Boolean(this.#demoWallet) && typeof link === 'string' && link.length > 0;
    demoSession.value = usable ? String(link) : '';
    demoForm.hidden = !usable;
  }
}
