// @ts-check
// Stand-ins for the browser objects signal.js and peer.js use, for Node's test runner.
// Not a test file itself (node --test picks up *.test.mjs only).

/** A WebSocket the test opens, feeds and closes by hand. */
export class FakeSocket {
  /** @param {string} url */
  constructor(url) {
    this.url = url;
    this.readyState = 0; // CONNECTING
    /** @type {any[]} frames sent, parsed */
    this.sent = [];
    /** @type {{code?: number, reason?: string}[]} */
    this.closeCalls = [];
    /** @type {Record<string, ((event: any) => void)[]>} */
    this.listeners = { open: [], message: [], close: [] };
  }

  /**
   * @param {'open' | 'message' | 'close'} type
   * @param {(event: any) => void} listener
   */
  addEventListener(type, listener) {
    this.listeners[type].push(listener);
  }

  /** @param {string} data */
  send(data) {
    if (this.readyState !== 1) throw new Error('InvalidStateError: not open');
    this.sent.push(JSON.parse(data));
  }

  /**
   * @param {number} [code]
   * @param {string} [reason]
   */
  close(code, reason) {
    this.closeCalls.push({ code, reason });
    this.readyState = 2; // CLOSING; the close event comes later, as in a browser
  }

  // ------------------------------------------------ the test's side

  open() {
    this.readyState = 1;
    this.#fire('open', {});
  }

  /** @param {unknown} message an object (sent as JSON) or raw text */
  receive(message) {
    this.#fire('message', { data: typeof message === 'string' ? message : JSON.stringify(message) });
  }

  /** @param {number} code */
  drop(code) {
    this.readyState = 3;
    this.#fire('close', { code });
  }

  /** The frames sent of one type. */
  /** @param {string} type */
  sentOfType(type) {
    return this.sent.filter((frame) => frame.type === type);
  }

  /**
   * @param {string} type
   * @param {object} event
   */
  #fire(type, event) {
    for (const listener of this.listeners[type]) listener(event);
  }
}

/** A gate a fake method waits at until the test opens it. */
export function gate() {
  /** @type {() => void} */
  let open = () => {};
  /** @type {Promise<void>} */
  const closed = new Promise((resolve) => {
    open = resolve;
  });
  return { closed, open };
}

/** Let every pending promise and queued task run. */
export async function settle() {
  for (let i = 0; i < 10; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

let sdpCounter = 0;

/**
 * An RTCPeerConnection with just enough of the signalling state machine (JSEP) for
 * perfect negotiation: implicit offers and answers, implicit rollback of a local offer
 * when a remote offer is applied, and candidates refused without a remote description.
 * Every call is logged in `calls`.
 */
export class FakePeerConnection extends EventTarget {
  /** @param {RTCConfiguration} [config] */
  constructor(config) {
    super();
    this.config = config;
    /** @type {RTCSignalingState} */
    this.signalingState = 'stable';
    /** @type {RTCPeerConnectionState} */
    this.connectionState = 'new';
    /** @type {RTCIceConnectionState} */
    this.iceConnectionState = 'new';
    /** @type {RTCIceGatheringState} */
    this.iceGatheringState = 'new';
    /** @type {{type: RTCSdpType, sdp: string} | null} */
    this.localDescription = null;
    /** @type {{type: RTCSdpType, sdp?: string} | null} */
    this.remoteDescription = null;
    /** @type {any[][]} */
    this.calls = [];
    /** @type {{kind: string, direction: string, receiver: {track: {kind: string}}}[]} */
    this.transceivers = [];
    /** @type {Promise<void> | null} setLocalDescription waits for this, if set */
    this.holdLocal = null;
    /** @type {Promise<void> | null} setRemoteDescription waits for this, if set */
    this.holdRemote = null;
    this.negotiationQueued = false;
  }

  /** @param {{type: RTCSdpType}} [description] */
  async setLocalDescription(description) {
    this.calls.push(['setLocalDescription', description ? description.type : 'implicit']);
    if (this.holdLocal) await this.holdLocal;
    if (this.signalingState === 'closed') throw new Error('InvalidStateError: closed');
    if (description && description.type === 'rollback') {
      this.localDescription = null;
      this.signalingState = 'stable';
      return;
    }
    if (this.signalingState === 'have-remote-offer') {
      sdpCounter += 1;
      this.localDescription = { type: 'answer', sdp: `answer-${sdpCounter}` };
      this.signalingState = 'stable';
    } else {
      sdpCounter += 1;
      this.localDescription = { type: 'offer', sdp: `offer-${sdpCounter}` };
      this.signalingState = 'have-local-offer';
    }
  }

  /** @param {{type: RTCSdpType, sdp?: string}} description */
  async setRemoteDescription(description) {
    this.calls.push(['setRemoteDescription', description.type]);
    if (this.holdRemote) await this.holdRemote;
    if (description.type === 'rollback') {
      this.remoteDescription = null;
      this.signalingState = 'stable';
      return;
    }
    if (description.type === 'offer') {
      if (this.signalingState === 'have-local-offer') {
        this.calls.push(['implicit rollback']);
        this.localDescription = null;
      }
      this.remoteDescription = description;
      this.signalingState = 'have-remote-offer';
      return;
    }
    if (this.signalingState !== 'have-local-offer') {
      throw Object.assign(new Error(`cannot apply an ${description.type} in ${this.signalingState}`), {
        name: 'InvalidStateError',
      });
    }
    this.remoteDescription = description;
    this.signalingState = 'stable';
  }

  /** @param {RTCIceCandidateInit | null} [candidate] */
  async addIceCandidate(candidate) {
    this.calls.push(['addIceCandidate', arguments.length === 0 ? 'end' : candidate]);
    if (!this.remoteDescription) {
      throw Object.assign(new Error('no remote description'), { name: 'InvalidStateError' });
    }
  }

  /**
   * @param {{kind: string}} track
   * @param {unknown} stream
   */
  addTrack(track, stream) {
    this.calls.push(['addTrack', track.kind, stream]);
    this.transceivers.push({ kind: track.kind, direction: 'sendrecv', receiver: { track: { kind: track.kind } } });
    // While answering an offer the track reuses the offered transceiver and rides in the
    // answer: no negotiation of its own.
    if (this.signalingState !== 'have-remote-offer') this.#negotiationNeeded();
  }

  /**
   * @param {string} kind
   * @param {{direction: string}} init
   */
  addTransceiver(kind, init) {
    this.calls.push(['addTransceiver', kind, init.direction]);
    this.transceivers.push({ kind, direction: init.direction, receiver: { track: { kind } } });
    this.#negotiationNeeded();
  }

  getTransceivers() {
    return this.transceivers;
  }

  restartIce() {
    this.calls.push(['restartIce']);
    this.#negotiationNeeded();
  }

  close() {
    this.calls.push(['close']);
    this.signalingState = 'closed';
  }

  // ------------------------------------------------ the test's side

  /** The names of the calls made, in order. */
  get callNames() {
    return this.calls.map(([name]) => name);
  }

  /** @param {Partial<RTCIceCandidate> | null} candidate */
  emitCandidate(candidate) {
    this.dispatchEvent(Object.assign(new Event('icecandidate'), { candidate }));
  }

  /**
   * @param {RTCPeerConnectionState} connectionState
   * @param {RTCIceConnectionState} [iceConnectionState]
   */
  setState(connectionState, iceConnectionState = this.iceConnectionState) {
    this.connectionState = connectionState;
    this.iceConnectionState = iceConnectionState;
    this.dispatchEvent(new Event('connectionstatechange'));
  }

  /**
   * @param {object} track
   * @param {object[]} streams
   */
  emitTrack(track, streams) {
    this.dispatchEvent(Object.assign(new Event('track'), { track, streams }));
  }

  // As in a browser: fired from a task, once for a burst of changes, only when stable.
  #negotiationNeeded() {
    if (this.negotiationQueued) return;
    this.negotiationQueued = true;
    setImmediate(() => {
      this.negotiationQueued = false;
      if (this.signalingState !== 'stable') return;
      this.dispatchEvent(new Event('negotiationneeded'));
    });
  }
}

/**
 * A MediaStream-like object with tracks of the given kinds.
 * @param {string[]} kinds
 */
export function fakeStream(kinds) {
  const tracks = kinds.map((kind) => ({ kind, enabled: true }));
  return { tracks, getTracks: () => tracks };
}
