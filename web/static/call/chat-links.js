// @ts-check
// Web addresses in chat text, found without touching the page (Node tests:
// tests/web/chat-links.test.mjs). ui/chat.js builds the links from these parts with DOM
// nodes; the text itself never becomes HTML.

// An address starts with http:// or https:// and runs until white space or a character
// that cannot be part of one written in a sentence.
const ADDRESS = /https?:\/\/[^\s<>"'`{}|\\^]+/gi;
// Punctuation at the end belongs to the sentence, not the address ("zie https://x.nl.").
const SENTENCE_MARKS = '.,;:!?\'"]';

/**
 * @typedef {{text: string} | {text: string, href: string}} ChatPart
 *   plain text, or a link (`href` is an http or https address)
 */

/**
 * `address` without the sentence's punctuation after it. A closing bracket stays when it
 * closes one opened in the address (".../Gemeente_(Nederland)").
 * @param {string} address
 */
function trimAddress(address) {
  let end = address.length;
  while (end > 0) {
    const last = address[end - 1];
    if (last === ')') {
      const part = address.slice(0, end);
      if (part.split(')').length <= part.split('(').length) break;
    } else if (!SENTENCE_MARKS.includes(last)) {
      break;
    }
    end -= 1;
  }
  return address.slice(0, end);
}

/**
 * The address in `candidate` if it is a usable http(s) link, else null.
 * @param {string} candidate
 * @returns {string | null}
 */
export function safeHref(candidate) {
  let url;
  try {
    url = new URL(candidate);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  if (!url.hostname || url.username || url.password) return null;
  return url.href;
}

/**
 * Split `text` into plain parts and links, in order; joined, the parts' texts are `text`.
 * @param {string} text
 * @returns {ChatPart[]}
 */
export function chatParts(text) {
  /** @type {ChatPart[]} */
  const parts = [];
  let plain = '';
  let at = 0;
  for (const match of text.matchAll(ADDRESS)) {
    const start = match.index ?? 0;
    const address = trimAddress(match[0]);
    const href = safeHref(address);
    plain += text.slice(at, start);
    if (href) {
      if (plain) parts.push({ text: plain });
      plain = '';
      parts.push({ text: address, href });
    } else {
      plain += address;
    }
    at = start + address.length;
  }
  plain += text.slice(at);
  if (plain) parts.push({ text: plain });
  return parts;
}
