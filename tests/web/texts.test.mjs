// @ts-check
// Texts the scripts hand to others: yivi-frontend's own texts in the "u" form the rest of
// the page uses (its Dutch says "je"), escaped because it puts them in the page as HTML;
// and how the specialist's lobby says how long someone has waited.

import './page-globals.mjs';

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

const { yiviTexts } = await import('../../web/static/call/identity.js');
const { waitedText } = await import('../../web/static/call/ui/lobby.js');
const { bookingPathFromToken, readTokenClaims, roomFromToken, tokenExpired } = await import(
  '../../web/static/call/link.js'
);

// every text yivi-frontend 0.1.3 shows (its translations for "nl")
const YIVI_KEYS = [
  'header', 'helper', 'loading', 'button', 'qrCode', 'app', 'retry', 'back', 'cancelled', 'timeout',
  'error', 'browser', 'success', 'cancel', 'pairing', 'pairingFailed',
];

describe('yiviTexts', () => {
  const texts = yiviTexts();
  const shown = Object.values(texts).map((text) => (typeof text === 'function' ? text('1234') : text));

  test('gives every text yivi-frontend shows', () => {
    assert.deepEqual(Object.keys(texts).sort(), [...YIVI_KEYS].sort());
    assert.equal(typeof texts.pairingFailed, 'function');
  });

  test('addresses the reader as "u", never "je" or "jouw"', () => {
    for (const text of shown) {
      assert.doesNotMatch(text, /\b(je|jij|jou|jouw)\b/i, text);
    }
    assert.match(String(texts.pairing), /\bu\b/);
  });

  test('keeps the logo and escapes the rest', () => {
    assert.equal(texts.header, 'Ga verder met <i class="yivi-web-logo">Yivi</i>');
    const failed = typeof texts.pairingFailed === 'function' ? texts.pairingFailed('<b>1</b>') : '';
    assert.ok(failed.includes('&#60;b&#62;1&#60;/b&#62;'), failed);
  });
});

describe('waitedText', () => {
  test('"wacht 3 minuten", in whole minutes', () => {
    assert.equal(waitedText(null), 'Wacht.');
    assert.equal(waitedText(0), 'Wacht minder dan een minuut.');
    assert.equal(waitedText(1), 'Wacht 1 minuut.');
    assert.equal(waitedText(3), 'Wacht 3 minuten.');
  });
});

describe('what the page reads from its token (without trusting it)', () => {
  /** @param {Record<string, unknown>} claims */
  const token = (claims) => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`;

  test('the room, the booking page of the municipality, the expiry', () => {
    const now = Date.parse('2030-06-04T10:00:00Z');
    const link = token({ room: 'r_abc', tenant: 'demo', exp: now / 1000 - 1 });
    assert.equal(roomFromToken(link), 'r_abc');
    assert.equal(bookingPathFromToken(link), '/afspraak/demo');
    assert.equal(tokenExpired(link, now), true);
    assert.equal(tokenExpired(token({ exp: now / 1000 + 60 }), now), false);
  });

  test('nothing from a broken token, and no path from a strange tenant', () => {
    assert.deepEqual(readTokenClaims('geen token'), {});
    assert.equal(roomFromToken(null), null);
    assert.equal(bookingPathFromToken(token({ tenant: '../staff' })), null);
    assert.equal(tokenExpired('x.y.z', Date.now()), false);
  });
});
