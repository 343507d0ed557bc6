// @ts-check
// schedule.js: whether a call is open yet, when to look again, the server's clock, and how
// long someone waited (the call page's opening notice and the specialist's lobby panel).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  EARLY_TOLERANCE_MS,
  clockOffset,
  clockTime,
  dayInWords,
  localDay,
  minutesWaited,
  nextLook,
  openingAt,
  parseInstant,
  sameDay,
} from '../../web/static/call/schedule.js';

const OPENS = new Date('2030-06-04T12:15:00+02:00');
const CLOSES = new Date('2030-06-04T15:45:00+02:00');

describe('openingAt', () => {
  test('before the opening moment the call is early', () => {
    assert.equal(openingAt({ now: OPENS.getTime() - 2 * 86_400_000, opensAt: OPENS, closesAt: CLOSES }), 'early');
    assert.equal(
      openingAt({ now: OPENS.getTime() - EARLY_TOLERANCE_MS - 1, opensAt: OPENS, closesAt: CLOSES }),
      'early',
    );
  });

  test('it opens just before the moment, within what the server accepts', () => {
    assert.equal(openingAt({ now: OPENS.getTime() - EARLY_TOLERANCE_MS, opensAt: OPENS, closesAt: CLOSES }), 'open');
    assert.equal(openingAt({ now: OPENS.getTime(), opensAt: OPENS, closesAt: CLOSES }), 'open');
    // the server lets a token in from 30 seconds before its time (signaling/tokens.py)
    assert.ok(EARLY_TOLERANCE_MS < 30_000);
  });

  test('a room made just now is open, even with a clock estimate a second behind', () => {
    assert.equal(openingAt({ now: OPENS.getTime() - 1_000, opensAt: OPENS, closesAt: null }), 'open');
  });

  test('from the closing moment it is over', () => {
    assert.equal(openingAt({ now: CLOSES.getTime() - 1, opensAt: OPENS, closesAt: CLOSES }), 'open');
    assert.equal(openingAt({ now: CLOSES.getTime(), opensAt: OPENS, closesAt: CLOSES }), 'over');
  });

  test('without times a room is open', () => {
    assert.equal(openingAt({ now: Date.now(), opensAt: null, closesAt: null }), 'open');
  });
});

describe('nextLook', () => {
  test('waits until the moment itself when it is near', () => {
    assert.equal(nextLook(OPENS.getTime() - EARLY_TOLERANCE_MS - 5_000, OPENS), 5_000);
  });

  test('looks again at least every minute (timers stop while a laptop sleeps)', () => {
    assert.equal(nextLook(OPENS.getTime() - 3 * 3_600_000, OPENS), 60_000);
  });

  test('never waits a negative time', () => {
    assert.equal(nextLook(OPENS.getTime(), OPENS), 0);
  });
});

describe('the server clock', () => {
  test('the offset comes from the Date header', () => {
    const received = Date.parse('Tue, 04 Jun 2030 10:00:00 GMT') - 90_000;
    assert.equal(clockOffset('Tue, 04 Jun 2030 10:00:00 GMT', received), 90_000);
  });

  test('without a usable header the browser clock is used', () => {
    assert.equal(clockOffset(null, Date.now()), 0);
    assert.equal(clockOffset('gisteren', Date.now()), 0);
  });

  test('ISO times with an offset are read as instants', () => {
    assert.equal(parseInstant('2030-06-04T12:15:00+02:00')?.toISOString(), '2030-06-04T10:15:00.000Z');
    assert.equal(parseInstant('geen tijd'), null);
    assert.equal(parseInstant(42), null);
  });
});

describe('days and times in Amsterdam', () => {
  test('a day is the Amsterdam day, not the UTC one', () => {
    // 23:30 UTC on 3 June is 01:30 on 4 June in Amsterdam (summer time)
    assert.equal(localDay(new Date('2030-06-03T23:30:00Z')), '2030-06-04');
    assert.ok(sameDay(new Date('2030-06-03T23:30:00Z'), new Date('2030-06-04T20:00:00Z')));
    assert.ok(!sameDay(new Date('2030-06-03T21:30:00Z'), new Date('2030-06-03T22:30:00Z')));
  });

  test('times and dates in words', () => {
    assert.equal(clockTime(OPENS, 'nl-NL'), '12:15');
    assert.equal(clockTime(new Date('2030-01-08T08:05:00Z'), 'en-GB'), '09:05');
    assert.equal(dayInWords(OPENS, 'nl-NL'), 'dinsdag 4 juni');
    assert.equal(dayInWords(OPENS, 'en-GB'), 'Tuesday 4 June');
  });
});

describe('minutesWaited', () => {
  const now = Date.parse('2030-06-04T10:00:00Z');
  const since = now / 1000;

  test('counts whole minutes from `since` (unix seconds)', () => {
    assert.equal(minutesWaited(since, now), 0);
    assert.equal(minutesWaited(since - 59, now), 0);
    assert.equal(minutesWaited(since - 60, now), 1);
    assert.equal(minutesWaited(since - 185, now), 3);
  });

  test('a clock slightly behind never gives a negative wait', () => {
    assert.equal(minutesWaited(since + 30, now), 0);
  });

  test('without `since` there is no wait to show', () => {
    assert.equal(minutesWaited(undefined, now), null);
    assert.equal(minutesWaited('12', now), null);
  });
});
