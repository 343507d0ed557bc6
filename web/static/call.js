// Balie call page: camera preview, signalling over /ws (docs/signaling.md) and
// a small peer-to-peer mesh (at most three people) with perfect negotiation.
// Plain ES2020 module without dependencies, so the page works under a strict CSP.

import { checkConnection, playTestTone, watchMicrophone } from './devicecheck.js';
import { ApiProblem, fetchVerification, requestRenewal, reveal, verifyWithYivi } from './identity.js';
import { LANGUAGE, t } from './texts.js';

const ROLE_LABEL = {
  resident: t('Inwoner'),
  specialist: t('Medewerker'),
  guest: t('Tolk of collega'),
};
// Lower-case forms for use inside a sentence ("De verbinding van de inwoner…").
const ROLE_IN_SENTENCE = {
  resident: t('de inwoner'),
  specialist: t('de medewerker'),
  guest: t('de tolk of collega'),
};
// Times of day in the page's language (chat, verified panel).
const TIME_LOCALE = LANGUAGE === 'en' ? 'en-GB' : 'nl-NL';

// Reconnect schedule from docs/signaling.md (LiveKit's default policy).
const BACKOFF_MS = [0, 300, 1200, 2700, 4800];
const BACKOFF_TAIL_MS = 7000;
const BACKOFF_JITTER_MS = 1000;
const MAX_RECONNECT_ATTEMPTS = 10;
const PING_INTERVAL_MS = 10000;
// A socket that opens but never answers join/resume (a broken proxy) must not
// leave the page waiting forever.
const HANDSHAKE_TIMEOUT_MS = 15000;
// The server answers every ping; 2.5 missed answers means the socket is dead even
// if the browser has not noticed yet (a half-open TCP connection can take minutes).
const DEAD_SOCKET_MS = 25000;
// Unacknowledged own messages kept for resending after a resume. The server keeps
// 256 messages per participant; keeping more than that on our side costs nothing.
const OUTBOX_LIMIT = 512;
const CHAT_MAX = 2000;
const NOTE_MAX = 500;
// The specialist's default note travels as this Dutch text; the resident's page shows
// it in the resident's language (holdNoteText).
const DEFAULT_HOLD_MESSAGE = 'Even geduld alstublieft. U bent zo aan de beurt.';

// Close codes after which reconnecting cannot help (docs/signaling.md, "Close codes").
const FINAL_CLOSE = new Map([
  [1000, t('Het gesprek is gestopt.')],
  [1007, t('Er ging iets mis met de verbinding. Open de link opnieuw.')],
  [1009, t('Er ging iets mis met de verbinding. Open de link opnieuw.')],
  [4400, t('Er ging iets mis met de verbinding. Open de link opnieuw.')],
  [4401, t('Deze link werkt niet. Misschien is de link verlopen. Vraag de gemeente om een nieuwe link.')],
  [4403, t('De medewerker heeft u niet toegelaten.')],
  [4409, t('U heeft het gesprek in een ander venster of tabblad geopend. Dit venster doet niet meer mee.')],
  [4410, t('Het gesprek is beëindigd.')],
]);

const $ = (id) => document.getElementById(id);
const ui = {
  status: $('status'),
  alert: $('alert'),
  alertActions: $('alert-actions'),
  reconnectBtn: $('reconnect-btn'),
  prejoin: $('prejoin'),
  joinBtn: $('join-btn'),
  mediaRetryBtn: $('media-retry-btn'),
  lobby: $('lobby'),
  lobbyTitle: $('lobby-title'),
  lobbyPosition: $('lobby-position'),
  lobbyHold: $('lobby-hold'),
  lobbyHoldText: $('lobby-hold-text'),
  finished: $('finished'),
  finishedTitle: $('finished-title'),
  finishedText: $('finished-text'),
  finishedDetail: $('finished-detail'),
  feedbackForm: $('feedback-form'),
  feedbackToken: $('feedback-token'),
  rejoinBtn: $('rejoin-btn'),
  stage: $('stage'),
  tiles: $('tiles'),
  selfVideo: $('self-video'),
  selfState: $('self-state'),
  aloneNote: $('alone-note'),
  lobbyPanel: $('lobby-panel'),
  lobbyPanelTitle: $('lobby-panel-title'),
  lobbyEmpty: $('lobby-empty'),
  lobbyList: $('lobby-list'),
  chatPanel: $('chat-panel'),
  chatTitle: $('chat-title'),
  chatLog: $('chat-log'),
  chatList: $('chat-list'),
  chatForm: $('chat-form'),
  chatInput: $('chat-input'),
  controls: $('controls'),
  micBtn: $('mic-btn'),
  camBtn: $('cam-btn'),
  chatBtn: $('chat-btn'),
  chatUnread: $('chat-unread'),
  leaveBtn: $('leave-btn'),
  endBtn: $('end-btn'),
  endDialog: $('end-dialog'),
  endConfirm: $('end-confirm'),
  endCancel: $('end-cancel'),
  verify: $('verify'),
  verifyTitle: $('verify-title'),
  verifyAttributes: $('verify-attributes'),
  verifyDemo: $('verify-demo'),
  verifyDemoLink: $('verify-demo-link'),
  verifyRetry: $('verify-retry'),
  verifiedPanel: $('verified-panel'),
  verifiedEmpty: $('verified-empty'),
  verifiedList: $('verified-list'),
  verifiedMeta: $('verified-meta'),
  verifiedRenew: $('verified-renew'),
  soundBtn: $('sound-btn'),
  soundAnswer: $('sound-answer'),
  soundYes: $('sound-yes'),
  soundNo: $('sound-no'),
  checkSound: $('check-sound'),
  checkCamera: $('check-camera'),
  checkMic: $('check-mic'),
  micLevel: $('mic-level'),
  checkNetwork: $('check-network'),
  languageChoice: $('language-choice'),
  languageForm: document.querySelector('#language-choice form'),
};

// The token leaves the address bar at once, so it cannot end up in bookmarks,
// screenshots or the history. It lives only in this variable, never in storage.
const roomToken = takeTokenFromFragment();
const roomFromPath = readRoomFromPath();
const room = roomFromPath ?? roomFromToken(roomToken);

const session = {
  phase: 'prejoin', // prejoin | connecting | lobby | call | finished
  verifying: false, // the identity step is on screen (before the lobby, or when asked again)
  connected: false, // true between joined/resumed and the socket closing
  role: null,
  participantId: null,
  sessionId: null, // only in memory: it lets this page (and nothing else) resume the seat
  iceServers: [],
  lastSeq: 0, // highest server seq processed
  clientSeq: 0, // last seq given to one of our own messages
  outbox: [], // own numbered messages the server may not have processed yet
  ws: null,
  reconnectAttempt: 0,
  reconnectTimer: null,
  pingTimer: null,
  handshakeTimer: null,
  lastHeardAt: 0,
  endTimer: null,
  endRequested: false,
  audioOn: true,
  videoOn: true,
  chatOpen: false,
  unread: 0,
};

/** @type {MediaStream | null} */
let localStream = null;
/** peer id -> per-peer negotiation state, see createPeer */
const peers = new Map();
/** waiting participant id -> lobby panel entry (specialists only) */
const waitingItems = new Map();
let waitingCounter = 0;

// Negotiation steps go to the console at debug level: invisible to users, but a
// failing browser test can show what each side did. Never log SDP or candidates:
// they contain IP addresses.
function trace(peer, step) {
  console.debug(`[balie] ${peer.id.slice(0, 6)} ${step} signaling=${peer.pc.signalingState} `
    + `ice=${peer.pc.iceConnectionState} gathering=${peer.pc.iceGatheringState}`);
}

function takeTokenFromFragment() {
  const fragment = window.location.hash.replace(/^#/, '');
  const token = new URLSearchParams(fragment).get('token');
  if (window.location.hash) {
    window.history.replaceState(null, '', window.location.pathname + window.location.search);
  }
  return token && token.length > 0 ? token : null;
}

// The room is also inside the token; reading it (without trusting it: the server
// checks the signature) lets a link without the room in its path still work.
function roomFromToken(token) {
  try {
    const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(atob(payload));
    return typeof claims.room === 'string' ? claims.room : null;
  } catch {
    return null;
  }
}

function readRoomFromPath() {
  const match = /^\/call\/([A-Za-z0-9_-]{1,64})\/?$/.exec(window.location.pathname);
  return match ? match[1] : null;
}

// ---------------------------------------------------------------- messages

function announce(text) {
  // Screen readers skip a live region whose text did not change; clear it first
  // so a repeated message ("De verbinding is hersteld.") is read again.
  if (ui.status.textContent === text) {
    ui.status.textContent = '';
    window.setTimeout(() => {
      ui.status.textContent = text;
    }, 50);
  } else {
    ui.status.textContent = text;
  }
}

function showAlert(text, { retry = false } = {}) {
  ui.alert.textContent = text;
  ui.alertActions.hidden = !retry;
}

function clearAlert() {
  ui.alert.textContent = '';
  ui.alertActions.hidden = true;
}

function roleLabel(role) {
  return ROLE_LABEL[role] ?? t('Deelnemer');
}

function roleInSentence(role) {
  return ROLE_IN_SENTENCE[role] ?? t('een deelnemer');
}

function capitalise(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

// ---------------------------------------------------------------- local media

function mediaAdvice(error, { gotAudio = false, gotVideo = false } = {}) {
  if (gotAudio && !gotVideo) {
    return t('We vinden geen camera. De medewerker hoort u wel, maar ziet u niet.');
  }
  if (gotVideo && !gotAudio) {
    return t('We vinden geen microfoon. De medewerker ziet u wel, maar hoort u niet. U kunt de chat gebruiken.');
  }
  const name = error && typeof error.name === 'string' ? error.name : '';
  if (name === 'NotAllowedError' || name === 'SecurityError' || name === 'PermissionDeniedError') {
    return t('U heeft de camera en microfoon niet toegestaan. Klik in de adresbalk op het slotje of op het camera-icoon. '
      + 'Kies bij camera en microfoon voor "Toestaan". Klik daarna op "Camera en microfoon opnieuw proberen". '
      + 'U kunt ook zo deelnemen, maar dan ziet en hoort de medewerker u niet.');
  }
  if (name === 'NotFoundError' || name === 'DevicesNotFoundError' || name === 'OverconstrainedError') {
    return t('We vinden geen camera en geen microfoon. Sluit een camera of headset aan. '
      + 'Klik daarna op "Camera en microfoon opnieuw proberen".');
  }
  if (name === 'NotReadableError' || name === 'TrackStartError' || name === 'AbortError') {
    return t('Uw camera of microfoon doet het nu niet. Misschien gebruikt een ander programma hem. '
      + 'Sluit dat programma. Klik daarna op "Camera en microfoon opnieuw proberen".');
  }
  return t('Uw camera of microfoon werkt niet. Probeer het opnieuw, of gebruik een ander apparaat.');
}

async function tryGetUserMedia(constraints) {
  try {
    return { stream: await navigator.mediaDevices.getUserMedia(constraints), error: null };
  } catch (error) {
    return { stream: null, error };
  }
}

async function startLocalMedia() {
  stopLocalMedia();
  ui.joinBtn.disabled = true;
  ui.mediaRetryBtn.hidden = true;
  if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    showAlert(t('Deze browser kan uw camera niet gebruiken. Gebruik een nieuwe versie van Chrome, Edge, Firefox of Safari.'));
    ui.joinBtn.disabled = roomToken === null;
    return;
  }
  announce(t('We vragen toegang tot uw camera en microfoon.'));
  const video = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 24 } };
  const audio = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
  let { stream, error } = await tryGetUserMedia({ audio, video });
  let advice = null;
  if (!stream && error && error.name !== 'NotAllowedError' && error.name !== 'SecurityError') {
    // One missing device should not cost the other: a laptop without a camera can still talk.
    const audioOnly = await tryGetUserMedia({ audio, video: false });
    const videoOnly = audioOnly.stream ? { stream: null } : await tryGetUserMedia({ audio: false, video });
    stream = audioOnly.stream ?? videoOnly.stream;
    if (stream) {
      advice = mediaAdvice(error, { gotAudio: Boolean(audioOnly.stream), gotVideo: Boolean(videoOnly.stream) });
    }
  }
  showDeviceChecks(stream);
  if (stream) {
    localStream = stream;
    ui.selfVideo.srcObject = stream;
    ui.selfVideo.play().catch(() => {});
    if (advice) {
      showAlert(advice);
      ui.mediaRetryBtn.hidden = false;
    } else {
      clearAlert();
    }
    applyLocalMediaState();
    announce(roomToken
      ? t('Uw camera en microfoon zijn klaar. Klik op "Deelnemen".')
      : t('Uw camera en microfoon zijn klaar.'));
  } else {
    showAlert(mediaAdvice(error));
    ui.mediaRetryBtn.hidden = false;
    announce(t('Uw camera en microfoon zijn niet beschikbaar.'));
    applyLocalMediaState();
  }
  ui.joinBtn.disabled = roomToken === null;
  if (roomToken === null) {
    showAlert(t('Deze link is niet compleet. Open de link uit uw e-mail of sms opnieuw.'));
  }
}

// The microphone's level meter, while the device check is on screen.
let microphoneMeter = null;

function stopMicrophoneMeter() {
  if (microphoneMeter) microphoneMeter();
  microphoneMeter = null;
}

// The camera and microphone lines of the device check.
function showDeviceChecks(stream) {
  const hasVideo = Boolean(stream && stream.getVideoTracks().length);
  const hasAudio = Boolean(stream && stream.getAudioTracks().length);
  const missing = t('Werkt niet. Lees de melding bovenaan de pagina.');
  ui.checkCamera.textContent = hasVideo ? t('Goed. U ziet uzelf in het beeld.') : missing;
  ui.checkMic.textContent = hasAudio ? t('Goed. Zeg iets: de balk beweegt als we u horen.') : missing;
  stopMicrophoneMeter();
  ui.micLevel.hidden = !hasAudio;
  if (hasAudio) {
    microphoneMeter = watchMicrophone(stream, (level) => { ui.micLevel.value = level; });
  }
}

function stopLocalMedia() {
  stopMicrophoneMeter();
  if (localStream) {
    for (const track of localStream.getTracks()) track.stop();
  }
  localStream = null;
  ui.selfVideo.srcObject = null;
}

function localTrack(kind) {
  return localStream ? localStream.getTracks().find((track) => track.kind === kind) ?? null : null;
}

function applyLocalMediaState() {
  const audioTrack = localTrack('audio');
  const videoTrack = localTrack('video');
  // Disabling (not removing) the track keeps the sender, so turning it back on
  // needs no renegotiation.
  if (audioTrack) audioTrack.enabled = session.audioOn;
  if (videoTrack) videoTrack.enabled = session.videoOn;
  ui.micBtn.disabled = audioTrack === null;
  ui.camBtn.disabled = videoTrack === null;
  ui.micBtn.setAttribute('aria-pressed', String(!session.audioOn || audioTrack === null));
  ui.camBtn.setAttribute('aria-pressed', String(!session.videoOn || videoTrack === null));
  const notes = [];
  if (!session.audioOn || audioTrack === null) notes.push(t('microfoon uit'));
  if (!session.videoOn || videoTrack === null) notes.push(t('camera uit'));
  ui.selfState.textContent = notes.length ? `(${notes.join(', ')})` : '';
}

function effectiveMedia() {
  return {
    audio: session.audioOn && localTrack('audio') !== null,
    video: session.videoOn && localTrack('video') !== null,
  };
}

function sendMediaState({ onlyIfOff = false } = {}) {
  if (session.phase !== 'call') return;
  const media = effectiveMedia();
  if (onlyIfOff && media.audio && media.video) return;
  send({ type: 'media', audio: media.audio, video: media.video });
}

// ---------------------------------------------------------------- screen state

function render() {
  const { phase } = session;
  const inCall = phase === 'call';
  const specialist = session.role === 'specialist';
  ui.prejoin.hidden = phase !== 'prejoin' || session.verifying;
  // the level meter runs only while the device check is on screen
  if (ui.prejoin.hidden) stopMicrophoneMeter();
  ui.verify.hidden = !session.verifying || phase === 'finished';
  ui.verifiedPanel.hidden = !(inCall && specialist);
  ui.lobby.hidden = phase !== 'lobby';
  ui.finished.hidden = phase !== 'finished';
  ui.stage.hidden = phase === 'finished';
  ui.controls.hidden = !(phase === 'lobby' || inCall);
  ui.chatBtn.hidden = !inCall;
  ui.chatPanel.hidden = !(inCall && session.chatOpen);
  ui.lobbyPanel.hidden = !(inCall && specialist);
  ui.endBtn.hidden = !(inCall && specialist);
  ui.leaveBtn.textContent = phase === 'lobby' ? t('Wachtkamer verlaten') : t('Ophangen');
  // Switching the language reloads the page: offered only before joining.
  if (ui.languageChoice) ui.languageChoice.hidden = phase !== 'prejoin' || session.verifying;
  ui.aloneNote.hidden = !(inCall && peers.size === 0);
}

function focusIfLost(element) {
  const active = document.activeElement;
  if (!active || active === document.body || active.closest('[hidden]')) element.focus();
}

// ---------------------------------------------------------------- websocket

function socketUrl() {
  const url = new URL('/ws', window.location.href);
  url.protocol = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  url.hash = '';
  url.search = '';
  return url.href;
}

function connect() {
  window.clearTimeout(session.reconnectTimer);
  session.reconnectTimer = null;
  let ws;
  try {
    ws = new WebSocket(socketUrl());
  } catch (error) {
    console.warn('WebSocket could not be created', error);
    scheduleReconnect();
    return;
  }
  session.ws = ws;
  session.connected = false;
  ws.addEventListener('open', () => {
    if (session.ws !== ws) return;
    session.lastHeardAt = Date.now();
    window.clearTimeout(session.handshakeTimer);
    session.handshakeTimer = window.setTimeout(() => {
      if (session.ws === ws && !session.connected) abandonSocket();
    }, HANDSHAKE_TIMEOUT_MS);
    if (session.sessionId) {
      rawSend({ type: 'resume', session_id: session.sessionId, last_seq: session.lastSeq });
    } else {
      const join = { type: 'join', token: roomToken };
      // The server checks that the link's room and the token's room agree.
      if (roomFromPath) join.room = roomFromPath;
      rawSend(join);
    }
  });
  ws.addEventListener('message', (event) => {
    if (session.ws !== ws) return;
    session.lastHeardAt = Date.now();
    onFrame(event.data);
  });
  ws.addEventListener('close', (event) => {
    if (session.ws !== ws) return;
    onSocketClosed(event.code);
  });
}

function rawSend(message) {
  const ws = session.ws;
  if (!ws || ws.readyState !== WebSocket.OPEN) return false;
  ws.send(JSON.stringify(message));
  return true;
}

// Numbered send: the message stays in the outbox until a join/resume tells us the
// server processed it, and is sent again after a resume otherwise.
function send(message) {
  session.clientSeq += 1;
  const frame = { ...message, seq: session.clientSeq };
  session.outbox.push(frame);
  if (session.outbox.length > OUTBOX_LIMIT) session.outbox.shift();
  if (session.connected) rawSend(frame);
  return frame.seq;
}

function acknowledge(lastClientSeq) {
  const acked = Number.isInteger(lastClientSeq) ? lastClientSeq : 0;
  session.outbox = session.outbox.filter((frame) => frame.seq > acked);
}

function startPing() {
  window.clearTimeout(session.handshakeTimer);
  window.clearInterval(session.pingTimer);
  session.pingTimer = window.setInterval(() => {
    if (Date.now() - session.lastHeardAt > DEAD_SOCKET_MS) {
      abandonSocket();
      return;
    }
    rawSend({ type: 'ping', ts: Date.now() });
  }, PING_INTERVAL_MS);
}

function stopPing() {
  window.clearTimeout(session.handshakeTimer);
  window.clearInterval(session.pingTimer);
  session.pingTimer = null;
}

// A silent socket may take minutes to report its death; stop listening to it and
// reconnect now. The seat on the server is held for the resume grace period.
function abandonSocket() {
  const ws = session.ws;
  session.ws = null;
  if (ws) {
    try {
      ws.close(4000, 'no answer');
    } catch (error) {
      console.warn('closing a dead socket failed', error);
    }
  }
  onSocketClosed(4000);
}

function onSocketClosed(code) {
  session.ws = null;
  session.connected = false;
  stopPing();
  if (session.phase === 'finished' || session.phase === 'prejoin') return;
  if (code === 4412) {
    // The server wants proof of identity first (or again): back to that step.
    resetSeat();
    session.phase = 'prejoin';
    render();
    fetchVerification(room, roomToken).then(startVerification, (error) => {
      showAlert(problemText(error, t('Het lukt nu niet om deel te nemen. Probeer het over een minuut opnieuw.')));
    });
    return;
  }
  if (code === 4404) {
    // The seat expired while we were away: start over with the token from memory.
    // The others already closed their connections to the old seat.
    resetSeat();
    render();
    announce(t('De verbinding was te lang weg. We melden u opnieuw aan.'));
    connect();
    return;
  }
  if (FINAL_CLOSE.has(code)) {
    finish(FINAL_CLOSE.get(code), { rejoin: code === 1000 || code === 4409 });
    return;
  }
  scheduleReconnect({ slow: code === 4429 });
}

function scheduleReconnect({ slow = false } = {}) {
  if (session.reconnectAttempt >= MAX_RECONNECT_ATTEMPTS) {
    announce(t('Er is geen verbinding.'));
    showAlert(t('Het lukt niet om verbinding te maken. Controleer uw internet. Klik daarna op "Opnieuw verbinden".'), {
      retry: true,
    });
    return;
  }
  // A rate-limited client starts further down the schedule so it does not hit the limit again.
  const attempt = slow ? Math.max(session.reconnectAttempt, 3) : session.reconnectAttempt;
  const delay = attempt < BACKOFF_MS.length
    ? BACKOFF_MS[attempt]
    : BACKOFF_TAIL_MS + Math.random() * BACKOFF_JITTER_MS;
  if (session.reconnectAttempt === 0) {
    announce(session.sessionId ? t('De verbinding is even weg. We proberen het opnieuw.') : t('Verbinding maken…'));
  }
  session.reconnectAttempt += 1;
  session.reconnectTimer = window.setTimeout(connect, delay);
}

function retryNow() {
  if (session.phase === 'finished' || session.ws) return;
  clearAlert();
  session.reconnectAttempt = 0;
  announce(t('Verbinding maken…'));
  connect();
}

// ---------------------------------------------------------------- incoming frames

function onFrame(data) {
  if (typeof data !== 'string') return;
  let message;
  try {
    message = JSON.parse(data);
  } catch {
    console.warn('ignoring a frame that is not JSON');
    return;
  }
  if (!message || typeof message !== 'object' || typeof message.type !== 'string') return;
  const { type } = message;
  const seq = Number.isInteger(message.seq) ? message.seq : null;
  if (type === 'joined') {
    onJoined(message);
    return;
  }
  if (type === 'resumed') {
    onResumed(message);
    return;
  }
  // A replay after resume can overlap what we already handled.
  if (seq !== null) {
    if (seq <= session.lastSeq) return;
    session.lastSeq = seq;
  }
  const handler = HANDLERS[type];
  if (handler) {
    handler(message);
  } else {
    console.warn('unknown message type', type);
  }
}

const HANDLERS = {
  lobby: onLobby,
  'lobby-update': onLobbyUpdate,
  admitted: onAdmitted,
  denied: onDenied,
  'peer-joined': onPeerJoined,
  'peer-left': onPeerLeft,
  'peer-away': (message) => onPeerPresence(message, true),
  'peer-back': (message) => onPeerPresence(message, false),
  description: onDescriptionMessage,
  candidate: onCandidateMessage,
  media: onMedia,
  chat: onChat,
  ended: onEnded,
  verify: onVerifyRequested,
  verified: () => refreshVerifiedPanel(),
  pong: () => {},
  error: onServerError,
};

function onJoined(message) {
  // A join starts a fresh seat: server and client counters both start over.
  closeAllPeers();
  session.sessionId = typeof message.session_id === 'string' ? message.session_id : null;
  session.participantId = message.participant_id;
  session.role = message.role;
  session.iceServers = Array.isArray(message.ice_servers) ? message.ice_servers : [];
  session.lastSeq = Number.isInteger(message.seq) ? message.seq : 0;
  session.outbox = [];
  session.clientSeq = Number.isInteger(message.last_client_seq) ? message.last_client_seq : 0;
  session.connected = true;
  session.reconnectAttempt = 0;
  clearAlert();
  startPing();
  if (message.state === 'call') {
    enterCall(message.peers, { admitted: false });
  } else {
    enterLobby();
  }
}

function onResumed(message) {
  session.connected = true;
  session.reconnectAttempt = 0;
  clearAlert();
  startPing();
  if (message.resync === true && Number.isInteger(message.seq)) {
    // Nothing is replayed after a resync, so nothing older can still arrive.
    session.lastSeq = Math.max(session.lastSeq, message.seq);
  }
  acknowledge(message.last_client_seq);
  for (const frame of session.outbox) rawSend(frame);
  if (message.resync === true) {
    // Messages were lost, so our picture of the room may be stale: rebuild it
    // from the server's list and renegotiate every connection.
    if (message.state === 'call') {
      if (session.phase !== 'call') enterCall(message.peers, { admitted: true });
      reconcilePeers(message.peers);
      for (const peer of peers.values()) restartNegotiation(peer);
    } else if (message.state === 'lobby' && session.phase !== 'lobby') {
      closeAllPeers();
      enterLobby();
    }
  }
  announce(session.phase === 'lobby'
    ? t('De verbinding is hersteld. U bent nog in de wachtkamer.')
    : t('De verbinding is hersteld.'));
}

function enterLobby() {
  const wasConnecting = session.phase === 'connecting';
  session.phase = 'lobby';
  render();
  announce(t('U bent in de wachtkamer. De medewerker laat u zo binnen.'));
  if (wasConnecting) focusIfLost(ui.lobbyTitle);
}

function enterCall(peerList, { admitted }) {
  session.phase = 'call';
  ui.lobbyHold.hidden = true;
  ui.lobbyPosition.hidden = true;
  for (const info of Array.isArray(peerList) ? peerList : []) {
    if (info && typeof info.id === 'string') createPeer(info);
  }
  render();
  sendMediaState({ onlyIfOff: true });
  refreshVerifiedPanel();
  let text = admitted ? t('U bent toegelaten. U bent nu in gesprek.') : t('U bent verbonden.');
  // (t() stays outside template literals: the extraction does not look inside them)
  if (peers.size === 0) text += ' ' + t('Er is nog niemand anders in het gesprek.');
  announce(text);
  focusIfLost(ui.micBtn.disabled ? ui.leaveBtn : ui.micBtn);
}

function onLobby(message) {
  if (session.phase !== 'lobby') return;
  const position = Number.isInteger(message.position) ? message.position : null;
  ui.lobbyPosition.hidden = position === null || position < 1;
  if (position !== null && position > 0) {
    ui.lobbyPosition.textContent = position === 1
      ? t('U bent de eerste in de wachtrij.')
      : t('U bent nummer {position} in de wachtrij.', { position });
  }
  const note = typeof message.message === 'string' ? holdNoteText(message.message) : '';
  if (message.state === 'on-hold' && note) {
    ui.lobbyHoldText.textContent = note;
    ui.lobbyHold.hidden = false;
    announce(t('De medewerker heeft een bericht voor u: {note}', { note }));
  } else {
    ui.lobbyHold.hidden = true;
  }
}

function holdNoteText(note) {
  return note === DEFAULT_HOLD_MESSAGE ? t('Even geduld alstublieft. U bent zo aan de beurt.') : note;
}

function onAdmitted(message) {
  if (session.phase === 'call') return;
  enterCall(message.peers, { admitted: true });
}

function onDenied(message) {
  const note = typeof message.message === 'string' && message.message ? message.message : null;
  finish(t('De medewerker heeft u niet toegelaten.'), {
    detail: note ? t('Bericht van de medewerker: {note}', { note }) : null,
  });
}

function onEnded(message) {
  // `by` names the ender's role or id; only this page knows whether it asked to end.
  const byMe = session.endRequested || (message.by !== undefined && message.by === session.participantId);
  finish(byMe ? t('U heeft het gesprek beëindigd voor iedereen.') : t('De medewerker heeft het gesprek beëindigd.'));
}

function onServerError(message) {
  console.warn('server refused a frame', message.code, message.message);
  const ref = Number.isInteger(message.ref) ? message.ref : null;
  if (ref !== null) session.outbox = session.outbox.filter((frame) => frame.seq !== ref);
  if (message.code === 'room-full') {
    showAlert(t('Er kunnen niet meer mensen in het gesprek. Er doen al drie mensen mee.'));
  } else if (message.code === 'rate-limited') {
    showAlert(t('U stuurt te veel berichten tegelijk. Wacht even en probeer het opnieuw.'));
  } else if (ref !== null && message.code === 'bad-message') {
    showAlert(t('Dat lukte niet. Is uw bericht misschien te lang?'));
  }
  for (const item of waitingItems.values()) setWaitingBusy(item, false);
}

// ---------------------------------------------------------------- peers

function createPeer(info) {
  removePeer(info.id);
  let pc;
  try {
    pc = new RTCPeerConnection({ iceServers: session.iceServers });
  } catch (error) {
    // A malformed ICE server entry must not cost the call; direct connections may still work.
    console.warn('ICE servers refused, trying without them', error);
    pc = new RTCPeerConnection();
  }
  const peer = {
    id: info.id,
    role: info.role,
    polite: info.polite === true,
    pc,
    makingOffer: false,
    ignoreOffer: false,
    settingRemoteAnswer: false,
    // settles when our current offer has been set and sent
    offerInFlight: Promise.resolve(),
    // Incoming descriptions and candidates for one peer are handled strictly in order.
    queue: Promise.resolve(),
    stream: new MediaStream(),
    media: { audio: true, video: true },
    away: false,
    // whether our camera and microphone are attached to this connection yet
    mediaAttached: false,
    announcedConnected: false,
    tile: null,
  };
  peers.set(peer.id, peer);
  peer.tile = createTile(peer);

  pc.addEventListener('track', (event) => {
    const video = peer.tile.video;
    const stream = event.streams[0] ?? peer.stream;
    if (stream === peer.stream && !peer.stream.getTracks().includes(event.track)) {
      peer.stream.addTrack(event.track);
    }
    if (video.srcObject !== stream) video.srcObject = stream;
    video.play().catch(() => {});
  });
  pc.addEventListener('icecandidate', ({ candidate }) => {
    if (!candidate) trace(peer, 'end of own candidates');
    if (candidate && !candidate.candidate) return; // legacy per-m-line end marker
    send({ type: 'candidate', to: peer.id, candidate: candidate ? candidateToWire(candidate) : null });
  });
  pc.addEventListener('negotiationneeded', async () => {
    let offerDone = () => {};
    peer.offerInFlight = new Promise((resolve) => {
      offerDone = resolve;
    });
    try {
      peer.makingOffer = true;
      trace(peer, 'negotiationneeded');
      await pc.setLocalDescription();
      trace(peer, `sending ${pc.localDescription?.type}`);
      sendLocalDescription(peer);
    } catch (error) {
      console.warn('could not make an offer', error);
    } finally {
      peer.makingOffer = false;
      offerDone();
    }
  });
  const onStateChange = () => {
    trace(peer, `connection=${pc.connectionState}`);
    if (pc.connectionState === 'failed' || pc.iceConnectionState === 'failed') {
      // Perfect negotiation turns the restart into a new offer from whichever side.
      pc.restartIce();
    }
    updateTile(peer);
    if (pc.connectionState === 'connected' && !peer.announcedConnected) {
      peer.announcedConnected = true;
      announce(t('U bent in gesprek met {who}.', { who: roleInSentence(peer.role) }));
    }
  };
  pc.addEventListener('connectionstatechange', onStateChange);
  pc.addEventListener('iceconnectionstatechange', onStateChange);

  // Only the impolite side (the server picks exactly one per pair) starts the
  // first negotiation; the polite side attaches its media when that offer
  // arrives, so it travels in the answer. Both offering at once works in
  // theory, but Chromium (156) sometimes leaves the polite side's connection
  // dead after rolling back its own first offer (no candidates, not revived by
  // an ICE restart). Later renegotiations still use perfect negotiation.
  if (!peer.polite) attachMedia(peer);
  render();
  return peer;
}

function attachMedia(peer) {
  if (peer.mediaAttached) return;
  peer.mediaAttached = true;
  for (const kind of ['audio', 'video']) {
    const track = localTrack(kind);
    if (track) {
      // After a remote offer this reuses the offered transceiver of the same kind.
      peer.pc.addTrack(track, localStream);
    } else if (!peer.pc.getTransceivers().some((t) => t.receiver.track.kind === kind)) {
      peer.pc.addTransceiver(kind, { direction: 'recvonly' });
    }
  }
}

function candidateToWire(candidate) {
  // Only the fields that have a value: the protocol marks the others optional.
  const wire = { candidate: candidate.candidate };
  if (candidate.sdpMid !== null && candidate.sdpMid !== undefined) wire.sdpMid = candidate.sdpMid;
  if (candidate.sdpMLineIndex !== null && candidate.sdpMLineIndex !== undefined) {
    wire.sdpMLineIndex = candidate.sdpMLineIndex;
  }
  if (candidate.usernameFragment) wire.usernameFragment = candidate.usernameFragment;
  return wire;
}

function sendLocalDescription(peer) {
  const description = peer.pc.localDescription;
  if (!description) return;
  send({ type: 'description', to: peer.id, description: { type: description.type, sdp: description.sdp } });
}

function enqueue(peer, task) {
  peer.queue = peer.queue.then(task).catch((error) => {
    console.warn('negotiation step failed', error);
    trace(peer, `step failed: ${error && error.name}`);
  });
}

function onDescriptionMessage(message) {
  const peer = peers.get(message.from);
  const description = message.description;
  if (!peer || !description || typeof description.type !== 'string') return;
  enqueue(peer, () => applyRemoteDescription(peer, description));
}

async function applyRemoteDescription(peer, description) {
  const { pc } = peer;
  if (pc.signalingState === 'closed') return;
  if (description.type === 'rollback') {
    if (pc.signalingState === 'have-remote-offer') await pc.setRemoteDescription({ type: 'rollback' });
    return;
  }
  const readyForOffer = !peer.makingOffer
    && (pc.signalingState === 'stable' || peer.settingRemoteAnswer);
  const offerCollision = description.type === 'offer' && !readyForOffer;
  peer.ignoreOffer = !peer.polite && offerCollision;
  trace(peer, `received ${description.type}${offerCollision ? ' (collision)' : ''}${peer.ignoreOffer ? ' ignored' : ''}`);
  if (peer.ignoreOffer) return;
  if (offerCollision) {
    // Chromium (156) can leave the answer's ICE transport dead, gathering no
    // candidates ever, when the implicit rollback is queued behind a
    // setLocalDescription() that is still running. Seen in about one call in
    // twenty under CPU load; an ICE restart does not revive it. Letting our own
    // offer finish first avoids the race.
    await peer.offerInFlight;
  }
  peer.settingRemoteAnswer = description.type === 'answer';
  try {
    // On the polite side a colliding offer rolls our own offer back implicitly.
    await pc.setRemoteDescription({ type: description.type, sdp: description.sdp });
  } finally {
    peer.settingRemoteAnswer = false;
  }
  if (description.type === 'offer') {
    attachMedia(peer);
    await pc.setLocalDescription();
    trace(peer, `sending ${pc.localDescription?.type}`);
    sendLocalDescription(peer);
  }
}

function onCandidateMessage(message) {
  const peer = peers.get(message.from);
  if (!peer) return;
  const candidate = message.candidate;
  enqueue(peer, async () => {
    if (peer.pc.signalingState === 'closed') return;
    try {
      // No argument means end of candidates.
      await (candidate ? peer.pc.addIceCandidate(candidate) : peer.pc.addIceCandidate());
    } catch (error) {
      // Candidates for an offer we ignored are expected to fail.
      if (!peer.ignoreOffer) console.warn('could not add a candidate', error);
      else trace(peer, 'candidate for an ignored offer dropped');
    }
  });
}

async function restartNegotiation(peer) {
  const { pc } = peer;
  if (pc.signalingState === 'closed') return;
  enqueue(peer, async () => {
    // An offer whose answer was lost would block the restart forever.
    if (pc.signalingState === 'have-local-offer') {
      await pc.setLocalDescription({ type: 'rollback' });
    }
    pc.restartIce();
  });
}

function reconcilePeers(peerList) {
  const list = Array.isArray(peerList) ? peerList : [];
  const ids = new Set(list.map((info) => info && info.id));
  for (const id of [...peers.keys()]) {
    if (!ids.has(id)) removePeer(id);
  }
  for (const info of list) {
    if (info && typeof info.id === 'string' && !peers.has(info.id)) createPeer(info);
  }
}

function removePeer(id) {
  const peer = peers.get(id);
  if (!peer) return;
  peers.delete(id);
  peer.pc.close();
  peer.tile.video.srcObject = null;
  peer.tile.item.remove();
  render();
}

function closeAllPeers() {
  for (const id of [...peers.keys()]) removePeer(id);
}

function onPeerJoined(message) {
  const info = message.peer;
  if (session.phase !== 'call' || !info || typeof info.id !== 'string') return;
  // A peer that joins again starts with a new connection, so ours must be new too.
  createPeer(info);
  refreshVerifiedPanel();
  announce(t('{who} is in het gesprek gekomen.', { who: capitalise(roleInSentence(info.role)) }));
  sendMediaState({ onlyIfOff: true });
}

function onPeerLeft(message) {
  const peer = peers.get(message.id);
  if (!peer) return;
  removePeer(message.id);
  const who = roleInSentence(peer.role);
  if (message.reason === 'timeout') {
    announce(t('De verbinding met {who} is verbroken.', { who }));
  } else if (message.reason !== 'replaced') {
    announce(t('{who} heeft het gesprek verlaten.', { who: capitalise(who) }));
  }
}

function onPeerPresence(message, away) {
  const peer = peers.get(message.id);
  if (!peer) return;
  peer.away = away;
  updateTile(peer);
  const who = roleInSentence(peer.role);
  announce(away
    ? t('De verbinding van {who} is even weg. We wachten op {who}.', { who })
    : t('{who} is weer verbonden.', { who: capitalise(who) }));
}

function onMedia(message) {
  const peer = peers.get(message.from);
  if (!peer) return;
  peer.media = { audio: message.audio !== false, video: message.video !== false };
  updateTile(peer);
}

// ---------------------------------------------------------------- video tiles

function createTile(peer) {
  const item = document.createElement('li');
  item.className = 'tile';
  const figure = document.createElement('figure');
  figure.className = 'tile-figure';
  const video = document.createElement('video');
  video.className = 'tile-video';
  // iOS Safari plays full screen without playsinline; the attribute, not only the property.
  video.setAttribute('playsinline', '');
  video.setAttribute('autoplay', '');
  video.playsInline = true;
  video.autoplay = true;
  video.setAttribute('aria-label', t('Beeld van {who}', { who: roleInSentence(peer.role) }));
  const caption = document.createElement('figcaption');
  caption.className = 'tile-caption';
  const name = document.createElement('span');
  name.className = 'tile-role';
  name.textContent = roleLabel(peer.role);
  const state = document.createElement('span');
  state.className = 'tile-state';
  caption.append(name, ' ', state);
  figure.append(video, caption);
  item.append(figure);
  ui.tiles.append(item);
  return { item, video, state };
}

function updateTile(peer) {
  const notes = [];
  if (peer.away) notes.push(t('verbinding even weg'));
  else if (peer.pc.connectionState === 'connecting' || peer.pc.connectionState === 'new') notes.push(t('verbinden…'));
  else if (peer.pc.connectionState === 'failed' || peer.pc.connectionState === 'disconnected') {
    notes.push(t('verbinding slecht'));
  }
  if (!peer.media.audio) notes.push(t('microfoon uit'));
  if (!peer.media.video) notes.push(t('camera uit'));
  peer.tile.state.textContent = notes.length ? `(${notes.join(', ')})` : '';
}

// ---------------------------------------------------------------- identity step (resident)

function problemText(error, fallback) {
  return error instanceof ApiProblem && error.detail ? error.detail : fallback;
}

let verificationState = null;

function startVerification(state) {
  verificationState = state;
  session.verifying = true;
  ui.verifyAttributes.replaceChildren(
    ...(state.attributes ?? []).map((attribute) => {
      const li = document.createElement('li');
      li.textContent = attribute.label;
      return li;
    }),
  );
  ui.verifyDemo.hidden = !state.demo_wallet_url;
  if (state.demo_wallet_url) ui.verifyDemoLink.href = state.demo_wallet_url;
  render();
  announce(t('Laat zien wie u bent. Scan de QR-code met de Yivi-app.'));
  ui.verifyTitle.focus();
  runVerification();
}

async function runVerification() {
  ui.verifyRetry.hidden = true;
  clearAlert();
  // yivi-frontend can start only once per element: give every attempt a fresh one.
  const form = document.createElement('div');
  form.id = 'yivi-web-form';
  form.className = 'yivi-form';
  document.getElementById('yivi-web-form').replaceWith(form);
  try {
    await verifyWithYivi({ room, token: roomToken, element: '#yivi-web-form' });
  } catch (error) {
    if (error instanceof ApiProblem) {
      showAlert(problemText(error, t('Het lukte niet om te laten zien wie u bent.')));
    } else {
      showAlert(t('Het lukte niet om te laten zien wie u bent. Probeer het opnieuw.'));
    }
    announce(t('Het controleren is niet gelukt.'));
    ui.verifyRetry.hidden = false;
    ui.verifyRetry.focus();
    return;
  }
  session.verifying = false;
  verificationState = null;
  render();
  announce(t('Gelukt. De gemeente weet nu dat u het bent.'));
  // When asked again during the call, the server tells the specialist itself.
  if (session.phase === 'prejoin') connectToRoom();
}

function onVerifyRequested() {
  if (session.role !== 'resident' || session.verifying) return;
  fetchVerification(room, roomToken).then(startVerification, (error) => {
    showAlert(problemText(error, t('De medewerker vraagt u opnieuw te laten zien wie u bent. Dat lukt nu niet.')));
  });
}

// ---------------------------------------------------------------- verified panel (specialist)

let panelRefresh = null;

function refreshVerifiedPanel() {
  if (session.role !== 'specialist' || !room) return Promise.resolve();
  // Coalesce bursts of lobby and peer events into one request.
  if (!panelRefresh) {
    panelRefresh = fetchVerification(room, roomToken)
      .then(renderVerifiedPanel, (error) => console.warn('verified panel', error.message))
      .finally(() => {
        panelRefresh = null;
      });
  }
  return panelRefresh;
}

// Values the specialist chose to reveal, for the verification they belong to (kept in this
// page's memory only). The panel is rebuilt at every lobby change: a rebuild must neither
// mask a revealed value again nor drop an answer that arrives after it.
const revealed = { verifiedAt: null, values: new Map() };
let panelState = null;

function renderVerifiedPanel(state) {
  panelState = state;
  if ((state.verified_at ?? null) !== revealed.verifiedAt || !state.verified) {
    revealed.verifiedAt = state.verified_at ?? null;
    revealed.values.clear();
  }
  const attributes = state.verified ? state.attributes ?? [] : [];
  ui.verifiedEmpty.hidden = attributes.length > 0;
  ui.verifiedEmpty.textContent = state.required
    ? t('De inwoner heeft nog niet laten zien wie hij of zij is.')
    : t('Voor dit gesprek hoeft de inwoner niet te laten zien wie hij of zij is.');
  ui.verifiedRenew.hidden = !(state.required && state.verified);
  const verifier = state.verifier ?? t('een wallet');
  const time = state.verified_at
    ? new Date(state.verified_at).toLocaleTimeString(TIME_LOCALE, { hour: '2-digit', minute: '2-digit' })
    : '';
  ui.verifiedMeta.textContent = state.verified && state.verified_at
    ? t('Gecontroleerd met {verifier} om {time}.', { verifier, time })
      // demo credentials anyone can make: never let them pass for real ones
      + (state.demo ? ' ' + t('Let op: dit zijn voorbeeldgegevens uit een demo-wallet, geen echte gegevens.') : '')
    : '';
  const rows = [];
  for (const attribute of attributes) {
    const dt = document.createElement('dt');
    dt.textContent = attribute.label;
    const dd = document.createElement('dd');
    dd.dataset.attribute = attribute.name;
    const value = attribute.masked ? revealed.values.get(attribute.name) : attribute.value;
    if (value === undefined) {
      const hidden = document.createElement('span');
      hidden.textContent = t('Verborgen') + ' ';
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'btn btn-small';
      // a short visible word keeps the panel narrow; the name says what it shows, and
      // contains the visible word (WCAG 2.5.3, label in name)
      button.textContent = t('Tonen');
      button.setAttribute('aria-label', t('{label} tonen', { label: attribute.label }));
      button.dataset.attribute = attribute.name;
      button.addEventListener('click', async () => {
        button.disabled = true;
        try {
          const shown = await reveal(room, roomToken, attribute.name);
          revealed.values.set(attribute.name, shown.value);
          renderVerifiedPanel(panelState);
          announce(t('{label} staat nu in beeld.', { label: attribute.label }));
          const shownRow = ui.verifiedList.querySelector(`dd[data-attribute="${CSS.escape(attribute.name)}"]`);
          if (shownRow) {
            shownRow.tabIndex = -1;
            shownRow.focus();
          }
        } catch (error) {
          button.disabled = false;
          showAlert(problemText(error, t('Tonen lukte niet. Probeer het opnieuw.')));
        }
      });
      dd.append(hidden, button);
    } else {
      dd.textContent = value;
    }
    rows.push(dt, dd);
  }
  // a rebuild keeps the keyboard focus on the same attribute's button
  const focused = ui.verifiedList.contains(document.activeElement)
    ? document.activeElement.dataset.attribute
    : undefined;
  ui.verifiedList.replaceChildren(...rows);
  if (focused !== undefined) {
    const again = ui.verifiedList.querySelector(`button[data-attribute="${CSS.escape(focused)}"]`);
    if (again) again.focus();
  }
}

// ---------------------------------------------------------------- lobby panel (specialist)

function onLobbyUpdate(message) {
  if (session.role !== 'specialist') return;
  refreshVerifiedPanel();
  const list = Array.isArray(message.waiting) ? message.waiting : [];
  const seen = new Set();
  let newcomers = 0;
  list.forEach((entry, index) => {
    if (!entry || typeof entry.id !== 'string') return;
    seen.add(entry.id);
    let item = waitingItems.get(entry.id);
    if (!item) {
      item = createWaitingItem(entry);
      waitingItems.set(entry.id, item);
      newcomers += 1;
    }
    updateWaitingItem(item, entry, index + 1);
    // Only move nodes that are out of place: moving a node drops keyboard focus.
    if (ui.lobbyList.children[index] !== item.li) {
      ui.lobbyList.insertBefore(item.li, ui.lobbyList.children[index] ?? null);
    }
  });
  for (const [id, item] of [...waitingItems]) {
    if (seen.has(id)) continue;
    const hadFocus = item.li.contains(document.activeElement);
    item.li.remove();
    waitingItems.delete(id);
    if (hadFocus) ui.lobbyPanelTitle.focus();
  }
  ui.lobbyEmpty.hidden = waitingItems.size > 0;
  if (newcomers > 0) {
    announce(newcomers === 1
      ? t('Er wacht iemand in de wachtkamer.')
      : t('Er wachten {count} mensen in de wachtkamer.', { count: newcomers }));
  }
}

function createWaitingItem(entry) {
  waitingCounter += 1;
  const inputId = `waiting-note-${waitingCounter}`;
  const li = document.createElement('li');
  li.className = 'waiting';
  const heading = document.createElement('h3');
  heading.className = 'waiting-name';
  const state = document.createElement('p');
  state.className = 'waiting-state';
  const label = document.createElement('label');
  label.htmlFor = inputId;
  const input = document.createElement('input');
  input.type = 'text';
  input.id = inputId;
  input.maxLength = NOTE_MAX;
  input.autocomplete = 'off';
  const actions = document.createElement('div');
  actions.className = 'waiting-actions';
  const item = { id: entry.id, li, heading, state, label, input, buttons: [], name: '' };
  const makeButton = (text, className, onClick) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = className;
    const visible = document.createElement('span');
    visible.textContent = text;
    const hiddenName = document.createElement('span');
    hiddenName.className = 'visually-hidden';
    button.append(visible, hiddenName);
    button.addEventListener('click', onClick);
    item.buttons.push({ button, hiddenName });
    actions.append(button);
  };
  makeButton(t('Toelaten'), 'btn btn-primary', () => {
    setWaitingBusy(item, true);
    send({ type: 'admit', participant_id: item.id });
  });
  makeButton(t('Weigeren'), 'btn btn-danger', () => {
    const note = input.value.trim().slice(0, NOTE_MAX);
    setWaitingBusy(item, true);
    send(note ? { type: 'deny', participant_id: item.id, message: note } : { type: 'deny', participant_id: item.id });
  });
  makeButton(t('Laten wachten'), 'btn', () => {
    const note = input.value.trim().slice(0, NOTE_MAX) || DEFAULT_HOLD_MESSAGE;
    send({ type: 'hold', participant_id: item.id, message: note });
    announce(t('Uw bericht is verstuurd naar de wachtende.'));
  });
  li.append(heading, state, label, input, actions);
  return item;
}

function updateWaitingItem(item, entry, position) {
  item.name = `${roleLabel(entry.role)} ${position}`;
  item.heading.textContent = item.name;
  item.state.textContent = entry.state === 'on-hold' ? t('Wacht. Heeft uw bericht gekregen.') : t('Wacht.');
  item.label.textContent = t('Bericht aan {name} (bij laten wachten of weigeren)', { name: item.name });
  for (const { hiddenName } of item.buttons) hiddenName.textContent = `: ${item.name}`;
  setWaitingBusy(item, false);
}

function setWaitingBusy(item, busy) {
  for (const { button } of item.buttons) button.disabled = busy;
}

// ---------------------------------------------------------------- chat

function onChat(message) {
  if (typeof message.text !== 'string') return;
  const mine = message.from === session.participantId;
  const who = mine ? t('U') : roleLabel(message.role);
  const li = document.createElement('li');
  li.className = mine ? 'chat-message chat-mine' : 'chat-message';
  const meta = document.createElement('p');
  meta.className = 'chat-meta';
  const author = document.createElement('strong');
  author.textContent = who;
  meta.append(author);
  const when = parseTime(message.at);
  if (when) {
    const time = document.createElement('time');
    time.dateTime = when.toISOString();
    time.textContent = when.toLocaleTimeString(TIME_LOCALE, { hour: '2-digit', minute: '2-digit' });
    meta.append(' ', time);
  }
  const body = document.createElement('p');
  body.className = 'chat-text';
  // textContent only: chat text is untrusted input from another participant.
  body.textContent = message.text;
  li.append(meta, body);
  ui.chatList.append(li);
  ui.chatLog.scrollTop = ui.chatLog.scrollHeight;
  if (!mine && !session.chatOpen) {
    session.unread += 1;
    ui.chatUnread.textContent = ' ' + t('({count} nieuw)', { count: session.unread });
    ui.chatUnread.hidden = false;
    announce(t('Nieuw chatbericht van {who}.', { who: roleInSentence(message.role) }));
  }
}

function parseTime(value) {
  let date = null;
  if (typeof value === 'number' && Number.isFinite(value)) {
    // Seconds or milliseconds since the epoch; 1e12 ms is in 2001.
    date = new Date(value < 1e12 ? value * 1000 : value);
  } else if (typeof value === 'string') {
    date = new Date(value);
  }
  return date && !Number.isNaN(date.getTime()) ? date : null;
}

function setChatOpen(open) {
  session.chatOpen = open;
  ui.chatBtn.setAttribute('aria-expanded', String(open));
  if (open) {
    session.unread = 0;
    ui.chatUnread.textContent = '';
    ui.chatUnread.hidden = true;
  }
  render();
  if (open) {
    ui.chatLog.scrollTop = ui.chatLog.scrollHeight;
    ui.chatInput.focus();
  }
}

function sendChat() {
  const text = ui.chatInput.value.trim();
  if (!text) {
    ui.chatInput.focus();
    return;
  }
  if (text.length > CHAT_MAX) {
    showAlert(t('Uw bericht is te lang. Gebruik maximaal {max} tekens.', { max: CHAT_MAX }));
    return;
  }
  send({ type: 'chat', text });
  ui.chatInput.value = '';
  ui.chatInput.focus();
}

// ---------------------------------------------------------------- leaving and ending

function resetSeat() {
  closeAllPeers();
  session.sessionId = null;
  session.participantId = null;
  session.lastSeq = 0;
  session.clientSeq = 0;
  session.outbox = [];
  session.phase = 'connecting';
}

function finish(text, { detail = null, rejoin = false } = {}) {
  if (session.phase === 'finished') return;
  session.phase = 'finished';
  session.connected = false;
  session.sessionId = null;
  window.clearTimeout(session.reconnectTimer);
  window.clearTimeout(session.endTimer);
  stopPing();
  const ws = session.ws;
  session.ws = null;
  if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000);
  closeAllPeers();
  // The camera light must go out as soon as the call is over.
  stopLocalMedia();
  if (ui.endDialog.open) ui.endDialog.close();
  session.chatOpen = false;
  ui.chatBtn.setAttribute('aria-expanded', 'false');
  ui.finishedText.textContent = text;
  ui.finishedDetail.textContent = detail ?? '';
  ui.finishedDetail.hidden = !detail;
  ui.rejoinBtn.hidden = !(rejoin && roomToken);
  // Residents may rate the call: the form posts the room token from memory, never in a URL.
  const feedback = session.role === 'resident' && Boolean(roomToken) && Boolean(room);
  ui.feedbackForm.hidden = !feedback;
  if (feedback) {
    ui.feedbackForm.action = `/feedback/${encodeURIComponent(room)}`;
    ui.feedbackToken.value = roomToken;
  }
  clearAlert();
  render();
  announce(text);
  // The controls just disappeared; give keyboard and screen reader users a place to land.
  ui.finishedTitle.focus();
}

function leave() {
  if (session.phase === 'finished') return;
  if (session.connected) send({ type: 'leave' });
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
  // If the confirmation never comes (socket gone), still stop on this side.
  session.endTimer = window.setTimeout(() => finish(t('U heeft het gesprek beëindigd voor iedereen.')), 5000);
}

async function join() {
  if (!roomToken || !room || session.phase !== 'prejoin' || session.verifying) return;
  clearAlert();
  ui.joinBtn.disabled = true;
  let state;
  try {
    state = await fetchVerification(room, roomToken);
  } catch (error) {
    ui.joinBtn.disabled = false;
    showAlert(problemText(error, t('Het lukt nu niet om deel te nemen. Probeer het over een minuut opnieuw.')));
    return;
  }
  ui.joinBtn.disabled = false;
  if (state.role === 'resident' && state.required && !state.verified) {
    startVerification(state);
    return;
  }
  connectToRoom();
}

function connectToRoom() {
  session.phase = 'connecting';
  session.reconnectAttempt = 0;
  render();
  announce(t('Verbinding maken…'));
  connect();
}

async function rejoin() {
  resetSeat();
  session.phase = 'prejoin';
  session.audioOn = true;
  session.videoOn = true;
  ui.rejoinBtn.hidden = true;
  render();
  ui.joinBtn.focus();
  await startLocalMedia();
  checkNetwork();
}

function checkNetwork() {
  if (roomToken === null || !room) return;
  checkConnection(room, roomToken).then((verdict) => {
    ui.checkNetwork.textContent = verdict.text;
    // for the browser tests: the verdict, its timing and candidate types (no addresses)
    session.connectionVerdict = Object.freeze({ level: verdict.level, candidates: verdict.candidates });
  });
}

// ---------------------------------------------------------------- language switch

// The switch is an ordinary form: POST /taal sets the language cookie and redirects back
// here. Submitted as is, it would reload this page without the room token, which lives only
// in memory. So post it with fetch, put the token back into the fragment (which never leaves
// the browser: no query string, no request body) and reload; the reload takes it out again.
async function switchLanguage(event) {
  const form = ui.languageForm;
  const action = new URL(form.action, window.location.href);
  // Without a token there is nothing to keep: the ordinary submit does the job.
  if (roomToken === null || action.origin !== window.location.origin) return;
  event.preventDefault();
  const button = event.submitter ?? form.querySelector('button[name]');
  const fields = new URLSearchParams();
  for (const [name, value] of new FormData(form)) fields.append(name, String(value));
  if (button && button.name) fields.append(button.name, button.value);
  if (button) button.disabled = true;
  let switched = false;
  try {
    const response = await fetch(action.href, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: fields,
      credentials: 'same-origin',
      cache: 'no-store',
      // The answer is the redirect back to this page (opaque here); its cookie is kept.
      redirect: 'manual',
    });
    switched = response.type === 'opaqueredirect' || response.ok;
  } catch (error) {
    console.warn('the language switch failed', error);
  }
  if (!switched) {
    if (button) {
      button.disabled = false;
      button.focus();
    }
    showAlert(t('Het lukte niet om de taal te wisselen. Probeer het opnieuw.'));
    return;
  }
  const { pathname, search } = window.location;
  window.history.replaceState(null, '', `${pathname}${search}#token=${encodeURIComponent(roomToken)}`);
  window.location.reload();
}

// ---------------------------------------------------------------- wiring

if (ui.languageForm) ui.languageForm.addEventListener('submit', switchLanguage);

ui.joinBtn.addEventListener('click', () => {
  join();
});
ui.soundBtn.addEventListener('click', async () => {
  ui.soundBtn.disabled = true;
  try {
    await playTestTone();
    ui.checkSound.textContent = t('U hoorde net een toon (als uw geluid aan staat).');
    ui.soundAnswer.hidden = false;
    ui.soundYes.focus();
  } catch {
    ui.checkSound.textContent = t('Deze browser kan geen testtoon laten horen.');
  } finally {
    ui.soundBtn.disabled = false;
  }
});
ui.soundYes.addEventListener('click', () => {
  ui.soundAnswer.hidden = true;
  const answer = t('Goed. Uw geluid werkt.');
  ui.checkSound.textContent = answer;
  announce(answer);
  ui.soundBtn.focus();
});
ui.soundNo.addEventListener('click', () => {
  ui.soundAnswer.hidden = true;
  const advice = t('Zet het geluid harder. Of sluit een koptelefoon aan. Klik daarna nog een keer op "Geluid testen".');
  ui.checkSound.textContent = advice;
  announce(advice);
  ui.soundBtn.focus();
});
ui.verifyRetry.addEventListener('click', () => {
  runVerification();
});
ui.verifiedRenew.addEventListener('click', async () => {
  ui.verifiedRenew.disabled = true;
  try {
    await requestRenewal(room, roomToken);
    announce(t('De inwoner wordt gevraagd om opnieuw te laten zien wie hij of zij is.'));
    await refreshVerifiedPanel();
  } catch (error) {
    showAlert(problemText(error, t('Dat lukte niet. Probeer het opnieuw.')));
  } finally {
    ui.verifiedRenew.disabled = false;
  }
});
ui.mediaRetryBtn.addEventListener('click', () => {
  startLocalMedia();
  checkNetwork();
});
ui.reconnectBtn.addEventListener('click', retryNow);
ui.rejoinBtn.addEventListener('click', () => {
  rejoin();
});
ui.micBtn.addEventListener('click', () => {
  session.audioOn = !session.audioOn;
  applyLocalMediaState();
  sendMediaState();
  announce(session.audioOn ? t('Uw microfoon staat aan.') : t('Uw microfoon staat uit.'));
});
ui.camBtn.addEventListener('click', () => {
  session.videoOn = !session.videoOn;
  applyLocalMediaState();
  sendMediaState();
  announce(session.videoOn ? t('Uw camera staat aan.') : t('Uw camera staat uit.'));
});
ui.chatBtn.addEventListener('click', () => {
  setChatOpen(!session.chatOpen);
  if (!session.chatOpen) ui.chatBtn.focus();
});
ui.chatForm.addEventListener('submit', (event) => {
  event.preventDefault();
  sendChat();
});
ui.chatInput.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    sendChat();
  }
});
ui.chatPanel.addEventListener('keydown', (event) => {
  if (event.key === 'Escape') {
    setChatOpen(false);
    ui.chatBtn.focus();
  }
});
ui.leaveBtn.addEventListener('click', leave);
ui.endBtn.addEventListener('click', () => {
  ui.endDialog.showModal();
});
ui.endCancel.addEventListener('click', () => {
  ui.endDialog.close();
});
ui.endConfirm.addEventListener('click', () => {
  ui.endDialog.close();
  endForEveryone();
});
ui.endDialog.addEventListener('close', () => {
  if (!ui.endBtn.hidden) ui.endBtn.focus();
});

window.addEventListener('online', () => {
  // The network is back: skip the rest of the backoff wait.
  if (session.reconnectTimer !== null && !session.ws) {
    window.clearTimeout(session.reconnectTimer);
    session.reconnectTimer = null;
    connect();
  }
});
window.addEventListener('pagehide', () => {
  // Tell the others at once instead of letting them wait for the resume grace period.
  if (session.connected && (session.phase === 'call' || session.phase === 'lobby')) {
    send({ type: 'leave' });
  }
});

// Read-only hooks for the browser tests. Ids are random seat ids; no names,
// tokens or session ids are exposed.
Object.defineProperty(window, 'balie', {
  value: Object.freeze({
    get pcs() {
      return new Map([...peers].map(([id, peer]) => [id, peer.pc]));
    },
    get state() {
      return Object.freeze({
        phase: session.phase,
        connected: session.connected,
        role: session.role,
        participantId: session.participantId,
        lastSeq: session.lastSeq,
        clientSeq: session.clientSeq,
        pendingMessages: session.outbox.length,
        reconnectAttempt: session.reconnectAttempt,
        audio: effectiveMedia().audio,
        video: effectiveMedia().video,
        peers: [...peers.values()].map((peer) => ({
          id: peer.id,
          role: peer.role,
          polite: peer.polite,
          away: peer.away,
          connectionState: peer.pc.connectionState,
          iceConnectionState: peer.pc.iceConnectionState,
          iceGatheringState: peer.pc.iceGatheringState,
          signalingState: peer.pc.signalingState,
        })),
        waiting: [...waitingItems.keys()],
      });
    },
    get ws() {
      return session.ws;
    },
    get verifying() {
      return session.verifying;
    },
    get connectionVerdict() {
      return session.connectionVerdict ?? null;
    },
  }),
  writable: false,
  configurable: false,
  enumerable: false,
});

render();
applyLocalMediaState();
if (roomToken === null) {
  showAlert(t('Deze link is niet compleet. Open de link uit uw e-mail of sms opnieuw.'));
  announce(t('U kunt nog niet deelnemen.'));
} else {
  announce(t('Controleer uw camera en microfoon.'));
}
startLocalMedia();
checkNetwork();
