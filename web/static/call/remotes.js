// @ts-check
// The other participants in the call: one Peer (peer.js) and one video tile (ui/tiles.js)
// each, kept in step with the server's peer-joined, peer-left, peer-away/back and media
// messages, with what the page announces about them.
//
// A chat-only call sends and receives no media, so it makes no peer connection at all (not
// even one without transceivers: it would still gather candidates and open ports for
// nothing): a remote is then only who is in the call. A voice call's connections carry audio
// only (peer.js `kinds`), and its tiles play sound without a picture.

import { t } from '../texts.js';
import { Peer } from './peer.js';
import { RemoteTile } from './ui/tiles.js';
import { capitalise, roleInSentence } from './ui/words.js';

/** @typedef {import('./signal.js').ServerMessage} ServerMessage */
/** @typedef {import('./peer.js').PeerMessage} PeerMessage */
/** @typedef {import('./ui/status.js').Announce} Announce */

/**
 * One other participant in the call.
 * @typedef {object} Remote
 * @property {string} id
 * @property {string} role
 * @property {Peer | null} peer none in a chat-only call
 * @property {RemoteTile | null} tile none in a chat-only call
 * @property {boolean} away their socket dropped; the server holds their seat
 * @property {{audio: boolean, video: boolean}} media what they say they send
 * @property {boolean} polite how this side behaves in perfect negotiation (from the server)
 */

/**
 * @typedef {object} RemotesOptions
 * @property {HTMLElement} tiles the list the tiles go in
 * @property {(message: PeerMessage) => void} send to the signalling session
 * @property {() => MediaStream | null} localStream our camera and microphone
 * @property {() => RTCIceServer[]} iceServers from the server's `joined`
 * @property {Announce} announce
 * @property {() => void} onChange someone came or went (the page renders)
 * @property {import('./link.js').Channel} [channel] what the call carries (default video)
 * @property {() => void} [onConnected] a connection reached `connected` for the first time
 */

export class Remotes {
  /** @type {Map<string, Remote>} peer id -> remote participant */
  #remotes = new Map();

  /** @param {RemotesOptions} options */
  constructor(options) {
    this.options = options;
  }

  get size() {
    return this.#remotes.size;
  }

  /** The peer connections by peer id (for the browser tests). */
  get connections() {
    /** @type {Map<string, RTCPeerConnection>} */
    const found = new Map();
    for (const [id, { peer }] of this.#remotes) if (peer) found.set(id, peer.pc);
    return found;
  }

  /** The others' roles, in the order they came. */
  get roles() {
    return [...this.#remotes.values()].map((remote) => remote.role);
  }

  /** What the browser tests may see of each peer: ids, roles and connection states. */
  describe() {
    return [...this.#remotes.values()].map(({ id, role, peer, away }) => ({
      id,
      role,
      polite: peer ? peer.polite : null,
      away,
      // (a chat-only call has no connection: 'none')
      connectionState: peer ? peer.pc.connectionState : 'none',
      iceConnectionState: peer ? peer.pc.iceConnectionState : 'none',
      iceGatheringState: peer ? peer.pc.iceGatheringState : 'none',
      signalingState: peer ? peer.pc.signalingState : 'none',
    }));
  }

  /**
   * A connection (and a tile) for a peer; a peer that was there already starts afresh.
   * @param {{id: string, role?: unknown, polite?: unknown}} info
   */
  add(info) {
    this.remove(info.id);
    const role = typeof info.role === 'string' ? info.role : '';
    /** @type {Remote} */
    const remote = {
      id: info.id, role, peer: null, tile: null, away: false, media: { audio: true, video: true },
      polite: info.polite === true,
    };
    this.#remotes.set(info.id, remote);
    if (this.channel !== 'chat') this.#connect(remote).start();
    this.options.onChange();
    return remote;
  }

  /** What the call carries now (a switch of channel changes it). */
  get channel() {
    return this.options.channel ?? 'video';
  }

  /**
   * A connection and a tile for a remote, not started yet.
   * @param {Remote} remote
   * @param {{merged?: boolean}} [options] a tile made by a switch plays its own stream
   */
  #connect(remote, { merged = false } = {}) {
    const { send, localStream, iceServers, announce } = this.options;
    const voice = this.channel === 'voice';
    const peer = new Peer({
      id: remote.id, role: remote.role, polite: remote.polite, iceServers: iceServers(), send, localStream,
      kinds: voice ? ['audio'] : ['audio', 'video'],
    });
    remote.peer = peer;
    remote.tile = this.#tile(remote, voice, merged);
    peer.on('track', ({ track, streams }) => remote.tile?.showTrack(track, streams));
    peer.on('statechange', () => this.#updateTile(remote));
    peer.on('connected', () => {
      announce(t('U bent in gesprek met {who}.', { who: roleInSentence(remote.role) }));
      this.options.onConnected?.();
    });
    return peer;
  }

  /**
   * @param {Remote} remote
   * @param {boolean} audioOnly
   * @param {boolean} merged
   */
  #tile(remote, audioOnly, merged) {
    const tile = new RemoteTile(this.options.tiles, remote.role, { audioOnly });
    tile.merged = merged;
    return tile;
  }

  /**
   * The call switched to a richer channel (docs/signaling.md, "Switching channel"): a chat's
   * remotes get a connection (started by `mediaReady`, once the own devices were asked), a
   * voice call's connections carry video too and their tiles show it. Synchronous, so a
   * description that follows the switch finds its connection.
   * @param {import('./link.js').Channel} channel
   */
  upgrade(channel) {
    this.options.channel = channel;
    for (const remote of this.#remotes.values()) {
      if (!remote.peer) {
        this.#connect(remote, { merged: true });
        continue;
      }
      remote.peer.setKinds(channel === 'voice' ? ['audio'] : ['audio', 'video']);
      if (channel === 'video' && remote.tile?.audioOnly) {
        // the sound tile becomes a picture tile, playing what already arrives
        remote.tile.remove();
        const tile = this.#tile(remote, false, true);
        remote.tile = tile;
        for (const receiver of remote.peer.pc.getReceivers()) {
          if (receiver.track.readyState === 'live' && receiver.track.kind === 'audio') tile.showTrack(receiver.track, []);
        }
        this.#updateTile(remote);
      }
    }
    this.options.onChange();
  }

  /** The own devices were asked for after a switch: every connection sends what it has. */
  mediaReady() {
    for (const remote of this.#remotes.values()) remote.peer?.mediaReady();
  }

  /**
   * Connections for everyone in the server's list (`joined`, `admitted`).
   * @param {unknown} peerList
   */
  addAll(peerList) {
    for (const info of Array.isArray(peerList) ? peerList : []) {
      if (info && typeof info.id === 'string') this.add(info);
    }
  }

  /**
   * Make the connections match the server's list (after a resync).
   * @param {unknown} peerList
   */
  reconcile(peerList) {
    const list = Array.isArray(peerList) ? peerList : [];
    const ids = new Set(list.map((info) => info && info.id));
    for (const id of [...this.#remotes.keys()]) {
      if (!ids.has(id)) this.remove(id);
    }
    for (const info of list) {
      if (info && typeof info.id === 'string' && !this.#remotes.has(info.id)) this.add(info);
    }
  }

  /** Renegotiate every connection (ICE restart), after messages were lost. */
  restartAll() {
    for (const remote of this.#remotes.values()) remote.peer?.restart();
  }

  /** @param {string} id */
  remove(id) {
    const remote = this.#remotes.get(id);
    if (!remote) return;
    this.#remotes.delete(id);
    remote.peer?.close();
    remote.tile?.remove();
    this.options.onChange();
  }

  removeAll() {
    for (const id of [...this.#remotes.keys()]) this.remove(id);
  }

  /** @param {ServerMessage} message */
  onDescription(message) {
    this.#remotes.get(message.from)?.peer?.handleDescription(message.description);
  }

  /** @param {ServerMessage} message */
  onCandidate(message) {
    this.#remotes.get(message.from)?.peer?.handleCandidate(message.candidate);
  }

  /**
   * `peer-joined`: a new connection (a peer that joins again needs a new one on our side too).
   * @param {ServerMessage} message
   * @returns {boolean} whether someone was added
   */
  onJoined(message) {
    const info = message.peer;
    if (!info || typeof info.id !== 'string') return false;
    this.add(info);
    this.options.announce(t('{who} is in het gesprek gekomen.', { who: capitalise(roleInSentence(info.role)) }));
    return true;
  }

  /** @param {ServerMessage} message */
  onLeft(message) {
    const remote = this.#remotes.get(message.id);
    if (!remote) return;
    this.remove(message.id);
    const who = roleInSentence(remote.role);
    if (message.reason === 'timeout') {
      this.options.announce(t('De verbinding met {who} is verbroken.', { who }));
    } else if (message.reason !== 'replaced') {
      this.options.announce(t('{who} heeft het gesprek verlaten.', { who: capitalise(who) }));
    }
  }

  /**
   * `peer-away` / `peer-back`
   * @param {ServerMessage} message
   * @param {boolean} away
   */
  onPresence(message, away) {
    const remote = this.#remotes.get(message.id);
    if (!remote) return;
    remote.away = away;
    this.#updateTile(remote);
    const who = roleInSentence(remote.role);
    this.options.announce(away
      ? t('De verbinding van {who} is even weg. We wachten op {who}.', { who })
      : t('{who} is weer verbonden.', { who: capitalise(who) }));
  }

  /** @param {ServerMessage} message */
  onMedia(message) {
    const remote = this.#remotes.get(message.from);
    if (!remote) return;
    remote.media = { audio: message.audio !== false, video: message.video !== false };
    this.#updateTile(remote);
  }

  /** @param {Remote} remote */
  #updateTile(remote) {
    if (!remote.tile || !remote.peer) return;
    remote.tile.update({ away: remote.away, connectionState: remote.peer.pc.connectionState, media: remote.media });
  }
}
