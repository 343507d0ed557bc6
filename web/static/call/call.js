// @ts-check
// Balie call page: camera preview, signalling over /ws (docs/signaling.md) and
// a small peer-to-peer mesh (at most three people) with perfect negotiation.
// Plain ES2022 modules without dependencies, so the page works under a strict CSP.
//
// This module only wires the parts together and keeps the page's phase:
//   signal.js   the signalling session (join/resume, outbox, heartbeats, reconnects)
//   peer.js     one RTCPeerConnection per other participant (perfect negotiation)
//   media.js    the own camera and microphone
//   ui/*.js     what the page shows: tiles, waiting room and lobby panel, chat, the
//               verified panel, the identity step, controls, device check, status line
// signal.js and peer.js never touch the page; they emit events this module listens to.

import { t } from '../texts.js';
import { CLOSE } from './close-codes.js';
import { checkConnection } from './devicecheck.js';
import { fetchVerification, problemText, requestRenewal, reveal } from './identity.js';
import { readRoomFromPath, roomFromToken, socketUrl, takeTokenFromFragment } from './link.js';
import { LocalMedia } from './media.js';
import { Peer } from './peer.js';
import { SignalSession } from './signal.js';
import { Chat } from './ui/chat.js';
import { Controls } from './ui/controls.js';
import { byId, focusIfLost } from './ui/dom.js';
import { keepTokenOnLanguageSwitch } from './ui/language.js';
import { LobbyPanel, WaitingRoom } from './ui/lobby.js';
import { DeviceCheck } from './ui/prejoin.js';
import { Alert, createAnnouncer } from './ui/status.js';
import { RemoteTile, showSelfState } from './ui/tiles.js';
import { VerifiedPanel } from './ui/verified.js';
import { IdentityStep } from './ui/verify.js';
import { capitalise, roleInSentence } from './ui/words.js';

/** @typedef {import('./signal.js').ServerMessage} ServerMessage */
/** @typedef {import('./signal.js').ClientMessage} ClientMessage */

// If the server never confirms "end for everyone" (socket gone), stop on this side anyway.
const END_CONFIRM_MS = 5000;

const BROKEN_CONNECTION = t('Er ging iets mis met de verbinding. Open de link opnieuw.');
// What the page says after a close code that ends the session (signal.js decides which).
/** @type {Map<number, string>} */
const CLOSED_TEXT = new Map([
  [CLOSE.NORMAL, t('Het gesprek is gestopt.')],
  [CLOSE.INVALID_TEXT, BROKEN_CONNECTION],
  [CLOSE.MESSAGE_TOO_BIG, BROKEN_CONNECTION],
  [CLOSE.BAD_FIRST_FRAME, BROKEN_CONNECTION],
  [CLOSE.TOKEN_REFUSED, t('Deze link werkt niet. Misschien is de link verlopen. Vraag de gemeente om een nieuwe link.')],
  [CLOSE.DENIED, t('De medewerker heeft u niet toegelaten.')],
  [CLOSE.REPLACED, t('U heeft het gesprek in een ander venster of tabblad geopend. Dit venster doet niet meer mee.')],
  [CLOSE.ENDED, t('Het gesprek is beëindigd.')],
]);

const page = {
  status: byId('status', HTMLElement),
  prejoin: byId('prejoin', HTMLElement),
  joinBtn: byId('join-btn', HTMLButtonElement),
  mediaRetryBtn: byId('media-retry-btn', HTMLButtonElement),
  reconnectBtn: byId('reconnect-btn', HTMLButtonElement),
  lobby: byId('lobby', HTMLElement),
  lobbyTitle: byId('lobby-title', HTMLElement),
  finished: byId('finished', HTMLElement),
  finishedTitle: byId('finished-title', HTMLElement),
  finishedText: byId('finished-text', HTMLElement),
  finishedDetail: byId('finished-detail', HTMLElement),
  feedbackForm: byId('feedback-form', HTMLFormElement),
  feedbackToken: byId('feedback-token', HTMLInputElement),
  rejoinBtn: byId('rejoin-btn', HTMLButtonElement),
  stage: byId('stage', HTMLElement),
  tiles: byId('tiles', HTMLElement),
  selfVideo: byId('self-video', HTMLVideoElement),
  selfState: byId('self-state', HTMLElement),
  aloneNote: byId('alone-note', HTMLElement),
  lobbyPanel: byId('lobby-panel', HTMLElement),
  verify: byId('verify', HTMLElement),
  verifiedPanel: byId('verified-panel', HTMLElement),
  languageChoice: document.getElementById('language-choice'),
  languageForm: document.querySelector('#language-choice form'),
};

// The token leaves the address bar at once, so it cannot end up in bookmarks,
// screenshots or the history. It lives only in this variable, never in storage.
const roomToken = takeTokenFromFragment();
const roomFromPath = readRoomFromPath();
const room = roomFromPath ?? roomFromToken(roomToken);

/** The page's own state; the signalling counters live in `signal`. */
const session = {
  /** @type {'prejoin' | 'connecting' | 'lobby' | 'call' | 'finished'} */
  phase: 'prejoin',
  /** @type {string | null} */
  role: null,
  /** @type {string | null} */
  participantId: null,
  /** @type {RTCIceServer[]} */
  iceServers: [],
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  endTimer: undefined,
  endRequested: false,
  /** @type {Readonly<{level: string, candidates: string[]}> | null} for the browser tests */
  connectionVerdict: null,
};

/**
 * One other participant in the call.
 * @typedef {object} Remote
 * @property {Peer} peer
 * @property {RemoteTile} tile
 * @property {boolean} away their socket dropped; the server holds their seat
 * @property {{audio: boolean, video: boolean}} media what they say they send
 */
/** @type {Map<string, Remote>} peer id -> remote participant */
const remotes = new Map();

const announce = createAnnouncer(page.status);
const alert = new Alert(byId('alert', HTMLElement), byId('alert-actions', HTMLElement));
/** @param {string} text */
const showAlert = (text) => alert.show(text);
const media = new LocalMedia();

const signal = new SignalSession({ url: socketUrl, token: roomToken, room: roomFromPath });

/**
 * A numbered message to the server (kept until acknowledged, sent again after a resume).
 * @param {ClientMessage} message
 */
function send(message) {
  return signal.send(message);
}

const deviceCheck = new DeviceCheck({
  camera: byId('check-camera', HTMLElement),
  mic: byId('check-mic', HTMLElement),
  micLevel: byId('mic-level', HTMLMeterElement),
  sound: byId('check-sound', HTMLElement),
  soundButton: byId('sound-btn', HTMLButtonElement),
  soundAnswer: byId('sound-answer', HTMLElement),
  soundYes: byId('sound-yes', HTMLButtonElement),
  soundNo: byId('sound-no', HTMLButtonElement),
  network: byId('check-network', HTMLElement),
}, announce);

const controls = new Controls({
  group: byId('controls', HTMLElement),
  mic: byId('mic-btn', HTMLButtonElement),
  cam: byId('cam-btn', HTMLButtonElement),
  leave: byId('leave-btn', HTMLButtonElement),
  end: byId('end-btn', HTMLButtonElement),
  endDialog: byId('end-dialog', HTMLDialogElement),
  endConfirm: byId('end-confirm', HTMLButtonElement),
  endCancel: byId('end-cancel', HTMLButtonElement),
}, {
  onMic() {
    media.audioOn = !media.audioOn;
    showLocalMedia();
    sendMediaState();
    announce(media.audioOn ? t('Uw microfoon staat aan.') : t('Uw microfoon staat uit.'));
  },
  onCam() {
    media.videoOn = !media.videoOn;
    showLocalMedia();
    sendMediaState();
    announce(media.videoOn ? t('Uw camera staat aan.') : t('Uw camera staat uit.'));
  },
  onLeave: leave,
  onEnd: endForEveryone,
});

const chat = new Chat({
  panel: byId('chat-panel', HTMLElement),
  log: byId('chat-log', HTMLElement),
  list: byId('chat-list', HTMLElement),
  form: byId('chat-form', HTMLFormElement),
  input: byId('chat-input', HTMLTextAreaElement),
  button: byId('chat-btn', HTMLButtonElement),
  unread: byId('chat-unread', HTMLElement),
}, {
  send: (text) => send({ type: 'chat', text }),
  onToggle: render,
  announce,
  showAlert,
});

const waitingRoom = new WaitingRoom({
  position: byId('lobby-position', HTMLElement),
  hold: byId('lobby-hold', HTMLElement),
  holdText: byId('lobby-hold-text', HTMLElement),
}, announce);

const lobbyPanel = new LobbyPanel({
  list: byId('lobby-list', HTMLElement),
  empty: byId('lobby-empty', HTMLElement),
  title: byId('lobby-panel-title', HTMLElement),
}, {
  onAdmit: (id) => send({ type: 'admit', participant_id: id }),
  onDeny: (id, note) => send(note ? { type: 'deny', participant_id: id, message: note } : { type: 'deny', participant_id: id }),
  onHold: (id, note) => send({ type: 'hold', participant_id: id, message: note }),
}, announce);

const verifiedPanel = new VerifiedPanel({
  empty: byId('verified-empty', HTMLElement),
  list: byId('verified-list', HTMLElement),
  meta: byId('verified-meta', HTMLElement),
  renew: byId('verified-renew', HTMLButtonElement),
}, {
  load: () => fetchVerification(room ?? '', roomToken ?? ''),
  reveal: (attribute) => reveal(room ?? '', roomToken ?? '', attribute),
  renew: () => requestRenewal(room ?? '', roomToken ?? ''),
  announce,
  showAlert,
});

const identityStep = new IdentityStep({
  title: byId('verify-title', HTMLElement),
  attributes: byId('verify-attributes', HTMLElement),
  demo: byId('verify-demo', HTMLElement),
  demoLink: byId('verify-demo-link', HTMLAnchorElement),
  retry: byId('verify-retry', HTMLButtonElement),
}, {
  room: room ?? '',
  token: roomToken ?? '',
  announce,
  alert,
  onChange: render,
  onVerified() {
    // When asked again during the call, the server tells the specialist itself.
    if (session.phase === 'prejoin') connectToRoom();
  },
});

// ---------------------------------------------------------------- screen state

function render() {
  const { phase } = session;
  const inCall = phase === 'call';
  const specialist = session.role === 'specialist';
  const verifying = identityStep.active;
  page.prejoin.hidden = phase !== 'prejoin' || verifying;
  // the level meter runs only while the device check is on screen
  if (page.prejoin.hidden) deviceCheck.stopMeter();
  page.verify.hidden = !verifying || phase === 'finished';
  page.verifiedPanel.hidden = !(inCall && specialist);
  page.lobby.hidden = phase !== 'lobby';
  page.finished.hidden = phase !== 'finished';
  page.stage.hidden = phase === 'finished';
  controls.render({ phase, specialist });
  chat.render(inCall);
  page.lobbyPanel.hidden = !(inCall && specialist);
  // Switching the language reloads the page: offered only before joining.
  if (page.languageChoice) page.languageChoice.hidden = phase !== 'prejoin' || verifying;
  page.aloneNote.hidden = !(inCall && remotes.size === 0);
}

// ---------------------------------------------------------------- local media

async function startLocalMedia() {
  stopLocalMedia();
  page.joinBtn.disabled = true;
  page.mediaRetryBtn.hidden = true;
  if (!media.supported) {
    alert.show(t('Deze browser kan uw camera niet gebruiken. Gebruik een nieuwe versie van Chrome, Edge, Firefox of Safari.'));
    page.joinBtn.disabled = roomToken === null;
    return;
  }
  announce(t('We vragen toegang tot uw camera en microfoon.'));
  const { stream, advice } = await media.acquire();
  deviceCheck.show(stream);
  if (stream) {
    page.selfVideo.srcObject = stream;
    page.selfVideo.play().catch(() => {});
    if (advice) {
      alert.show(advice);
      page.mediaRetryBtn.hidden = false;
    } else {
      alert.clear();
    }
    showLocalMedia();
    announce(roomToken
      ? t('Uw camera en microfoon zijn klaar. Klik op "Deelnemen".')
      : t('Uw camera en microfoon zijn klaar.'));
  } else {
    alert.show(advice);
    page.mediaRetryBtn.hidden = false;
    announce(t('Uw camera en microfoon zijn niet beschikbaar.'));
    showLocalMedia();
  }
  page.joinBtn.disabled = roomToken === null;
  if (roomToken === null) {
    alert.show(t('Deze link is niet compleet. Open de link uit uw e-mail of sms opnieuw.'));
  }
}

function stopLocalMedia() {
  deviceCheck.stopMeter();
  media.stop();
  page.selfVideo.srcObject = null;
}

/** Apply the microphone and camera choices, and show them. */
function showLocalMedia() {
  media.apply();
  controls.showMedia({
    audioOn: media.audioOn,
    videoOn: media.videoOn,
    hasAudio: media.track('audio') !== null,
    hasVideo: media.track('video') !== null,
  });
  showSelfState(page.selfState, media.sending);
}

/** @param {{onlyIfOff?: boolean}} [options] */
function sendMediaState({ onlyIfOff = false } = {}) {
  if (session.phase !== 'call') return;
  const { audio, video } = media.sending;
  if (onlyIfOff && audio && video) return;
  send({ type: 'media', audio, video });
}

// ---------------------------------------------------------------- signalling

signal.on('joined', (message) => {
  // A join starts a fresh seat.
  closeAllPeers();
  session.participantId = typeof message.participant_id === 'string' ? message.participant_id : null;
  session.role = typeof message.role === 'string' ? message.role : null;
  session.iceServers = Array.isArray(message.ice_servers) ? message.ice_servers : [];
  alert.clear();
  if (message.state === 'call') {
    enterCall(message.peers, { admitted: false });
  } else {
    enterLobby();
  }
});

signal.on('resumed', (message) => {
  alert.clear();
  if (message.resync === true) {
    // Messages were lost, so our picture of the room may be stale: rebuild it
    // from the server's list and renegotiate every connection.
    if (message.state === 'call') {
      if (session.phase !== 'call') enterCall(message.peers, { admitted: true });
      reconcilePeers(message.peers);
      for (const remote of remotes.values()) remote.peer.restart();
    } else if (message.state === 'lobby' && session.phase !== 'lobby') {
      closeAllPeers();
      enterLobby();
    }
  }
  announce(session.phase === 'lobby'
    ? t('De verbinding is hersteld. U bent nog in de wachtkamer.')
    : t('De verbinding is hersteld.'));
});

signal.on('reconnecting', ({ attempt, resuming }) => {
  if (attempt === 0) {
    announce(resuming ? t('De verbinding is even weg. We proberen het opnieuw.') : t('Verbinding maken…'));
  }
});

signal.on('gave-up', () => {
  announce(t('Er is geen verbinding.'));
  alert.show(t('Het lukt niet om verbinding te maken. Controleer uw internet. Klik daarna op "Opnieuw verbinden".'), {
    retry: true,
  });
});

signal.on('seat-lost', () => {
  // The seat expired while we were away; signal.js joins again with the token.
  // The others already closed their connections to the old seat.
  resetSeat();
  render();
  announce(t('De verbinding was te lang weg. We melden u opnieuw aan.'));
});

signal.on('verify-required', () => {
  // The server wants proof of identity first (or again): back to that step.
  resetSeat();
  session.phase = 'prejoin';
  render();
  fetchVerification(room ?? '', roomToken ?? '').then((state) => identityStep.start(state), (error) => {
    alert.show(problemText(error, t('Het lukt nu niet om deel te nemen. Probeer het over een minuut opnieuw.')));
  });
});

signal.on('final', ({ code }) => {
  finish(CLOSED_TEXT.get(code) ?? BROKEN_CONNECTION, { rejoin: code === CLOSE.NORMAL || code === CLOSE.REPLACED });
});

/** @type {Record<string, (message: ServerMessage) => void>} */
const HANDLERS = {
  lobby: onLobby,
  'lobby-update': onLobbyUpdate,
  admitted: onAdmitted,
  denied: onDenied,
  'peer-joined': onPeerJoined,
  'peer-left': onPeerLeft,
  'peer-away': (message) => onPeerPresence(message, true),
  'peer-back': (message) => onPeerPresence(message, false),
  description: (message) => remotes.get(message.from)?.peer.handleDescription(message.description),
  candidate: (message) => remotes.get(message.from)?.peer.handleCandidate(message.candidate),
  media: onMedia,
  chat: (message) => chat.add(message, message.from === session.participantId),
  ended: onEnded,
  verify: onVerifyRequested,
  verified: () => refreshVerifiedPanel(),
  pong: () => {},
  error: onServerError,
};

signal.on('message', (message) => {
  const handler = Object.hasOwn(HANDLERS, message.type) ? HANDLERS[message.type] : undefined;
  if (handler) {
    handler(message);
  } else {
    console.warn('unknown message type', message.type);
  }
});

function enterLobby() {
  const wasConnecting = session.phase === 'connecting';
  session.phase = 'lobby';
  render();
  announce(t('U bent in de wachtkamer. De medewerker laat u zo binnen.'));
  if (wasConnecting) focusIfLost(page.lobbyTitle);
}

/**
 * @param {unknown} peerList
 * @param {{admitted: boolean}} options
 */
function enterCall(peerList, { admitted }) {
  session.phase = 'call';
  waitingRoom.clear();
  for (const info of Array.isArray(peerList) ? peerList : []) {
    if (info && typeof info.id === 'string') createPeer(info);
  }
  render();
  sendMediaState({ onlyIfOff: true });
  refreshVerifiedPanel();
  let text = admitted ? t('U bent toegelaten. U bent nu in gesprek.') : t('U bent verbonden.');
  // (t() stays outside template literals: the extraction does not look inside them)
  if (remotes.size === 0) text += ' ' + t('Er is nog niemand anders in het gesprek.');
  announce(text);
  focusIfLost(controls.firstControl);
}

/** @param {ServerMessage} message */
function onLobby(message) {
  if (session.phase !== 'lobby') return;
  waitingRoom.update(message);
}

/** @param {ServerMessage} message */
function onLobbyUpdate(message) {
  if (session.role !== 'specialist') return;
  refreshVerifiedPanel();
  lobbyPanel.update(message.waiting);
}

/** @param {ServerMessage} message */
function onAdmitted(message) {
  if (session.phase === 'call') return;
  enterCall(message.peers, { admitted: true });
}

/** @param {ServerMessage} message */
function onDenied(message) {
  const note = typeof message.message === 'string' && message.message ? message.message : null;
  finish(t('De medewerker heeft u niet toegelaten.'), {
    detail: note ? t('Bericht van de medewerker: {note}', { note }) : null,
  });
}

/** @param {ServerMessage} message */
function onEnded(message) {
  // `by` names the ender's role or id; only this page knows whether it asked to end.
  const byMe = session.endRequested || (message.by !== undefined && message.by === session.participantId);
  finish(byMe ? t('U heeft het gesprek beëindigd voor iedereen.') : t('De medewerker heeft het gesprek beëindigd.'));
}

/** @param {ServerMessage} message */
function onServerError(message) {
  // (signal.js already took the refused message out of its outbox)
  console.warn('server refused a frame', message.code, message.message);
  const ref = Number.isInteger(message.ref) ? message.ref : null;
  if (message.code === 'room-full') {
    alert.show(t('Er kunnen niet meer mensen in het gesprek. Er doen al drie mensen mee.'));
  } else if (message.code === 'rate-limited') {
    alert.show(t('U stuurt te veel berichten tegelijk. Wacht even en probeer het opnieuw.'));
  } else if (ref !== null && message.code === 'bad-message') {
    alert.show(t('Dat lukte niet. Is uw bericht misschien te lang?'));
  }
  lobbyPanel.release();
}

// ---------------------------------------------------------------- peers

/** @param {{id: string, role?: unknown, polite?: unknown}} info */
function createPeer(info) {
  removePeer(info.id);
  const role = typeof info.role === 'string' ? info.role : '';
  const peer = new Peer({
    id: info.id,
    role,
    polite: info.polite === true,
    iceServers: session.iceServers,
    send,
    localStream: () => media.stream,
  });
  /** @type {Remote} */
  const remote = { peer, tile: new RemoteTile(page.tiles, role), away: false, media: { audio: true, video: true } };
  remotes.set(peer.id, remote);
  peer.on('track', ({ track, streams }) => remote.tile.showTrack(track, streams));
  peer.on('statechange', () => updateTile(remote));
  peer.on('connected', () => {
    announce(t('U bent in gesprek met {who}.', { who: roleInSentence(peer.role) }));
  });
  peer.start();
  render();
  return remote;
}

/** @param {Remote} remote */
function updateTile(remote) {
  remote.tile.update({ away: remote.away, connectionState: remote.peer.pc.connectionState, media: remote.media });
}

/** @param {unknown} peerList */
function reconcilePeers(peerList) {
  const list = Array.isArray(peerList) ? peerList : [];
  const ids = new Set(list.map((info) => info && info.id));
  for (const id of [...remotes.keys()]) {
    if (!ids.has(id)) removePeer(id);
  }
  for (const info of list) {
    if (info && typeof info.id === 'string' && !remotes.has(info.id)) createPeer(info);
  }
}

/** @param {string} id */
function removePeer(id) {
  const remote = remotes.get(id);
  if (!remote) return;
  remotes.delete(id);
  remote.peer.close();
  remote.tile.remove();
  render();
}

function closeAllPeers() {
  for (const id of [...remotes.keys()]) removePeer(id);
}

/** @param {ServerMessage} message */
function onPeerJoined(message) {
  const info = message.peer;
  if (session.phase !== 'call' || !info || typeof info.id !== 'string') return;
  // A peer that joins again starts with a new connection, so ours must be new too.
  createPeer(info);
  refreshVerifiedPanel();
  announce(t('{who} is in het gesprek gekomen.', { who: capitalise(roleInSentence(info.role)) }));
  sendMediaState({ onlyIfOff: true });
}

/** @param {ServerMessage} message */
function onPeerLeft(message) {
  const remote = remotes.get(message.id);
  if (!remote) return;
  removePeer(message.id);
  const who = roleInSentence(remote.peer.role);
  if (message.reason === 'timeout') {
    announce(t('De verbinding met {who} is verbroken.', { who }));
  } else if (message.reason !== 'replaced') {
    announce(t('{who} heeft het gesprek verlaten.', { who: capitalise(who) }));
  }
}

/**
 * @param {ServerMessage} message
 * @param {boolean} away
 */
function onPeerPresence(message, away) {
  const remote = remotes.get(message.id);
  if (!remote) return;
  remote.away = away;
  updateTile(remote);
  const who = roleInSentence(remote.peer.role);
  announce(away
    ? t('De verbinding van {who} is even weg. We wachten op {who}.', { who })
    : t('{who} is weer verbonden.', { who: capitalise(who) }));
}

/** @param {ServerMessage} message */
function onMedia(message) {
  const remote = remotes.get(message.from);
  if (!remote) return;
  remote.media = { audio: message.audio !== false, video: message.video !== false };
  updateTile(remote);
}

// ---------------------------------------------------------------- identity

function onVerifyRequested() {
  if (session.role !== 'resident' || identityStep.active) return;
  fetchVerification(room ?? '', roomToken ?? '').then((state) => identityStep.start(state), (error) => {
    alert.show(problemText(error, t('De medewerker vraagt u opnieuw te laten zien wie u bent. Dat lukt nu niet.')));
  });
}

function refreshVerifiedPanel() {
  if (session.role !== 'specialist' || !room) return Promise.resolve();
  return verifiedPanel.refresh();
}

// ---------------------------------------------------------------- joining, leaving and ending

/** Forget the seat: the next connect joins with the token. */
function resetSeat() {
  closeAllPeers();
  signal.resetSeat();
  session.participantId = null;
  session.phase = 'connecting';
}

/**
 * @param {string} text
 * @param {{detail?: string | null, rejoin?: boolean}} [options]
 */
function finish(text, { detail = null, rejoin = false } = {}) {
  if (session.phase === 'finished') return;
  session.phase = 'finished';
  signal.stop();
  clearTimeout(session.endTimer);
  closeAllPeers();
  // The camera light must go out as soon as the call is over.
  stopLocalMedia();
  controls.closeDialog();
  chat.close();
  page.finishedText.textContent = text;
  page.finishedDetail.textContent = detail ?? '';
  page.finishedDetail.hidden = !detail;
  page.rejoinBtn.hidden = !(rejoin && roomToken);
  // Residents may rate the call: the form posts the room token from memory, never in a URL.
  const feedback = session.role === 'resident' && Boolean(roomToken) && Boolean(room);
  page.feedbackForm.hidden = !feedback;
  if (feedback) {
    page.feedbackForm.action = `/feedback/${encodeURIComponent(room ?? '')}`;
    page.feedbackToken.value = roomToken ?? '';
  }
  alert.clear();
  render();
  announce(text);
  // The controls just disappeared; give keyboard and screen reader users a place to land.
  page.finishedTitle.focus();
}

function leave() {
  if (session.phase === 'finished') return;
  if (signal.connected) send({ type: 'leave' });
  finish(session.phase === 'lobby' ? t('U heeft de wachtkamer verlaten.') : t('U heeft het gesprek verlaten.'), {
    detail: t('U kunt dit venster nu sluiten.'),
    rejoin: true,
  });
}

function endForEveryone() {
  if (session.phase !== 'call' || session.role !== 'specialist') return;
  session.endRequested = true;
  send({ type: 'end' });
  announce(t('Het gesprek wordt beëindigd…'));
  session.endTimer = setTimeout(() => finish(t('U heeft het gesprek beëindigd voor iedereen.')), END_CONFIRM_MS);
}

async function join() {
  if (!roomToken || !room || session.phase !== 'prejoin' || identityStep.active) return;
  alert.clear();
  page.joinBtn.disabled = true;
  let state;
  try {
    state = await fetchVerification(room, roomToken);
  } catch (error) {
    page.joinBtn.disabled = false;
    alert.show(problemText(error, t('Het lukt nu niet om deel te nemen. Probeer het over een minuut opnieuw.')));
    return;
  }
  page.joinBtn.disabled = false;
  if (state.role === 'resident' && state.required && !state.verified) {
    identityStep.start(state);
    return;
  }
  connectToRoom();
}

function connectToRoom() {
  session.phase = 'connecting';
  render();
  announce(t('Verbinding maken…'));
  signal.start();
}

function retryNow() {
  if (session.phase === 'finished' || signal.socket) return;
  alert.clear();
  announce(t('Verbinding maken…'));
  signal.retryNow();
}

async function rejoin() {
  resetSeat();
  session.phase = 'prejoin';
  media.audioOn = true;
  media.videoOn = true;
  page.rejoinBtn.hidden = true;
  render();
  page.joinBtn.focus();
  await startLocalMedia();
  checkNetwork();
}

function checkNetwork() {
  if (roomToken === null || !room) return;
  checkConnection(room, roomToken).then((verdict) => {
    deviceCheck.showNetwork(verdict.text);
    // for the browser tests: the verdict, its timing and candidate types (no addresses)
    session.connectionVerdict = Object.freeze({ level: verdict.level, candidates: verdict.candidates });
  });
}

// ---------------------------------------------------------------- wiring

if (page.languageForm instanceof HTMLFormElement) {
  keepTokenOnLanguageSwitch(page.languageForm, { token: roomToken, showAlert });
}
page.joinBtn.addEventListener('click', () => {
  join();
});
page.mediaRetryBtn.addEventListener('click', () => {
  startLocalMedia();
  checkNetwork();
});
page.reconnectBtn.addEventListener('click', retryNow);
page.rejoinBtn.addEventListener('click', () => {
  rejoin();
});

window.addEventListener('online', () => {
  // The network is back: skip the rest of the backoff wait.
  signal.skipBackoff();
});
window.addEventListener('pagehide', () => {
  // Tell the others at once instead of letting them wait for the resume grace period.
  if (signal.connected && (session.phase === 'call' || session.phase === 'lobby')) {
    send({ type: 'leave' });
  }
});

// Read-only hooks for the browser tests. Ids are random seat ids; no names,
// tokens or session ids are exposed.
Object.defineProperty(window, 'balie', {
  value: Object.freeze({
    get pcs() {
      return new Map([...remotes].map(([id, remote]) => [id, remote.peer.pc]));
    },
    get state() {
      const { audio, video } = media.sending;
      return Object.freeze({
        phase: session.phase,
        connected: signal.connected,
        role: session.role,
        participantId: session.participantId,
        lastSeq: signal.lastSeq,
        clientSeq: signal.clientSeq,
        pendingMessages: signal.pendingMessages,
        reconnectAttempt: signal.reconnectAttempt,
        audio,
        video,
        peers: [...remotes.values()].map(({ peer, away }) => ({
          id: peer.id,
          role: peer.role,
          polite: peer.polite,
          away,
          connectionState: peer.pc.connectionState,
          iceConnectionState: peer.pc.iceConnectionState,
          iceGatheringState: peer.pc.iceGatheringState,
          signalingState: peer.pc.signalingState,
        })),
        waiting: lobbyPanel.ids,
      });
    },
    get ws() {
      return signal.socket;
    },
    get verifying() {
      return identityStep.active;
    },
    get connectionVerdict() {
      return session.connectionVerdict;
    },
  }),
  writable: false,
  configurable: false,
  enumerable: false,
});

render();
showLocalMedia();
if (roomToken === null) {
  alert.show(t('Deze link is niet compleet. Open de link uit uw e-mail of sms opnieuw.'));
  announce(t('U kunt nog niet deelnemen.'));
} else {
  announce(t('Controleer uw camera en microfoon.'));
}
startLocalMedia();
checkNetwork();
