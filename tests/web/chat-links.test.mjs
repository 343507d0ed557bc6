// @ts-check
// chat-links.js: web addresses in chat text become links, only http and https, and the
// text around them stays text (ui/chat.js builds DOM nodes from the parts, never HTML).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { chatParts, safeHref } from '../../web/static/call/chat-links.js';

/** @param {string} text */
function joined(text) {
  return chatParts(text).map((part) => part.text).join('');
}

describe('chatParts', () => {
  test('text without an address is one plain part', () => {
    assert.deepEqual(chatParts('Goedemiddag, ik heb een vraag.'), [{ text: 'Goedemiddag, ik heb een vraag.' }]);
  });

  test('an address becomes a link; the full stop after it stays text', () => {
    assert.deepEqual(chatParts('Kijk op https://www.gemeente.nl/afval. Daar staat het.'), [
      { text: 'Kijk op ' },
      { text: 'https://www.gemeente.nl/afval', href: 'https://www.gemeente.nl/afval' },
      { text: '. Daar staat het.' },
    ]);
  });

  test('several addresses, http too', () => {
    const parts = chatParts('http://a.example/x en https://b.example/?q=1&r=2');
    assert.deepEqual(parts.filter((part) => 'href' in part).map((part) => part.text), [
      'http://a.example/x', 'https://b.example/?q=1&r=2',
    ]);
  });

  test('a bracket closes the address only when the address opened it', () => {
    const wiki = chatParts('(zie https://nl.wikipedia.org/wiki/Gemeente_(Nederland))');
    assert.deepEqual(wiki.filter((part) => 'href' in part).map((part) => part.text), [
      'https://nl.wikipedia.org/wiki/Gemeente_(Nederland)',
    ]);
    const plain = chatParts('(zie https://example.org/a)');
    assert.deepEqual(plain.filter((part) => 'href' in part).map((part) => part.text), ['https://example.org/a']);
  });

  test('other schemes stay text', () => {
    for (const text of [
      'javascript:alert(1)',
      'klik javascript://%0aalert(1)',
      'data:text/html,<b>x</b>',
      'ftp://files.example/a',
      'file:///etc/passwd',
      'mailto:iemand@example.org',
    ]) {
      assert.ok(chatParts(text).every((part) => !('href' in part)), text);
      assert.equal(joined(text), text);
    }
  });

  test('markup stays text and the parts always add up to the message', () => {
    const text = '<img src=x onerror=alert(1)> https://example.org/"><script>x</script>';
    assert.equal(joined(text), text);
    const links = chatParts(text).filter((part) => 'href' in part);
    assert.deepEqual(links.map((part) => part.text), ['https://example.org/']);
  });
});

describe('safeHref', () => {
  test('only http(s) with a host, without a user name or password', () => {
    assert.equal(safeHref('https://example.org/a b'), 'https://example.org/a%20b');
    assert.equal(safeHref('https://user:secret@example.org/'), null);
    assert.equal(safeHref('https://'), null);
    assert.equal(safeHref('javascript:alert(1)'), null);
  });
});
