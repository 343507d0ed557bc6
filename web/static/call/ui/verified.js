// @ts-check
// The specialist's panel of verified attributes (docs/identity.md). Masked values (the
// BSN) stay hidden until the specialist reveals them, one at a time (each reveal is
// audited on the server); revealed values live in this page's memory only.

import { t } from '../../texts.js';
import { problemText } from '../identity.js';
import { timeOfDay } from './words.js';

/** @typedef {import('./status.js').Announce} Announce */
/** @typedef {import('../identity.js').Verification} Verification */

/**
 * @typedef {object} VerifiedElements
 * @property {HTMLElement} empty the line shown without attributes
 * @property {HTMLElement} list the attributes (a dl)
 * @property {HTMLElement} meta verifier and time
 * @property {HTMLButtonElement} renew "Opnieuw laten controleren"
 */

/**
 * @typedef {object} VerifiedOptions
 * @property {() => Promise<Verification>} load fetches the verification state
 * @property {(attribute: string) => Promise<{value: string}>} reveal reveals one masked attribute
 * @property {() => Promise<unknown>} renew asks the resident to verify again
 * @property {Announce} announce
 * @property {(text: string) => void} showAlert
 */

export class VerifiedPanel {
  /** @type {Promise<void> | null} */
  #refreshing = null;
  // Values the specialist chose to reveal, for the verification they belong to (kept in this
  // page's memory only). The panel is rebuilt at every lobby change: a rebuild must neither
  // mask a revealed value again nor drop an answer that arrives after it.
  /** @type {{verifiedAt: string | null, values: Map<string, string>}} */
  #revealed = { verifiedAt: null, values: new Map() };
  /** @type {Verification | null} */
  #state = null;

  /**
   * @param {VerifiedElements} elements
   * @param {VerifiedOptions} options
   */
  constructor(elements, options) {
    this.elements = elements;
    this.options = options;
    const { renew } = elements;
    renew.addEventListener('click', async () => {
      renew.disabled = true;
      try {
        await options.renew();
        options.announce(t('De inwoner wordt gevraagd om opnieuw te laten zien wie hij of zij is.'));
        await this.refresh();
      } catch (error) {
        options.showAlert(problemText(error, t('Dat lukte niet. Probeer het opnieuw.')));
      } finally {
        renew.disabled = false;
      }
    });
  }

  /** Fetch and show the state again; bursts of lobby and peer events share one request. */
  refresh() {
    if (!this.#refreshing) {
      this.#refreshing = this.options.load()
        .then((state) => this.render(state), (error) => console.warn('verified panel', error.message))
        .finally(() => {
          this.#refreshing = null;
        });
    }
    return this.#refreshing;
  }

  /** @param {Verification} state */
  render(state) {
    const { empty, list, meta, renew } = this.elements;
    const revealed = this.#revealed;
    this.#state = state;
    if ((state.verified_at ?? null) !== revealed.verifiedAt || !state.verified) {
      revealed.verifiedAt = state.verified_at ?? null;
      revealed.values.clear();
    }
    const attributes = state.verified ? state.attributes ?? [] : [];
    empty.hidden = attributes.length > 0;
    empty.textContent = state.required
      ? t('De inwoner heeft nog niet laten zien wie hij of zij is.')
      : t('Voor dit gesprek hoeft de inwoner niet te laten zien wie hij of zij is.');
    renew.hidden = !(state.required && state.verified);
    const verifier = state.verifier ?? t('een wallet');
    const time = state.verified_at ? timeOfDay(new Date(state.verified_at)) : '';
    meta.textContent = state.verified && state.verified_at
      ? t('Gecontroleerd met {verifier} om {time}.', { verifier, time })
        // demo credentials anyone can make: never let them pass for real ones
        + (state.demo ? ' ' + t('Let op: dit zijn voorbeeldgegevens uit een demo-wallet, geen echte gegevens.') : '')
      : '';
    const rows = [];
    for (const attribute of attributes) {
      const dt = document.createElement('dt');
      dt.textContent = attribute.label;
      const dd = document.createElement('dd');
      dd.dataset.attribute = attribute.name;
      const value = attribute.masked ? revealed.values.get(attribute.name) : attribute.value;
      if (value === undefined) {
        const hidden = document.createElement('span');
        hidden.textContent = t('Verborgen') + ' ';
        const button = document.createElement('button');
        button.type = 'button';
        button.className = 'btn btn-small';
        // a short visible word keeps the panel narrow; the name says what it shows, and
        // contains the visible word (WCAG 2.5.3, label in name)
        button.textContent = t('Tonen');
        button.setAttribute('aria-label', t('{label} tonen', { label: attribute.label }));
        button.dataset.attribute = attribute.name;
        button.addEventListener('click', async () => {
          button.disabled = true;
          try {
            const shown = await this.options.reveal(attribute.name);
            revealed.values.set(attribute.name, shown.value);
            if (this.#state) this.render(this.#state);
            this.options.announce(t('{label} staat nu in beeld.', { label: attribute.label }));
            const shownRow = list.querySelector(`dd[data-attribute="${CSS.escape(attribute.name)}"]`);
            if (shownRow instanceof HTMLElement) {
              shownRow.tabIndex = -1;
              shownRow.focus();
            }
          } catch (error) {
            button.disabled = false;
            this.options.showAlert(problemText(error, t('Tonen lukte niet. Probeer het opnieuw.')));
          }
        });
        dd.append(hidden, button);
      } else {
        dd.textContent = value;
      }
      rows.push(dt, dd);
    }
    // a rebuild keeps the keyboard focus on the same attribute's button
    const active = document.activeElement;
    const focused = active instanceof HTMLElement && list.contains(active) ? active.dataset.attribute : undefined;
    list.replaceChildren(...rows);
    if (focused !== undefined) {
      const again = list.querySelector(`button[data-attribute="${CSS.escape(focused)}"]`);
      if (again instanceof HTMLElement) again.focus();
    }
  }
}
