// @ts-check
// One RTCPeerConnection to one other participant, with perfect negotiation (MDN,
// "Establishing a connection: The WebRTC perfect negotiation pattern"): the same code runs
// on both sides, the server's `polite` flag decides who yields when offers collide
// (docs/signaling.md). It never touches the page: the call page listens to its events
// (PeerEvents below) and hands it the remote descriptions and candidates.
//
// The RTCPeerConnection constructor is injectable, so Node's test runner can drive the
// negotiation with a fake connection (tests/web/peer.test.mjs).

/**
 * @typedef {object} PeerEvents
 * @property {{track: MediaStreamTrack, streams: readonly MediaStream[]}} track a remote track arrived
 * @property {{connectionState: RTCPeerConnectionState, iceConnectionState: RTCIceConnectionState}} statechange
 *   the connection or ICE state changed
 * @property {null} connected the connection reached `connected` for the first time
 * @property {{error: unknown, step: string}} negotiationerror a negotiation step failed
 *   (it is also logged; the next step still runs)
 */

/**
 * What a Peer sends to the other side through the signalling server, and what it reports
 * to the server itself about its connection (`report`, docs/signaling.md "Reports").
 * @typedef {{type: 'description', to: string, description: {type: RTCSdpType, sdp: string}}
 *   | {type: 'candidate', to: string, candidate: WireCandidate | null}
 *   | {type: 'report', event: 'connected', setup_ms: number, route?: 'direct' | 'relay'}
 *   | {type: 'report', event: 'ice-failed'}} PeerMessage
 */

/**
 * @typedef {{candidate: string, sdpMid?: string, sdpMLineIndex?: number, usernameFragment?: string}} WireCandidate
 */

/**
 * @typedef {object} PeerOptions
 * @property {string} id the other participant's seat id
 * @property {string} [role] the other participant's role
 * @property {boolean} polite whether this side yields on an offer collision (from the server)
 * @property {RTCIceServer[]} [iceServers]
 * @property {(message: PeerMessage) => void} send hands a message to the signalling session
 * @property {() => MediaStream | null} [localStream] our camera and microphone, when attached
 * @property {readonly ('audio' | 'video')[]} [kinds] the media this call carries: both for a
 *   video call, only audio for a voice call (then no video transceiver is ever made)
 * @property {typeof RTCPeerConnection} [RTCPeerConnection] defaults to the browser's
 */

export class Peer extends EventTarget {
  /** @type {RTCPeerConnection} */
  pc;
  /** @type {(message: PeerMessage) => void} */
  #send;
  /** @type {() => MediaStream | null} */
  #localStream;
  /** @type {readonly ('audio' | 'video')[]} */
  #kinds;
  #makingOffer = false;
  #ignoreOffer = false;
  #settingRemoteAnswer = false;
  // settles when our current offer has been set and sent
  /** @type {Promise<void>} */
  #offerInFlight = Promise.resolve();
  // Incoming descriptions and candidates for one peer are handled strictly in order.
  /** @type {Promise<void>} */
  #queue = Promise.resolve();
  // whether our camera and microphone are attached to this connection yet
  #mediaAttached = false;
  #reportedConnected = false;
  // when this connection was made: both sides were in the call from then on
  #createdAt = performance.now();
  // an ICE failure is reported once, until the connection connects again
  #reportedFailure = false;

  /** @param {PeerOptions} options */
  constructor({
    id, role = '', polite, iceServers = [], send, localStream = () => null, kinds = ['audio', 'video'],
    RTCPeerConnection: Connection,
  }) {
    super();
    this.id = id;
    this.role = role;
    this.polite = polite;
    this.#send = send;
    this.#localStream = localStream;
    this.#kinds = kinds;
    const Constructor = Connection ?? globalThis.RTCPeerConnection;
    try {
      this.pc = new Constructor({ iceServers });
    } catch (error) {
      // A malformed ICE server entry must not cost the call; direct connections may still work.
      console.warn('ICE servers refused, trying without them', error);
      this.pc = new Constructor();
    }
    const { pc } = this;
    pc.addEventListener('track', (event) => {
      this.#emit('track', { track: event.track, streams: event.streams });
    });
    pc.addEventListener('icecandidate', ({ candidate }) => {
      if (!candidate) this.#trace('end of own candidates');
      if (candidate && !candidate.candidate) return; // legacy per-m-line end marker
      this.#send({ type: 'candidate', to: this.id, candidate: candidate ? candidateToWire(candidate) : null });
    });
    pc.addEventListener('negotiationneeded', async () => {
      let offerDone = () => {};
      this.#offerInFlight = new Promise((resolve) => {
        offerDone = resolve;
      });
      try {
        this.#makingOffer = true;
        this.#trace('negotiationneeded');
        await pc.setLocalDescription();
        this.#trace(`sending ${pc.localDescription?.type}`);
        this.#sendLocalDescription();
      } catch (error) {
        console.warn('could not make an offer', error);
        this.#emit('negotiationerror', { error, step: 'offer' });
      } finally {
        this.#makingOffer = false;
        offerDone();
      }
    });
    const onStateChange = () => {
      this.#trace(`connection=${pc.connectionState}`);
      if (pc.connectionState === 'failed' || pc.iceConnectionState === 'failed') {
        if (!this.#reportedFailure) {
          this.#reportedFailure = true;
          this.#send({ type: 'report', event: 'ice-failed' });
        }
        // Perfect negotiation turns the restart into a new offer from whichever side.
        pc.restartIce();
      }
      if (pc.connectionState === 'connected') this.#reportedFailure = false;
      this.#emit('statechange', { connectionState: pc.connectionState, iceConnectionState: pc.iceConnectionState });
      if (pc.connectionState === 'connected' && !this.#reportedConnected) {
        this.#reportedConnected = true;
        this.#emit('connected', null);
        this.#reportSetup(Math.round(performance.now() - this.#createdAt));
      }
    };
    pc.addEventListener('connectionstatechange', onStateChange);
    pc.addEventListener('iceconnectionstatechange', onStateChange);
  }

  /**
   * Listen to one of the PeerEvents; the listener gets the event's detail.
   * @template {keyof PeerEvents} K
   * @param {K} type
   * @param {(detail: PeerEvents[K]) => void} listener
   */
  on(type, listener) {
    this.addEventListener(type, (event) => listener(/** @type {CustomEvent<PeerEvents[K]>} */ (event).detail));
  }

  /**
   * @template {keyof PeerEvents} K
   * @param {K} type
   * @param {PeerEvents[K]} detail
   */
  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  /** Whether the last colliding offer was ignored (impolite side). */
  get ignoringOffer() {
    return this.#ignoreOffer;
  }

  /** Settles when every description and candidate handed over so far has been applied. */
  settled() {
    return this.#queue;
  }

  /**
   * Start negotiating, once the page listens to the events.
   *
   * Only the impolite side (the server picks exactly one per pair) starts the
   * first negotiation; the polite side attaches its media when that offer
   * arrives, so it travels in the answer. Both offering at once works in
   * theory, but Chromium (156) sometimes leaves the polite side's connection
   * dead after rolling back its own first offer (no candidates, not revived by
   * an ICE restart). Later renegotiations still use perfect negotiation.
   */
  start() {
    if (!this.polite) this.#attachMedia();
  }

  /**
   * A `description` from the other side.
   * @param {unknown} description
   */
  handleDescription(description) {
    if (!description || typeof description !== 'object') return;
    const { type, sdp } = /** @type {{type?: unknown, sdp?: unknown}} */ (description);
    if (typeof type !== 'string') return;
    this.#enqueue('description', () => this.#applyRemoteDescription(
      /** @type {RTCSdpType} */ (type),
      typeof sdp === 'string' ? sdp : undefined,
    ));
  }

  /**
   * A `candidate` from the other side; null means end of candidates.
   * @param {RTCIceCandidateInit | null | undefined} candidate
   */
  handleCandidate(candidate) {
    const { pc } = this;
    this.#enqueue('candidate', async () => {
      if (pc.signalingState === 'closed') return;
      try {
        // No argument means end of candidates.
        await (candidate ? pc.addIceCandidate(candidate) : pc.addIceCandidate());
      } catch (error) {
        // Candidates for an offer we ignored are expected to fail.
        if (!this.#ignoreOffer) {
          console.warn('could not add a candidate', error);
          this.#emit('negotiationerror', { error, step: 'candidate' });
        } else {
          this.#trace('candidate for an ignored offer dropped');
        }
      }
    });
  }

  /** Renegotiate with an ICE restart (after a resync, when messages may have been lost). */
  restart() {
    const { pc } = this;
    if (pc.signalingState === 'closed') return;
    this.#enqueue('restart', async () => {
      // An offer whose answer was lost would block the restart forever.
      if (pc.signalingState === 'have-local-offer') {
        await pc.setLocalDescription({ type: 'rollback' });
      }
      pc.restartIce();
    });
  }

  close() {
    this.pc.close();
  }

  /**
   * The call switched to a richer channel (docs/signaling.md, "Switching channel"): it
   * carries `kinds` from now on. The tracks follow with `mediaReady()`.
   * @param {readonly ('audio' | 'video')[]} kinds
   */
  setKinds(kinds) {
    this.#kinds = kinds;
  }

  /**
   * The own camera and microphone are there (or could not be had) after a switch: the
   * impolite side starts a connection that never started, and a started one sends the
   * tracks it did not send yet. Sending where it only received, or a new kind, makes the
   * connection renegotiate (perfect negotiation settles a collision).
   */
  mediaReady() {
    if (!this.#mediaAttached) {
      // the polite side attaches its media when the impolite side's first offer arrives
      this.start();
      return;
    }
    const stream = this.#localStream();
    for (const kind of this.#kinds) {
      const track = stream ? stream.getTracks().find((each) => each.kind === kind) : undefined;
      const transceiver = this.pc.getTransceivers()
        .find((each) => each.receiver.track.kind === kind && each.currentDirection !== 'stopped');
      if (!transceiver) {
        if (stream && track) this.pc.addTrack(track, stream);
        else this.pc.addTransceiver(kind, { direction: 'recvonly' });
      } else if (stream && track && transceiver.sender.track !== track) {
        // a new stream after the switch: the same sender, the new track
        transceiver.sender.replaceTrack(track).catch((error) => {
          this.#emit('negotiationerror', { error, step: 'track' });
        });
        transceiver.sender.setStreams?.(stream);
        if (transceiver.direction === 'recvonly' || transceiver.direction === 'inactive') {
          transceiver.direction = 'sendrecv';
        }
      }
    }
  }

  #attachMedia() {
    if (this.#mediaAttached) return;
    this.#mediaAttached = true;
    const stream = this.#localStream();
    for (const kind of this.#kinds) {
      const track = stream ? stream.getTracks().find((each) => each.kind === kind) : undefined;
      if (stream && track) {
        // After a remote offer this reuses the offered transceiver of the same kind.
        this.pc.addTrack(track, stream);
      } else if (!this.pc.getTransceivers().some((transceiver) => transceiver.receiver.track.kind === kind)) {
        this.pc.addTransceiver(kind, { direction: 'recvonly' });
      }
    }
  }

  /**
   * Tell the server how long this connection took to connect and whether it goes through
   * a TURN relay (numbers and a word only: never an address).
   * @param {number} setupMs
   */
  async #reportSetup(setupMs) {
    const route = await selectedRoute(this.pc);
    this.#send({
      type: 'report', event: 'connected', setup_ms: Math.min(setupMs, 600_000), ...(route ? { route } : {}),
    });
  }

  #sendLocalDescription() {
    const description = this.pc.localDescription;
    if (!description) return;
    this.#send({ type: 'description', to: this.id, description: { type: description.type, sdp: description.sdp } });
  }

  /**
   * @param {string} step
   * @param {() => Promise<void>} task
   */
  #enqueue(step, task) {
    this.#queue = this.#queue.then(task).catch((error) => {
      console.warn('negotiation step failed', error);
      this.#trace(`step failed: ${error && error.name}`);
      this.#emit('negotiationerror', { error, step });
    });
  }

  /**
   * @param {RTCSdpType} type
   * @param {string | undefined} sdp
   */
  async #applyRemoteDescription(type, sdp) {
    const { pc } = this;
    if (pc.signalingState === 'closed') return;
    if (type === 'rollback') {
      if (pc.signalingState === 'have-remote-offer') await pc.setRemoteDescription({ type: 'rollback' });
      return;
    }
    const readyForOffer = !this.#makingOffer
      && (pc.signalingState === 'stable' || this.#settingRemoteAnswer);
    const offerCollision = type === 'offer' && !readyForOffer;
    this.#ignoreOffer = !this.polite && offerCollision;
    this.#trace(`received ${type}${offerCollision ? ' (collision)' : ''}${this.#ignoreOffer ? ' ignored' : ''}`);
    if (this.#ignoreOffer) return;
    if (offerCollision) {
      // Chromium (156) can leave the answer's ICE transport dead, gathering no
      // candidates ever, when the implicit rollback is queued behind a
      // setLocalDescription() that is still running. Seen in about one call in
      // twenty under CPU load; an ICE restart does not revive it. Letting our own
      // offer finish first avoids the race.
      await this.#offerInFlight;
    }
    this.#settingRemoteAnswer = type === 'answer';
    try {
      // On the polite side a colliding offer rolls our own offer back implicitly.
      await pc.setRemoteDescription({ type, sdp });
    } finally {
      this.#settingRemoteAnswer = false;
    }
    if (type === 'offer') {
      this.#attachMedia();
      await pc.setLocalDescription();
      this.#trace(`sending ${pc.localDescription?.type}`);
      this.#sendLocalDescription();
    }
  }

  // Negotiation steps go to the console at debug level: invisible to users, but a
  // failing browser test can show what each side did. Never log SDP or candidates:
  // they contain IP addresses.
  /** @param {string} step */
  #trace(step) {
    const { pc } = this;
    console.debug(`[balie] ${this.id.slice(0, 6)} ${step} signaling=${pc.signalingState} `
      + `ice=${pc.iceConnectionState} gathering=${pc.iceGatheringState}`);
  }
}

/**
 * Whether the connection's selected candidate pair goes through a TURN relay, from its
 * statistics; undefined when they do not say.
 * @param {RTCPeerConnection} pc
 * @returns {Promise<'direct' | 'relay' | undefined>}
 */
export async function selectedRoute(pc) {
  if (typeof pc.getStats !== 'function') return undefined;
  try {
    /** @type {Map<string, any>} */
    const stats = new Map();
    (await pc.getStats()).forEach((/** @type {any} */ report) => stats.set(report.id, report));
    let pair;
    for (const report of stats.values()) {
      if (report.type === 'transport' && report.selectedCandidatePairId) {
        pair = stats.get(report.selectedCandidatePairId);
      }
    }
    if (!pair) {
      pair = [...stats.values()].find((report) => report.type === 'candidate-pair'
        && report.nominated && report.state === 'succeeded');
    }
    if (!pair) return undefined;
    const ends = [stats.get(pair.localCandidateId), stats.get(pair.remoteCandidateId)];
    return ends.some((end) => end && end.candidateType === 'relay') ? 'relay' : 'direct';
  } catch {
    return undefined;
  }
}

/**
 * Only the fields that have a value: the protocol marks the others optional.
 * @param {RTCIceCandidate} candidate
 * @returns {WireCandidate}
 */
export function candidateToWire(candidate) {
  /** @type {WireCandidate} */
  const wire = { candidate: candidate.candidate };
  if (candidate.sdpMid !== null && candidate.sdpMid !== undefined) wire.sdpMid = candidate.sdpMid;
  if (candidate.sdpMLineIndex !== null && candidate.sdpMLineIndex !== undefined) {
    wire.sdpMLineIndex = candidate.sdpMLineIndex;
  }
  if (candidate.usernameFragment) wire.usernameFragment = candidate.usernameFragment;
  return wire;
}
