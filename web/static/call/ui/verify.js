// @ts-check
// The resident's identity step (`#verify`, docs/identity.md): which attributes they share,
// the choice of app when the purpose allows more than one (ui/wallets.js), the Yivi QR code
// or app button, "Andere app kiezen" back to the choice, and a retry when it fails.

import { t } from '../../texts.js';
import { ApiProblem, problemText, verifyWithYivi } from '../identity.js';
import { WalletStep } from './wallets.js';

/** @typedef {import('./status.js').Announce} Announce */
/** @typedef {import('../identity.js').Verification} Verification */

/**
 * @typedef {object} VerifyElements
 * @property {HTMLElement} section the whole step (ui/wallets.js finds its parts in it)
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
  /** @type {string[]} the apps this purpose allows: yivi, openid4vp */
  #wallets = ['yivi'];
  /** @type {'yivi' | 'openid4vp'} the app of the last attempt (a retry uses it again) */
  #chosen = 'yivi';
  /** @type {AbortController | null} stops the running Yivi attempt */
  #yivi = null;

  /**
   * @param {VerifyElements} elements
   * @param {VerifyOptions} options
   */
  constructor(elements, options) {
    this.elements = elements;
    this.options = options;
    this.wallet = new WalletStep(elements.section);
    elements.retry.addEventListener('click', () => {
      this.#attempt();
    });
    this.wallet.chooseYivi.addEventListener('click', () => this.#choose('yivi'));
    this.wallet.chooseWallet.addEventListener('click', () => this.#choose('openid4vp'));
    this.wallet.other.addEventListener('click', () => this.#backToChoice());
    this.wallet.yiviOther.addEventListener('click', () => this.#backToChoice());
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
    title.focus();
    this.#wallets = state.wallets ?? ['yivi'];
    if (this.#wallets.includes('openid4vp')) {
      this.wallet.showChoice(true);
      this.options.announce(t('Laat zien wie u bent. Kies de app die u heeft.'));
      return;
    }
    this.wallet.showChoice(false);
    this.options.announce(t('Laat zien wie u bent. Scan de QR-code met de Yivi-app.'));
    this.run();
  }

  /** @param {'yivi' | 'openid4vp'} wallet */
  #choose(wallet) {
    this.#chosen = wallet;
    this.wallet.showChoice(false);
    // the chosen button is gone with the choice: the focus stays in the step, at its title
    this.elements.title.focus();
    if (wallet === 'yivi') {
      this.options.announce(t('Laat zien wie u bent. Scan de QR-code met de Yivi-app.'));
    }
    this.#attempt();
  }

  #attempt() {
    if (this.#chosen === 'openid4vp') this.runWallet();
    else this.run();
  }

  /** "Andere app kiezen": stop the attempt, whichever app, and offer the choice again. */
  #backToChoice() {
    this.#stopYivi();
    this.wallet.stop();
    this.elements.retry.hidden = true;
    this.options.alert.clear();
    this.wallet.showChoice(true);
    this.wallet.chooseYivi.focus();
    this.options.announce(t('U kunt nu een andere app kiezen.'));
  }

  /** Stop a running Yivi attempt (it ends without an error) and take its QR code away. */
  #stopYivi() {
    this.#yivi?.abort();
    this.#yivi = null;
    this.#freshYiviForm();
    this.#showDemoSession(null);
  }

  /** yivi-frontend can start only once per element: every attempt gets a fresh one. */
  #freshYiviForm() {
    const form = document.createElement('div');
    form.id = 'yivi-web-form';
    form.className = 'yivi-form';
    document.getElementById('yivi-web-form')?.replaceWith(form);
  }

  /** One attempt with the EU/NL wallet. */
  async runWallet() {
    const { retry } = this.elements;
    const { room, token, announce, alert } = this.options;
    retry.hidden = true;
    alert.clear();
    document.getElementById('yivi-web-form')?.replaceChildren();
    this.#showDemoSession(null);
    try {
      await this.wallet.run({ room, token, announce, canChoose: this.#wallets.length > 1 });
    } catch (error) {
      if (this.wallet.step.hidden && !(error instanceof ApiProblem)) return; // stopped
      this.wallet.clear();
      this.#failed(error);
      return;
    }
    this.wallet.stop();
    this.#succeeded();
  }

  async run() {
    const { retry } = this.elements;
    const { room, token, alert } = this.options;
    this.#yivi?.abort();
    const running = new AbortController();
    this.#yivi = running;
    retry.hidden = true;
    alert.clear();
    this.#freshYiviForm();
    this.#showDemoSession(null);
    this.wallet.yiviOther.hidden = this.#wallets.length < 2;
    try {
      await verifyWithYivi({
        room,
        token,
        element: '#yivi-web-form',
        onSessionPointer: (pointer) => {
          if (!running.signal.aborted) this.#showDemoSession(pointer && pointer.u);
        },
        signal: running.signal,
      });
    } catch (error) {
      if (running.signal.aborted) return; // "Andere app kiezen" stopped it: nothing went wrong
      this.#showDemoSession(null);
      this.#failed(error);
      return;
    } finally {
      if (this.#yivi === running) this.#yivi = null;
    }
    this.#showDemoSession(null);
    this.#succeeded();
  }

  /** @param {unknown} error */
  #failed(error) {
    const { retry } = this.elements;
    const { announce, alert } = this.options;
    if (error instanceof ApiProblem) {
      alert.show(problemText(error, t('Het lukte niet om te laten zien wie u bent.')));
    } else {
      alert.show(t('Het lukte niet om te laten zien wie u bent. Probeer het opnieuw.'));
    }
    announce(t('Het controleren is niet gelukt.'));
    retry.hidden = false;
    retry.focus();
  }

  #succeeded() {
    this.#active = false;
    this.options.onChange();
    this.options.announce(t('Gelukt. De gemeente weet nu dat u het bent.'));
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
