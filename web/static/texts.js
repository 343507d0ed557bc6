// @ts-check
// Texts in the page's language. The scripts are written in Dutch and call t() with the
// Dutch text; a page in another language embeds the translations of exactly those texts
// (server/core/language.py, from web/locale/*/*.po) in <script id="balie-texts">.
// Placeholders are written {name} and filled from `values` after translating.

const node = document.getElementById('balie-texts');
/** @type {Record<string, string>} */
const TEXTS = node ? JSON.parse(node.textContent || '{}') : {};

/**
 * `text` (Dutch, as written in the scripts) in the page's language, placeholders filled in.
 * @param {string} text
 * @param {Record<string, string | number>} [values]
 * @returns {string}
 */
export function t(text, values = {}) {
  const translated = Object.hasOwn(TEXTS, text) ? TEXTS[text] : text;
  return translated.replace(/\{(\w+)\}/g, (whole, name) => (
    Object.hasOwn(values, name) ? String(values[name]) : whole));
}

// The page's language ("nl" or "en"), for dates and numbers formatted in the browser.
export const LANGUAGE = document.documentElement.lang || 'nl';
