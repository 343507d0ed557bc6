// @ts-check
// peer.js with a fake RTCPeerConnection: perfect negotiation (MDN's pattern) with the
// call page's own rules from docs/signaling.md (the impolite side makes the first offer).

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';

import { Peer } from '../../web/static/call/peer.js';
import { FakePeerConnection, fakeStream, gate, settle } from './fakes.mjs';

/** @typedef {import('../../web/static/call/peer.js').PeerMessage} PeerMessage */

/**
 * A Peer on a fake connection; `sent` collects what it hands to the signalling session.
 * @param {{polite: boolean, kinds?: string[], Connection?: typeof FakePeerConnection}} options
 */
function makePeer({ polite, kinds = ['audio', 'video'], Connection = FakePeerConnection }) {
  /** @type {PeerMessage[]} */
  const sent = [];
  const stream = fakeStream(kinds);
  /** @type {{type: string, detail: any}[]} */
  const events = [];
  const peer = new Peer({
    id: 'remote-peer-1',
    role: 'specialist',
    polite,
    iceServers: [{ urls: 'stun:stun.balie.test' }],
    send: (message) => sent.push(message),
    localStream: () => /** @type {MediaStream} */ (/** @type {unknown} */ (stream)),
    RTCPeerConnection: /** @type {typeof RTCPeerConnection} */ (/** @type {unknown} */ (Connection)),
  });
  for (const type of /** @type {const} */ (['track', 'statechange', 'connected', 'negotiationerror'])) {
    peer.on(type, (detail) => events.push({ type, detail }));
  }
  const pc = /** @type {FakePeerConnection} */ (/** @type {unknown} */ (peer.pc));
  return {
    peer,
    pc,
    sent,
    stream,
    /** @param {string} type */
    eventsOf: (type) => events.filter((event) => event.type === type).map((event) => event.detail),
    /** @param {string} type */
    descriptions: (type) => sent.filter((message) => message.type === 'description'
      && message.description.type === type),
  };
}

const OFFER = { type: 'offer', sdp: 'v=0 remote offer' };
const CANDIDATE = { candidate: 'candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host', sdpMid: '0', sdpMLineIndex: 0 };

beforeEach(() => {
  // the negotiation traces and expected warnings stay out of the test output
  mock.method(console, 'debug', () => {});
  mock.method(console, 'warn', () => {});
});

afterEach(() => {
  mock.restoreAll();
});

describe('the first offer', () => {
  test('the impolite side attaches its media and makes the first offer', async () => {
    const { peer, pc, sent } = makePeer({ polite: false });
    peer.start();
    await settle();
    assert.deepEqual(pc.calls.filter(([name]) => name === 'addTrack').map(([, kind]) => kind), ['audio', 'video']);
    assert.equal(sent.length, 1);
    const [offer] = sent;
    assert.equal(offer.type, 'description');
    assert.equal(offer.to, 'remote-peer-1');
    assert.ok(offer.type === 'description' && offer.description.type === 'offer');
    assert.equal(pc.signalingState, 'have-local-offer');
  });

  test('the polite side waits: no media, no offer until the other side offers', async () => {
    const { peer, pc, sent } = makePeer({ polite: true });
    peer.start();
    await settle();
    assert.deepEqual(sent, []);
    assert.deepEqual(pc.calls, []);
  });

  test('the polite side answers the first offer with its media in the answer', async () => {
    const { peer, pc, sent, descriptions } = makePeer({ polite: true });
    peer.start();
    peer.handleDescription(OFFER);
    await peer.settled();
    await settle();
    const names = pc.callNames;
    assert.ok(names.indexOf('setRemoteDescription') < names.indexOf('addTrack'),
      `media must be attached after the offer is set: ${names}`);
    assert.equal(descriptions('answer').length, 1);
    assert.equal(descriptions('offer').length, 0, 'attaching media to the answer needs no offer of our own');
    assert.equal(sent.length, 1);
    assert.equal(pc.signalingState, 'stable');
  });

  test('without a camera the video is received only', async () => {
    const { peer, pc } = makePeer({ polite: false, kinds: ['audio'] });
    peer.start();
    await settle();
    assert.deepEqual(pc.calls.filter(([name]) => name.startsWith('add')).map(([name, kind, how]) => [name, kind, how]), [
      ['addTrack', 'audio', pc.calls[0][2]],
      ['addTransceiver', 'video', 'recvonly'],
    ]);
  });
});

describe('offer collisions (glare)', () => {
  test('the polite side rolls its own offer back and answers the other', async () => {
    const { peer, pc, descriptions } = makePeer({ polite: true });
    peer.restart(); // an ICE restart of our own: we make an offer
    await settle();
    assert.equal(pc.signalingState, 'have-local-offer');
    assert.equal(descriptions('offer').length, 1);
    peer.handleDescription(OFFER);
    await peer.settled();
    await settle();
    assert.ok(pc.callNames.includes('implicit rollback'), `calls: ${pc.callNames}`);
    assert.equal(peer.ignoringOffer, false);
    assert.equal(descriptions('answer').length, 1);
    assert.equal(pc.remoteDescription?.type, 'offer');
    assert.equal(pc.localDescription?.type, 'answer');
  });

  test('the impolite side ignores the colliding offer and keeps its own', async () => {
    const { peer, pc, sent, eventsOf } = makePeer({ polite: false });
    peer.start();
    await settle();
    const before = sent.length;
    peer.handleDescription(OFFER);
    // candidates for the ignored offer fail, quietly
    peer.handleCandidate(CANDIDATE);
    await peer.settled();
    assert.equal(peer.ignoringOffer, true);
    assert.ok(!pc.callNames.includes('setRemoteDescription'), `calls: ${pc.callNames}`);
    assert.equal(pc.signalingState, 'have-local-offer');
    assert.equal(sent.length, before, 'no answer to an ignored offer');
    assert.deepEqual(eventsOf('negotiationerror'), []);
  });

  test('a polite side still making its offer lets it finish before applying the other (Chromium)', async () => {
    const { peer, pc, descriptions } = makePeer({ polite: true });
    const held = gate();
    pc.holdLocal = held.closed;
    peer.restart();
    await settle(); // negotiationneeded: setLocalDescription is running, held at the gate
    assert.deepEqual(pc.callNames, ['restartIce', 'setLocalDescription']);
    peer.handleDescription(OFFER);
    await settle();
    assert.ok(!pc.callNames.includes('setRemoteDescription'), 'the remote offer must wait for our own offer');
    pc.holdLocal = null;
    held.open();
    await peer.settled();
    await settle();
    const names = pc.callNames;
    assert.ok(names.indexOf('setRemoteDescription') > names.indexOf('setLocalDescription'));
    assert.equal(descriptions('offer').length, 1, 'our offer was sent');
    assert.equal(descriptions('answer').length, 1, 'and the other offer answered');
  });

  test('an answer to our offer is applied', async () => {
    const { peer, pc } = makePeer({ polite: false });
    peer.start();
    await settle();
    peer.handleDescription({ type: 'answer', sdp: 'v=0 remote answer' });
    await peer.settled();
    assert.equal(pc.signalingState, 'stable');
    assert.equal(pc.remoteDescription?.type, 'answer');
  });
});

describe('ICE candidates', () => {
  test('candidates wait in the queue until the remote description is set', async () => {
    const { peer, pc, eventsOf } = makePeer({ polite: true });
    const held = gate();
    pc.holdRemote = held.closed;
    peer.handleDescription(OFFER);
    peer.handleCandidate(CANDIDATE);
    await settle();
    assert.ok(!pc.callNames.includes('addIceCandidate'), 'a candidate must not overtake its description');
    held.open();
    await peer.settled();
    const names = pc.callNames;
    assert.ok(names.indexOf('addIceCandidate') > names.indexOf('setRemoteDescription'));
    assert.deepEqual(pc.calls.find(([name]) => name === 'addIceCandidate'), ['addIceCandidate', CANDIDATE]);
    assert.deepEqual(eventsOf('negotiationerror'), [], 'the candidate was accepted');
  });

  test('a null candidate means end of candidates: addIceCandidate() without argument', async () => {
    const { peer, pc } = makePeer({ polite: true });
    peer.handleDescription(OFFER);
    peer.handleCandidate(null);
    await peer.settled();
    assert.deepEqual(pc.calls.find(([name]) => name === 'addIceCandidate'), ['addIceCandidate', 'end']);
  });

  test('own candidates go out with only the fields that have a value', () => {
    const { pc, sent } = makePeer({ polite: true });
    pc.emitCandidate({ candidate: 'candidate:2 1 udp 1 198.51.100.7 3478 typ srflx', sdpMid: '0', sdpMLineIndex: 0, usernameFragment: null });
    pc.emitCandidate({ candidate: '', sdpMid: '1' }); // legacy per-m-line end marker
    pc.emitCandidate(null);
    assert.deepEqual(sent, [
      { type: 'candidate', to: 'remote-peer-1', candidate: { candidate: 'candidate:2 1 udp 1 198.51.100.7 3478 typ srflx', sdpMid: '0', sdpMLineIndex: 0 } },
      { type: 'candidate', to: 'remote-peer-1', candidate: null },
    ]);
  });

  test('a candidate that fails outside an ignored offer is reported', async () => {
    const { peer, eventsOf } = makePeer({ polite: true });
    peer.handleCandidate(CANDIDATE); // no remote description at all
    await peer.settled();
    assert.equal(eventsOf('negotiationerror').length, 1);
    assert.equal(eventsOf('negotiationerror')[0].step, 'candidate');
  });
});

describe('connection state and restarts', () => {
  test('a failed connection restarts ICE; connected is reported once', async () => {
    const { pc, eventsOf } = makePeer({ polite: false });
    pc.setState('connecting', 'checking');
    pc.setState('failed', 'failed');
    assert.ok(pc.callNames.includes('restartIce'));
    pc.setState('connected', 'connected');
    pc.setState('disconnected', 'disconnected');
    pc.setState('connected', 'connected');
    assert.equal(eventsOf('connected').length, 1);
    assert.deepEqual(eventsOf('statechange').map((state) => state.connectionState),
      ['connecting', 'failed', 'connected', 'disconnected', 'connected']);
  });

  test('restart() rolls back an unanswered offer, then restarts ICE with a new offer', async () => {
    const { peer, pc, descriptions } = makePeer({ polite: false });
    peer.start();
    await settle();
    peer.restart();
    await peer.settled();
    await settle();
    const names = pc.callNames;
    const rollback = pc.calls.findIndex(([name, type]) => name === 'setLocalDescription' && type === 'rollback');
    assert.ok(rollback > 0, `calls: ${names}`);
    assert.equal(names[rollback + 1], 'restartIce');
    assert.equal(descriptions('offer').length, 2);
  });

  test('a malformed ICE server list falls back to a connection without', () => {
    const created = [];
    class Picky extends FakePeerConnection {
      /** @param {RTCConfiguration} [config] */
      constructor(config) {
        if (config) throw new TypeError('bad ICE server');
        super();
        created.push(this);
      }
    }
    const { pc } = makePeer({ polite: true, Connection: Picky });
    assert.equal(created.length, 1);
    assert.equal(pc.config, undefined);
  });

  test('remote tracks are passed on as events', () => {
    const { pc, eventsOf } = makePeer({ polite: true });
    const track = { kind: 'video' };
    const stream = { id: 'remote-stream' };
    pc.emitTrack(track, [stream]);
    assert.deepEqual(eventsOf('track'), [{ track, streams: [stream] }]);
  });

  test('a failing step is reported and the steps after it still run', async () => {
    const { peer, pc, eventsOf } = makePeer({ polite: true });
    peer.handleDescription({ type: 'answer', sdp: 'v=0 unexpected answer' }); // we made no offer
    peer.handleDescription(OFFER);
    await peer.settled();
    await settle();
    assert.equal(eventsOf('negotiationerror')[0].step, 'description');
    assert.equal(pc.remoteDescription?.type, 'offer');
  });

  test('after close() and for malformed messages nothing is applied', async () => {
    const { peer, pc } = makePeer({ polite: true });
    peer.handleDescription(null);
    peer.handleDescription({ sdp: 'no type' });
    peer.handleDescription({ type: 42 });
    await peer.settled();
    assert.deepEqual(pc.calls, []);
    peer.close();
    peer.handleDescription(OFFER);
    peer.handleCandidate(CANDIDATE);
    peer.restart();
    await peer.settled();
    assert.deepEqual(pc.callNames, ['close']);
  });
});

/**
 * A fake connection whose statistics name a selected candidate pair of these types.
 * @param {string} local
 * @param {string} remote
 */
function connectionWithPair(local, remote) {
  return class extends FakePeerConnection {
    async getStats() {
      return new Map([
        ['T1', { id: 'T1', type: 'transport', selectedCandidatePairId: 'P1' }],
        ['P1', { id: 'P1', type: 'candidate-pair', localCandidateId: 'L1', remoteCandidateId: 'R1' }],
        ['L1', { id: 'L1', type: 'local-candidate', candidateType: local }],
        ['R1', { id: 'R1', type: 'remote-candidate', candidateType: remote }],
      ]);
    }
  };
}

describe('reports to the server (docs/signaling.md, "Reports")', () => {
  /** @param {PeerMessage[]} sent */
  const reports = (sent) => sent.filter((message) => message.type === 'report');

  test('the first connect reports its setup time and a direct route, once', async () => {
    const { pc, sent } = makePeer({ polite: false, Connection: connectionWithPair('host', 'srflx') });
    pc.setState('connecting', 'checking');
    pc.setState('connected', 'connected');
    pc.setState('disconnected', 'disconnected');
    pc.setState('connected', 'connected');
    await settle();
    const [report, ...more] = reports(sent);
    assert.deepEqual(more, []);
    assert.ok(report.type === 'report' && report.event === 'connected');
    assert.equal(report.route, 'direct');
    assert.ok(Number.isInteger(report.setup_ms) && report.setup_ms >= 0);
  });

  test('a pair through a TURN server is reported as relay', async () => {
    const { pc, sent } = makePeer({ polite: true, Connection: connectionWithPair('relay', 'host') });
    pc.setState('connected', 'connected');
    await settle();
    const [report] = reports(sent);
    assert.ok(report.type === 'report' && report.event === 'connected');
    assert.equal(report.route, 'relay');
  });

  test('without statistics the route is left out', async () => {
    const { pc, sent } = makePeer({ polite: true });
    pc.setState('connected', 'connected');
    await settle();
    const [report] = reports(sent);
    assert.ok(report.type === 'report' && report.event === 'connected');
    assert.equal('route' in report, false);
  });

  test('an ICE failure is reported once until the connection connects again', async () => {
    const { pc, sent } = makePeer({ polite: false });
    pc.setState('connecting', 'checking');
    pc.setState('failed', 'failed');
    pc.setState('failed', 'failed');
    await settle();
    assert.deepEqual(reports(sent), [{ type: 'report', event: 'ice-failed' }]);
    pc.setState('connected', 'connected');
    pc.setState('failed', 'failed');
    await settle();
    // the connected report waits for the statistics: count, do not order
    assert.deepEqual(reports(sent).map((report) => report.event).sort(), ['connected', 'ice-failed', 'ice-failed']);
  });
});
