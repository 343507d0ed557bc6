// @ts-check
// signal.js with a fake socket and Node's mock timers: the protocol rules of
// docs/signaling.md ("Connection", "Resume after a dropped socket", "Close codes").

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';

import { CLOSE } from '../../web/static/call/close-codes.js';
import {
  BACKOFF_JITTER_MS,
  BACKOFF_MS,
  BACKOFF_TAIL_MS,
  DEAD_SOCKET_MS,
  HANDSHAKE_TIMEOUT_MS,
  MAX_RECONNECT_ATTEMPTS,
  NO_ANSWER,
  OUTBOX_LIMIT,
  PING_INTERVAL_MS,
  SignalSession,
  closeAction,
  reconnectDelay,
} from '../../web/static/call/signal.js';
import { FakeSocket } from './fakes.mjs';

/** @typedef {import('../../web/static/call/signal.js').SignalEvents} SignalEvents */

const EVENTS = /** @type {(keyof SignalEvents)[]} */ ([
  'joined', 'resumed', 'message', 'reconnecting', 'gave-up', 'seat-lost', 'verify-required', 'final',
]);

/**
 * A session with a fake socket factory; `events` records every event in order.
 * @param {{room?: string | null, random?: () => number}} [options]
 */
function harness({ room = 'room-1', random = () => 0.5 } = {}) {
  /** @type {FakeSocket[]} */
  const sockets = [];
  const session = new SignalSession({
    url: 'ws://balie.test/ws',
    token: 'the-token',
    room,
    createSocket: (url) => {
      const socket = new FakeSocket(url);
      sockets.push(socket);
      return socket;
    },
    random,
  });
  /** @type {{type: string, detail: any}[]} */
  const events = [];
  for (const type of EVENTS) session.on(type, (detail) => events.push({ type, detail }));
  return {
    session,
    sockets,
    events,
    /** @param {string} type */
    eventsOf: (type) => events.filter((event) => event.type === type).map((event) => event.detail),
    get socket() {
      const last = sockets.at(-1);
      assert.ok(last, 'no socket was opened');
      return last;
    },
  };
}

/**
 * Start, open and join: the state a call page is in during a call.
 * @param {ReturnType<typeof harness>} h
 * @param {object} [joined] fields of the `joined` frame
 */
function joinedSession(h, joined = {}) {
  h.session.start();
  h.socket.open();
  h.socket.receive({
    type: 'joined', session_id: 'seat-secret', participant_id: 'p1', role: 'resident',
    state: 'call', peers: [], seq: 0, last_client_seq: 0, ...joined,
  });
}

beforeEach(() => {
  mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 1_000_000 });
});

afterEach(() => {
  mock.timers.reset();
});

describe('joining', () => {
  test('the first frame is join with the token and the room, without a seq', () => {
    const h = harness();
    h.session.start();
    assert.equal(h.socket.url, 'ws://balie.test/ws');
    assert.deepEqual(h.socket.sent, [], 'nothing may be sent before the socket opens');
    h.socket.open();
    assert.deepEqual(h.socket.sent, [{ type: 'join', token: 'the-token', room: 'room-1' }]);
  });

  test('a link without a room in its path joins with the token alone', () => {
    const h = harness({ room: null });
    h.session.start();
    h.socket.open();
    assert.deepEqual(h.socket.sent, [{ type: 'join', token: 'the-token' }]);
  });

  test('joined connects the session and takes the server counters', () => {
    const h = harness();
    joinedSession(h, { seq: 5, last_client_seq: 7 });
    assert.equal(h.session.connected, true);
    assert.equal(h.session.lastSeq, 5);
    assert.equal(h.session.clientSeq, 7);
    assert.equal(h.eventsOf('joined').length, 1);
    assert.equal(h.session.send({ type: 'chat', text: 'hallo' }), 8);
  });
});

describe('numbered messages and the outbox', () => {
  test('own messages are numbered 1, 2, 3 and carry their seq', () => {
    const h = harness();
    joinedSession(h);
    const seqs = [
      h.session.send({ type: 'media', audio: true, video: false }),
      h.session.send({ type: 'chat', text: 'a' }),
      h.session.send({ type: 'chat', text: 'b' }),
    ];
    assert.deepEqual(seqs, [1, 2, 3]);
    assert.deepEqual(h.socket.sent.slice(1), [
      { type: 'media', audio: true, video: false, seq: 1 },
      { type: 'chat', text: 'a', seq: 2 },
      { type: 'chat', text: 'b', seq: 3 },
    ]);
  });

  test('a message sent while not connected waits in the outbox', () => {
    const h = harness();
    h.session.start();
    h.socket.open();
    h.session.send({ type: 'chat', text: 'early' });
    assert.deepEqual(h.socket.sentOfType('chat'), []);
    assert.equal(h.session.pendingMessages, 1);
  });

  test('the outbox keeps messages until acknowledged and resends the rest after resumed', () => {
    const h = harness();
    joinedSession(h);
    for (const text of ['a', 'b', 'c']) h.session.send({ type: 'chat', text });
    h.socket.receive({ type: 'chat', text: 'x', from: 'p2', seq: 1 });
    h.socket.drop(1006);
    h.session.send({ type: 'chat', text: 'd' }); // while away: kept, not sent
    mock.timers.tick(BACKOFF_MS[0]);
    assert.equal(h.sockets.length, 2, 'a dropped socket is replaced');
    const second = h.socket;
    second.open();
    assert.deepEqual(second.sent, [{ type: 'resume', session_id: 'seat-secret', last_seq: 1 }]);
    second.receive({ type: 'resumed', participant_id: 'p1', state: 'call', peers: [], last_client_seq: 2, replayed: 0 });
    assert.deepEqual(second.sentOfType('chat').map((frame) => [frame.seq, frame.text]), [[3, 'c'], [4, 'd']]);
    assert.deepEqual(h.session.outbox.map((frame) => frame.seq), [3, 4], 'unacknowledged messages stay until a later resume');
    assert.equal(h.eventsOf('resumed').length, 1);
    assert.equal(h.session.connected, true);
  });

  test('a refused message is taken out of the outbox and never sent again', () => {
    const h = harness();
    joinedSession(h);
    for (const text of ['a', 'b', 'c']) h.session.send({ type: 'chat', text });
    h.socket.receive({ type: 'error', code: 'bad-message', message: 'too long', ref: 2 });
    assert.deepEqual(h.session.outbox.map((frame) => frame.seq), [1, 3]);
    assert.equal(h.eventsOf('message')[0].code, 'bad-message', 'the page still hears about the error');
  });

  test(`the outbox keeps at most ${OUTBOX_LIMIT} messages, dropping the oldest`, () => {
    const h = harness();
    h.session.start();
    for (let i = 0; i < OUTBOX_LIMIT + 3; i += 1) h.session.send({ type: 'media', audio: true, video: true });
    assert.equal(h.session.pendingMessages, OUTBOX_LIMIT);
    assert.equal(h.session.outbox[0].seq, 4);
  });
});

describe('server messages', () => {
  test('a replayed message with a seq already processed is dropped', () => {
    const h = harness();
    joinedSession(h);
    h.socket.receive({ type: 'chat', text: 'one', seq: 1 });
    h.socket.receive({ type: 'chat', text: 'two', seq: 2 });
    h.socket.receive({ type: 'chat', text: 'two', seq: 2 });
    h.socket.receive({ type: 'chat', text: 'one', seq: 1 });
    assert.deepEqual(h.eventsOf('message').map((message) => message.text), ['one', 'two']);
    assert.equal(h.session.lastSeq, 2);
  });

  test('a resync moves lastSeq up to the server seq, so older replays are dropped', () => {
    const h = harness();
    joinedSession(h);
    h.socket.receive({ type: 'chat', text: 'one', seq: 3 });
    h.socket.drop(1006);
    mock.timers.tick(0);
    h.socket.open();
    h.socket.receive({ type: 'resumed', state: 'call', peers: [], last_client_seq: 0, resync: true, seq: 40 });
    assert.equal(h.session.lastSeq, 40);
    assert.equal(h.eventsOf('resumed')[0].resync, true, 'the page must rebuild its picture of the room');
    h.socket.receive({ type: 'chat', text: 'old', seq: 39 });
    h.socket.receive({ type: 'chat', text: 'new', seq: 41 });
    assert.deepEqual(h.eventsOf('message').map((message) => message.text), ['one', 'new']);
  });

  test('frames that are not JSON objects with a type are ignored', () => {
    const h = harness();
    joinedSession(h);
    mock.method(console, 'warn', () => {});
    for (const frame of ['not json', '42', 'null', '{"seq": 3}', '[]']) h.socket.receive(frame);
    assert.deepEqual(h.eventsOf('message'), []);
    assert.equal(h.session.lastSeq, 0);
  });
});

describe('backoff', () => {
  test('the schedule grows: 0, 0.3, 1.2, 2.7, 4.8 s, then the tail', () => {
    const delays = Array.from({ length: 12 }, (_, attempt) => reconnectDelay(attempt, { random: () => 0 }));
    assert.deepEqual(delays.slice(0, 5), [0, 300, 1200, 2700, 4800]);
    for (let i = 1; i < delays.length; i += 1) {
      assert.ok(delays[i] >= delays[i - 1], `attempt ${i} waits ${delays[i]} ms, less than attempt ${i - 1}`);
    }
    assert.ok(delays[5] > delays[4]);
  });

  test('the tail is jittered', () => {
    const low = reconnectDelay(6, { random: () => 0 });
    const high = reconnectDelay(6, { random: () => 0.99 });
    assert.equal(low, BACKOFF_TAIL_MS);
    assert.equal(high, BACKOFF_TAIL_MS + 0.99 * BACKOFF_JITTER_MS);
    const seen = new Set(Array.from({ length: 50 }, () => reconnectDelay(8)));
    assert.ok(seen.size > 1, 'Math.random jitter gives different waits');
  });

  test('the wait is capped however many attempts failed', () => {
    for (const attempt of [5, 10, 50, 1000]) {
      const delay = reconnectDelay(attempt, { random: () => 0.999999 });
      assert.ok(delay < BACKOFF_TAIL_MS + BACKOFF_JITTER_MS, `attempt ${attempt} waits ${delay} ms`);
      assert.ok(delay >= BACKOFF_TAIL_MS);
    }
  });

  test('a service that is temporarily unavailable is retried slowly, and the page is told why', () => {
    const h = harness();
    joinedSession(h);
    h.socket.drop(CLOSE.UNAVAILABLE);
    const [first] = h.eventsOf('reconnecting');
    assert.equal(first.delay, BACKOFF_MS[3]);
    assert.equal(first.code, CLOSE.UNAVAILABLE);
    assert.equal(first.resuming, true);
  });

  test('a rate-limited client starts further down the schedule', () => {
    assert.equal(reconnectDelay(0, { slow: true }), BACKOFF_MS[3]);
    assert.equal(reconnectDelay(4, { slow: true }), BACKOFF_MS[4]);
    const h = harness();
    joinedSession(h);
    h.socket.drop(CLOSE.RATE_LIMITED);
    assert.equal(h.eventsOf('reconnecting')[0].delay, BACKOFF_MS[3]);
  });

  test('failed reconnects follow the schedule, then give up until retryNow', () => {
    const h = harness({ random: () => 0 });
    joinedSession(h);
    h.socket.drop(1006);
    for (let i = 0; i < MAX_RECONNECT_ATTEMPTS; i += 1) {
      const { delay } = h.eventsOf('reconnecting').at(-1);
      mock.timers.tick(delay);
      h.socket.drop(1006); // the new socket fails before it opens
    }
    const waits = h.eventsOf('reconnecting').map((detail) => detail.delay);
    assert.deepEqual(waits.slice(0, 6), [0, 300, 1200, 2700, 4800, 7000]);
    assert.equal(waits.length, MAX_RECONNECT_ATTEMPTS);
    assert.equal(h.eventsOf('gave-up').length, 1);
    assert.equal(h.eventsOf('reconnecting')[0].resuming, true, 'the seat is still ours to resume');
    const before = h.sockets.length;
    mock.timers.tick(60_000);
    assert.equal(h.sockets.length, before, 'no more attempts after giving up');
    h.session.retryNow();
    assert.equal(h.sockets.length, before + 1);
    h.socket.open();
    assert.equal(h.socket.sent[0].type, 'resume');
  });

  test('coming back online skips the rest of the wait', () => {
    const h = harness();
    joinedSession(h);
    h.socket.drop(1006);
    mock.timers.tick(0);
    h.socket.drop(1006); // second wait: 300 ms
    const before = h.sockets.length;
    h.session.skipBackoff();
    assert.equal(h.sockets.length, before + 1);
  });
});

describe('close codes', () => {
  test('which closes are final, retried or special', () => {
    assert.equal(closeAction(CLOSE.GOING_AWAY), 'retry');
    assert.equal(closeAction(CLOSE.SLOW_CONSUMER), 'retry');
    assert.equal(closeAction(CLOSE.JOIN_TIMEOUT), 'retry');
    assert.equal(closeAction(1006), 'retry'); // abnormal closure: the network dropped
    assert.equal(closeAction(NO_ANSWER), 'retry');
    assert.equal(closeAction(CLOSE.RATE_LIMITED), 'retry-slow');
    assert.equal(closeAction(CLOSE.UNAVAILABLE), 'retry-slow'); // the service asked for a moment
    assert.equal(closeAction(CLOSE.NO_SEAT), 'rejoin');
    assert.equal(closeAction(CLOSE.VERIFY), 'verify');
    for (const code of [CLOSE.NORMAL, CLOSE.INVALID_TEXT, CLOSE.MESSAGE_TOO_BIG, CLOSE.BAD_FIRST_FRAME,
      CLOSE.TOKEN_REFUSED, CLOSE.DENIED, CLOSE.REPLACED, CLOSE.ENDED]) {
      assert.equal(closeAction(code), 'final', `close code ${code}`);
    }
  });

  test('1001 (server going away) reconnects and resumes the seat', () => {
    const h = harness();
    joinedSession(h);
    h.socket.drop(CLOSE.GOING_AWAY);
    assert.deepEqual(h.eventsOf('final'), []);
    mock.timers.tick(BACKOFF_MS[0]);
    h.socket.open();
    assert.deepEqual(h.socket.sent, [{ type: 'resume', session_id: 'seat-secret', last_seq: 0 }]);
  });

  for (const code of [CLOSE.REPLACED, CLOSE.ENDED, CLOSE.DENIED]) {
    test(`${code} ends the session: no reconnect`, () => {
      const h = harness();
      joinedSession(h);
      h.socket.drop(code);
      assert.deepEqual(h.eventsOf('final'), [{ code }]);
      mock.timers.tick(120_000);
      assert.equal(h.sockets.length, 1);
      assert.equal(h.session.active, false);
      assert.equal(h.session.connected, false);
    });
  }

  test('4404 (seat gone) joins again at once with the token, counters reset', () => {
    const h = harness();
    joinedSession(h);
    h.session.send({ type: 'chat', text: 'lost' });
    h.socket.receive({ type: 'chat', text: 'x', seq: 4 });
    h.socket.drop(1006);
    mock.timers.tick(0);
    h.socket.open();
    h.socket.drop(CLOSE.NO_SEAT);
    assert.equal(h.eventsOf('seat-lost').length, 1);
    assert.equal(h.sockets.length, 3, 'no backoff wait');
    assert.equal(h.session.lastSeq, 0);
    assert.equal(h.session.pendingMessages, 0);
    h.socket.open();
    assert.deepEqual(h.socket.sent, [{ type: 'join', token: 'the-token', room: 'room-1' }]);
  });

  test('4412 stops for the identity step; start() joins again afterwards', () => {
    const h = harness();
    h.session.start();
    h.socket.open();
    h.socket.drop(CLOSE.VERIFY);
    assert.equal(h.eventsOf('verify-required').length, 1);
    mock.timers.tick(60_000);
    assert.equal(h.sockets.length, 1);
    h.session.start();
    h.socket.open();
    assert.equal(h.socket.sent[0].type, 'join');
  });

  test('stop() closes normally and never reconnects', () => {
    const h = harness();
    joinedSession(h);
    const socket = h.socket;
    h.session.stop();
    assert.deepEqual(socket.closeCalls, [{ code: CLOSE.NORMAL, reason: undefined }]);
    socket.drop(CLOSE.NORMAL); // the close event arrives later: nobody listens any more
    mock.timers.tick(120_000);
    assert.equal(h.sockets.length, 1);
    assert.deepEqual(h.eventsOf('final'), []);
  });
});

describe('heartbeats', () => {
  test('a ping goes out every 10 s while the server answers', () => {
    const h = harness();
    joinedSession(h);
    for (let i = 0; i < 6; i += 1) {
      mock.timers.tick(PING_INTERVAL_MS);
      h.socket.receive({ type: 'pong', ts: Date.now() });
    }
    assert.equal(h.socket.sentOfType('ping').length, 6);
    assert.equal(h.sockets.length, 1, 'a live socket is kept');
    assert.deepEqual(h.socket.closeCalls, []);
  });

  test('a ping tells the server the last seq received, so it can let go of those frames', () => {
    const h = harness();
    joinedSession(h);
    h.socket.receive({ type: 'chat', from: 's_1', text: 'hallo', seq: 1 });
    mock.timers.tick(PING_INTERVAL_MS);
    const [ping] = h.socket.sentOfType('ping');
    assert.equal(ping.last_seq, 1);
    assert.equal(ping.last_seq, h.session.lastSeq);
    assert.deepEqual(h.socket.closeCalls, []);
  });

  test('a silent socket is declared dead and replaced', () => {
    const h = harness();
    joinedSession(h);
    const silent = h.socket;
    mock.timers.tick(DEAD_SOCKET_MS);
    assert.deepEqual(silent.closeCalls, [], 'not dead yet');
    mock.timers.tick(PING_INTERVAL_MS);
    assert.deepEqual(silent.closeCalls, [{ code: NO_ANSWER, reason: 'no answer' }]);
    assert.equal(h.session.connected, false);
    assert.equal(h.eventsOf('reconnecting').length, 1);
    mock.timers.tick(BACKOFF_MS[0]);
    assert.equal(h.sockets.length, 2);
    silent.receive({ type: 'chat', text: 'ghost', seq: 1 });
    assert.deepEqual(h.eventsOf('message'), [], 'the abandoned socket is no longer heard');
  });

  test('a socket that opens but never answers join is abandoned', () => {
    const h = harness();
    h.session.start();
    const mute = h.socket;
    mute.open();
    mock.timers.tick(HANDSHAKE_TIMEOUT_MS - 1);
    assert.deepEqual(mute.closeCalls, []);
    mock.timers.tick(1);
    assert.deepEqual(mute.closeCalls, [{ code: NO_ANSWER, reason: 'no answer' }]);
    assert.equal(h.sockets.length, 2, 'a new socket replaces it');
    assert.equal(h.eventsOf('reconnecting')[0].resuming, false);
  });
});
