// @ts-check
// The signalling session over /ws (docs/signaling.md): join or resume, numbered own
// messages kept in an outbox until the server acknowledges them, heartbeats that notice a
// dead socket, reconnecting with backoff, and which close codes end the session for good.
//
// It knows nothing of the page: it is an EventTarget that the call page listens to (see
// SignalEvents below). The socket factory is injectable and the timers are the global ones
// looked up at call time, so Node's test runner can drive it with a fake socket and
// mock.timers (tests/web/signal.test.mjs).

import { CLOSE } from './close-codes.js';

// Reconnect schedule from docs/signaling.md (LiveKit's default policy).
export const BACKOFF_MS = Object.freeze([0, 300, 1200, 2700, 4800]);
export const BACKOFF_TAIL_MS = 7000;
export const BACKOFF_JITTER_MS = 1000;
export const MAX_RECONNECT_ATTEMPTS = 10;
// A rate-limited client starts this far down the schedule so it does not hit the limit again.
const SLOW_START_ATTEMPT = 3;
export const PING_INTERVAL_MS = 10000;
// A socket that opens but never answers join/resume (a broken proxy) must not
// leave the page waiting forever.
export const HANDSHAKE_TIMEOUT_MS = 15000;
// The server answers every ping; 2.5 missed answers means the socket is dead even
// if the browser has not noticed yet (a half-open TCP connection can take minutes).
export const DEAD_SOCKET_MS = 25000;
// Unacknowledged own messages kept for resending after a resume. The server keeps
// 256 messages per participant; keeping more than that on our side costs nothing.
export const OUTBOX_LIMIT = 512;
// Our own code for a socket we stopped listening to. It is in the range RFC 6455 leaves to
// applications, never sent by the server, so it is not one of the shared close codes.
export const NO_ANSWER = 4000;

// WebSocket.readyState values (WebSocket is not a global in Node 20).
const CONNECTING = 0;
const OPEN = 1;

/**
 * Close codes after which reconnecting cannot help (docs/signaling.md, "Close codes").
 * @type {ReadonlySet<number>}
 */
export const FINAL_CLOSE_CODES = Object.freeze(new Set([
  CLOSE.NORMAL,
  CLOSE.INVALID_TEXT,
  CLOSE.MESSAGE_TOO_BIG,
  CLOSE.BAD_FIRST_FRAME,
  CLOSE.TOKEN_REFUSED,
  CLOSE.DENIED,
  CLOSE.REPLACED,
  CLOSE.ENDED,
]));

/**
 * What the client does after a socket closed with `code`:
 * - `final`: stop for good (the page says why);
 * - `verify`: the identity step first, then join again;
 * - `rejoin`: the seat is gone, join again with the token;
 * - `retry-slow`: reconnect and resume, further down the backoff schedule (rate limited,
 *   or the service temporarily unavailable);
 * - `retry`: reconnect and resume (GOING_AWAY, SLOW_CONSUMER, JOIN_TIMEOUT, a dropped
 *   network: anything that is not known to be final).
 * @typedef {'final' | 'verify' | 'rejoin' | 'retry' | 'retry-slow'} CloseAction
 * @param {number} code
 * @returns {CloseAction}
 */
export function closeAction(code) {
  if (code === CLOSE.VERIFY) return 'verify';
  if (code === CLOSE.NO_SEAT) return 'rejoin';
  if (FINAL_CLOSE_CODES.has(code)) return 'final';
  // too many messages, or the service asked for a moment (the bus between nodes is down)
  if (code === CLOSE.RATE_LIMITED || code === CLOSE.UNAVAILABLE) return 'retry-slow';
  return 'retry';
}

/**
 * The wait before reconnect attempt `attempt` (0 for the first): the schedule from the
 * docs, then the tail with up to BACKOFF_JITTER_MS of jitter so that clients dropped
 * together do not all come back in the same instant.
 * @param {number} attempt
 * @param {{slow?: boolean, random?: () => number}} [options]
 * @returns {number} milliseconds
 */
export function reconnectDelay(attempt, { slow = false, random = Math.random } = {}) {
  const step = slow ? Math.max(attempt, SLOW_START_ATTEMPT) : attempt;
  return step < BACKOFF_MS.length
    ? BACKOFF_MS[step]
    : BACKOFF_TAIL_MS + random() * BACKOFF_JITTER_MS;
}

/**
 * The parts of a WebSocket this module uses; a browser WebSocket is one.
 * @typedef {object} SocketLike
 * @property {number} readyState
 * @property {(data: string) => void} send
 * @property {(code?: number, reason?: string) => void} close
 * @property {(type: 'open' | 'message' | 'close', listener: (event: any) => void) => void} addEventListener
 */

/**
 * A frame from the server: JSON we did not write, so every field is checked where used.
 * @typedef {{type: string, [field: string]: any}} ServerMessage
 */

/**
 * One of our own messages; `send` gives it `seq`.
 * @typedef {{type: string, [field: string]: unknown}} ClientMessage
 * @typedef {ClientMessage & {seq: number}} NumberedMessage
 */

/**
 * The events, by name, with their `detail`.
 * @typedef {object} SignalEvents
 * @property {ServerMessage} joined a fresh seat (`joined`); counters and outbox start over
 * @property {ServerMessage} resumed the seat is back (`resumed`); the outbox was sent again
 * @property {ServerMessage} message any other server message, in order, without duplicates
 * @property {{attempt: number, delay: number, resuming: boolean, code: number | null}} reconnecting a reconnect
 *   is scheduled; `attempt` counts from 0 since the last success
 * @property {{attempts: number}} gave-up MAX_RECONNECT_ATTEMPTS failed; `retryNow()` starts over
 * @property {{code: number}} seat-lost the seat expired (NO_SEAT): joining again now
 * @property {{code: number}} verify-required VERIFY: the session stopped until the
 *   identity step is done and `start()` is called again
 * @property {{code: number}} final a final close code: the session stopped
 */

export class SignalSession extends EventTarget {
  /** @type {() => string} */
  #url;
  /** @type {string | null} */
  #token;
  /** @type {string | null} */
  #room;
  /** @type {(url: string) => SocketLike} */
  #createSocket;
  /** @type {() => number} */
  #random;

  /** @type {SocketLike | null} */
  #ws = null;
  // between start() and stop() (or a final close): closes lead to reconnects
  #active = false;
  // between joined/resumed and the socket closing
  #connected = false;
  /** @type {string | null} only in memory: it lets this page (and nothing else) resume the seat */
  #sessionId = null;
  #lastSeq = 0; // highest server seq processed
  #clientSeq = 0; // last seq given to one of our own messages
  /** @type {NumberedMessage[]} own numbered messages the server may not have processed yet */
  #outbox = [];
  #reconnectAttempt = 0;
  /** @type {ReturnType<typeof setTimeout> | null} */
  #reconnectTimer = null;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  #pingTimer = undefined;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #handshakeTimer = undefined;
  #lastHeardAt = 0;

  /**
   * @param {object} options
   * @param {string | (() => string)} options.url the /ws address (a function is asked at every connect)
   * @param {string | null} options.token the room token for `join`
   * @param {string | null} [options.room] the room id from the page's address, sent with `join`
   * @param {(url: string) => SocketLike} [options.createSocket] defaults to `new WebSocket(url)`
   * @param {() => number} [options.random] for the backoff's jitter
   */
  constructor({ url, token, room = null, createSocket, random = Math.random }) {
    super();
    this.#url = typeof url === 'function' ? url : () => url;
    this.#token = token;
    this.#room = room;
    this.#createSocket = createSocket ?? ((address) => new WebSocket(address));
    this.#random = random;
  }

  /**
   * Listen to one of the SignalEvents; the listener gets the event's detail.
   * @template {keyof SignalEvents} K
   * @param {K} type
   * @param {(detail: SignalEvents[K]) => void} listener
   */
  on(type, listener) {
    this.addEventListener(type, (event) => listener(/** @type {CustomEvent<SignalEvents[K]>} */ (event).detail));
  }

  /**
   * @template {keyof SignalEvents} K
   * @param {K} type
   * @param {SignalEvents[K]} detail
   */
  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  get connected() {
    return this.#connected;
  }

  get active() {
    return this.#active;
  }

  /** The current socket, if any (read-only hook for the browser tests). */
  get socket() {
    return this.#ws;
  }

  get lastSeq() {
    return this.#lastSeq;
  }

  get clientSeq() {
    return this.#clientSeq;
  }

  get pendingMessages() {
    return this.#outbox.length;
  }

  /** A copy of the outbox, oldest first. */
  get outbox() {
    return this.#outbox.map((frame) => ({ ...frame }));
  }

  get reconnectAttempt() {
    return this.#reconnectAttempt;
  }

  /** Connect (join, or resume a seat this session still holds). */
  start() {
    this.#active = true;
    this.#reconnectAttempt = 0;
    this.#connect();
  }

  /**
   * Stop for good: no reconnects; an open socket is closed normally. The counters stay
   * (they are shown until the page starts over with `resetSeat()`).
   */
  stop() {
    this.#active = false;
    this.#connected = false;
    this.#sessionId = null;
    this.#clearReconnect();
    this.#stopPing();
    const ws = this.#ws;
    this.#ws = null;
    if (ws && ws.readyState <= OPEN) ws.close(CLOSE.NORMAL);
  }

  /** Forget the seat: the next connect joins with the token and all counters start over. */
  resetSeat() {
    this.#sessionId = null;
    this.#lastSeq = 0;
    this.#clientSeq = 0;
    this.#outbox = [];
  }

  /** The "Opnieuw verbinden" button: start the schedule over, if not connected or connecting. */
  retryNow() {
    if (!this.#active || this.#ws) return;
    this.#reconnectAttempt = 0;
    this.#connect();
  }

  /** The network is back: skip the rest of the backoff wait. */
  skipBackoff() {
    if (this.#reconnectTimer !== null && !this.#ws) {
      this.#connect();
    }
  }

  /**
   * Numbered send: the message stays in the outbox until a join/resume tells us the
   * server processed it, and is sent again after a resume otherwise.
   * @param {ClientMessage} message
   * @returns {number} its seq
   */
  send(message) {
    this.#clientSeq += 1;
    const frame = { ...message, seq: this.#clientSeq };
    this.#outbox.push(frame);
    if (this.#outbox.length > OUTBOX_LIMIT) this.#outbox.shift();
    if (this.#connected) this.#rawSend(frame);
    return frame.seq;
  }

  // ---------------------------------------------------------------- the socket

  #connect() {
    this.#clearReconnect();
    /** @type {SocketLike} */
    let ws;
    try {
      ws = this.#createSocket(this.#url());
    } catch (error) {
      console.warn('WebSocket could not be created', error);
      this.#scheduleReconnect();
      return;
    }
    this.#ws = ws;
    this.#connected = false;
    ws.addEventListener('open', () => {
      if (this.#ws !== ws) return;
      this.#lastHeardAt = Date.now();
      clearTimeout(this.#handshakeTimer);
      this.#handshakeTimer = setTimeout(() => {
        if (this.#ws === ws && !this.#connected) this.#abandonSocket();
      }, HANDSHAKE_TIMEOUT_MS);
      if (this.#sessionId) {
        this.#rawSend({ type: 'resume', session_id: this.#sessionId, last_seq: this.#lastSeq });
      } else {
        /** @type {ClientMessage} */
        const join = { type: 'join', token: this.#token };
        // The server checks that the link's room and the token's room agree.
        if (this.#room) join.room = this.#room;
        this.#rawSend(join);
      }
    });
    ws.addEventListener('message', (event) => {
      if (this.#ws !== ws) return;
      this.#lastHeardAt = Date.now();
      this.#onFrame(event.data);
    });
    ws.addEventListener('close', (event) => {
      if (this.#ws !== ws) return;
      this.#onSocketClosed(typeof event.code === 'number' ? event.code : 0);
    });
  }

  /** @param {ClientMessage} message */
  #rawSend(message) {
    const ws = this.#ws;
    if (!ws || ws.readyState !== OPEN) return false;
    ws.send(JSON.stringify(message));
    return true;
  }

  /** @param {unknown} lastClientSeq */
  #acknowledge(lastClientSeq) {
    const acked = Number.isInteger(lastClientSeq) ? Number(lastClientSeq) : 0;
    this.#outbox = this.#outbox.filter((frame) => frame.seq > acked);
  }

  #startPing() {
    clearTimeout(this.#handshakeTimer);
    clearInterval(this.#pingTimer);
    this.#pingTimer = setInterval(() => {
      if (Date.now() - this.#lastHeardAt > DEAD_SOCKET_MS) {
        this.#abandonSocket();
        return;
      }
      // last_seq: what we hold, so the server's replay buffer for us can let go of it
      this.#rawSend({ type: 'ping', ts: Date.now(), last_seq: this.#lastSeq });
    }, PING_INTERVAL_MS);
  }

  #stopPing() {
    clearTimeout(this.#handshakeTimer);
    clearInterval(this.#pingTimer);
    this.#pingTimer = undefined;
  }

  #clearReconnect() {
    if (this.#reconnectTimer !== null) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = null;
  }

  // A silent socket may take minutes to report its death; stop listening to it and
  // reconnect now. The seat on the server is held for the resume grace period.
  #abandonSocket() {
    const ws = this.#ws;
    this.#ws = null;
    if (ws) {
      try {
        ws.close(NO_ANSWER, 'no answer');
      } catch (error) {
        console.warn('closing a dead socket failed', error);
      }
    }
    this.#onSocketClosed(NO_ANSWER);
  }

  /** @param {number} code */
  #onSocketClosed(code) {
    this.#ws = null;
    this.#connected = false;
    this.#stopPing();
    if (!this.#active) return;
    const action = closeAction(code);
    if (action === 'verify') {
      // The server wants proof of identity first (or again); the page calls start() after it.
      this.resetSeat();
      this.#active = false;
      this.#emit('verify-required', { code });
      return;
    }
    if (action === 'rejoin') {
      // The seat expired while we were away: start over with the token from memory.
      this.resetSeat();
      this.#emit('seat-lost', { code });
      this.#connect();
      return;
    }
    if (action === 'final') {
      this.#active = false;
      this.#sessionId = null;
      this.#emit('final', { code });
      return;
    }
    this.#scheduleReconnect({ slow: action === 'retry-slow', code });
  }

  /** @param {{slow?: boolean, code?: number | null}} [options] */
  #scheduleReconnect({ slow = false, code = null } = {}) {
    if (this.#reconnectAttempt >= MAX_RECONNECT_ATTEMPTS) {
      this.#emit('gave-up', { attempts: this.#reconnectAttempt });
      return;
    }
    const attempt = this.#reconnectAttempt;
    const delay = reconnectDelay(attempt, { slow, random: this.#random });
    this.#reconnectAttempt += 1;
    this.#reconnectTimer = setTimeout(() => this.#connect(), delay);
    this.#emit('reconnecting', { attempt, delay, resuming: this.#sessionId !== null, code });
  }

  // ---------------------------------------------------------------- incoming frames

  /** @param {unknown} data */
  #onFrame(data) {
    if (typeof data !== 'string') return;
    /** @type {unknown} */
    let parsed;
    try {
      parsed = JSON.parse(data);
    } catch {
      console.warn('ignoring a frame that is not JSON');
      return;
    }
    if (!parsed || typeof parsed !== 'object') return;
    const message = /** @type {ServerMessage} */ (parsed);
    if (typeof message.type !== 'string') return;
    if (message.type === 'joined') {
      this.#onJoined(message);
      return;
    }
    if (message.type === 'resumed') {
      this.#onResumed(message);
      return;
    }
    // A replay after resume can overlap what we already handled.
    if (Number.isInteger(message.seq)) {
      if (message.seq <= this.#lastSeq) return;
      this.#lastSeq = message.seq;
    }
    if (message.type === 'error' && Number.isInteger(message.ref)) {
      // A refused message counts as processed: never send it again.
      this.#outbox = this.#outbox.filter((frame) => frame.seq !== message.ref);
    }
    this.#emit('message', message);
  }

  /** @param {ServerMessage} message */
  #onJoined(message) {
    // A join starts a fresh seat: server and client counters both start over.
    this.#sessionId = typeof message.session_id === 'string' ? message.session_id : null;
    this.#lastSeq = Number.isInteger(message.seq) ? message.seq : 0;
    this.#outbox = [];
    this.#clientSeq = Number.isInteger(message.last_client_seq) ? message.last_client_seq : 0;
    this.#connected = true;
    this.#reconnectAttempt = 0;
    this.#startPing();
    this.#emit('joined', message);
  }

  /** @param {ServerMessage} message */
  #onResumed(message) {
    this.#connected = true;
    this.#reconnectAttempt = 0;
    this.#startPing();
    if (message.resync === true && Number.isInteger(message.seq)) {
      // Nothing is replayed after a resync, so nothing older can still arrive.
      this.#lastSeq = Math.max(this.#lastSeq, message.seq);
    }
    this.#acknowledge(message.last_client_seq);
    for (const frame of this.#outbox) this.#rawSend(frame);
    this.#emit('resumed', message);
  }
}
