// @ts-check
// Balie call page: camera preview, signalling over /ws (docs/signaling.md) and
// a small peer-to-peer mesh (at most three people) with perfect negotiation.
// Plain ES2022 modules without dependencies, so the page works under a strict CSP.
//
// This module only finds the page's elements, builds the parts and wires them together:
//   joining.js      the page's phase: joining, the lobby, the call, leaving, the end
//   remotes.js      the other participants: one peer connection and one tile each
//   signal.js       the signalling session (join/resume, outbox, heartbeats, reconnects)
//   peer.js         one RTCPeerConnection per other participant (perfect negotiation)
//   media.js        the own camera and microphone (none in a chat, no camera in a voice call)
//   switching.js    a chat or voice call switched to a richer channel, with the resident's consent
//   walkin.js       a walk-in counter's queue, while the resident waits (ui/queue.js shows it)
//   appointment.js  when the call opens, and the appointment it belongs to
//   ui/*.js         what the page shows: the opening time, the device check, the own picture,
//                   tiles, waiting room and lobby panel, chat, the verified panel, the
//                   identity step, controls, the end, the status line
// signal.js and peer.js never touch the page; they emit events the parts listen to.

import { t } from '../texts.js';
import { ApiProblem } from './api.js';
import { fetchSchedule } from './appointment.js';
import { checkConnection } from './devicecheck.js';
import { exposeTestHooks } from './hooks.js';
import { fetchVerification, problemText, requestRenewal, reveal } from './identity.js';
import { CallSession } from './joining.js';
import {
  bookingPathFromToken, channelFromToken, readRoomFromPath, roomFromToken, socketUrl, takeTokenFromFragment,
  tokenExpired, walkinFromToken,
} from './link.js';
import { LocalMedia } from './media.js';
import { Remotes } from './remotes.js';
import { SignalSession } from './signal.js';
import { ChannelSwitch } from './switching.js';
import { CallCard } from './ui/call-card.js';
import { applyChannel, readyWords } from './ui/channel.js';
import { Chat } from './ui/chat.js';
import { refusalText, sayConnectionChanges } from './ui/connection-notes.js';
import { Controls } from './ui/controls.js';
import { byId } from './ui/dom.js';
import { FinishedScreen, finishedElements } from './ui/finished.js';
import { keepTokenOnLanguageSwitch } from './ui/language.js';
import { LobbyPanel, WaitingRoom } from './ui/lobby.js';
import { OpeningNotice } from './ui/opening.js';
import { OwnMedia } from './ui/own-media.js';
import { DeviceCheck } from './ui/prejoin.js';
import { WalkinQueue } from './ui/queue.js';
import { Alert, createAnnouncer } from './ui/status.js';
import { VerifiedPanel } from './ui/verified.js';
import { IdentityStep } from './ui/verify.js';

/** @typedef {import('./signal.js').ServerMessage} ServerMessage */
/** @typedef {import('./signal.js').ClientMessage} ClientMessage */

const page = {
  status: byId('status', HTMLElement),
  prejoin: byId('prejoin', HTMLElement),
  joinBtn: byId('join-btn', HTMLButtonElement),
  reconnectBtn: byId('reconnect-btn', HTMLButtonElement),
  lobby: byId('lobby', HTMLElement),
  lobbyTitle: byId('lobby-title', HTMLElement),
  finished: byId('finished', HTMLElement),
  rejoinBtn: byId('rejoin-btn', HTMLButtonElement),
  stage: byId('stage', HTMLElement),
  tiles: byId('tiles', HTMLElement),
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
// video, voice or chat (both sides' tokens name the same; the call may switch to a richer
// one, switching.js); a walk-in room's lobby is a queue
const walkin = walkinFromToken(roomToken);
const call = { channel: channelFromToken(roomToken), walkin };
const { channel } = call; // the channel the page started with
// (the words and device check lines that differ, once, before anything else runs)
const checkText = applyChannel({ channel, walkin });

const announce = createAnnouncer(page.status);
const alert = new Alert(byId('alert', HTMLElement), byId('alert-actions', HTMLElement));
/** @param {string} text */
const showAlert = (text) => alert.show(text);
const media = new LocalMedia(channel);
const signal = new SignalSession({ url: socketUrl, token: roomToken, room: roomFromPath });
/**
 * A numbered message to the server (kept until acknowledged, sent again after a resume).
 * @param {ClientMessage} message
 */
const send = (message) => signal.send(message);

/** @type {Readonly<{level: string, candidates: string[]}> | null} for the browser tests */
let connectionVerdict = null;

const opening = new OpeningNotice({
  box: byId('opening', HTMLElement),
  when: byId('opening-when', HTMLElement),
  from: byId('opening-from', HTMLElement),
  advice: byId('opening-advice', HTMLElement),
}, {
  announce,
  onChange(state) {
    if (state === 'over' && session.phase === 'prejoin' && !identityStep.active) session.over();
    render();
  },
});

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
  micState: byId('mic-state', HTMLElement),
  camState: byId('cam-state', HTMLElement),
  mediaState: byId('media-state', HTMLElement),
  leave: byId('leave-btn', HTMLButtonElement),
  end: byId('end-btn', HTMLButtonElement),
  endDialog: byId('end-dialog', HTMLDialogElement),
  endConfirm: byId('end-confirm', HTMLButtonElement),
  endCancel: byId('end-cancel', HTMLButtonElement),
}, {
  onMic() {
    ownMedia.toggleAudio();
    sendMediaState();
  },
  onCam() {
    ownMedia.toggleVideo();
    sendMediaState();
  },
  // a walk-in resident gives the queue place up first ("Wachtrij verlaten")
  onLeave: () => (walkinQueue && session.phase === 'lobby' ? walkinQueue.leave().then(() => session.leave()) : session.leave()),
  onEnd: () => session.endForEveryone(),
}, { channel, walkin });

const ownMedia = new OwnMedia({
  media,
  video: byId('self-video', HTMLVideoElement),
  state: byId('self-state', HTMLElement),
  retry: byId('media-retry-btn', HTMLButtonElement),
  deviceCheck,
  controls,
  alert,
  announce,
  readyText: () => (session.phase === 'call' ? channelSwitch.switchedText()
    : roomToken ? opening.readyText(readyWords(channel)) : readyWords(channel) ?? t('Uw camera en microfoon zijn klaar.')),
  onChange: () => render(),
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
  onToggle: () => render(),
  announce,
  showAlert,
  main: channel === 'chat',
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
}, announce, () => opening.now());

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
  section: byId('verify', HTMLElement),
  title: byId('verify-title', HTMLElement),
  attributes: byId('verify-attributes', HTMLElement),
  demo: byId('verify-demo', HTMLElement),
  demoForm: byId('verify-demo-form', HTMLFormElement),
  demoSession: byId('verify-demo-session', HTMLInputElement),
  retry: byId('verify-retry', HTMLButtonElement),
}, {
  room: room ?? '',
  token: roomToken ?? '',
  announce,
  alert,
  onChange: () => render(),
  onVerified() {
    // When asked again during the call, the server tells the specialist itself.
    if (session.phase === 'prejoin') session.connect();
  },
});

const callCard = new CallCard({
  card: byId('call-card', HTMLElement),
  with: byId('call-with', HTMLElement),
  timeLine: byId('call-time-line', HTMLElement),
  time: byId('call-time', HTMLElement),
}, channel);

const walkinQueue = walkin && room && roomToken ? new WalkinQueue({
  box: byId('queue', HTMLElement),
  position: byId('queue-position', HTMLElement),
  waiting: byId('queue-waiting', HTMLElement),
  expected: byId('queue-expected', HTMLElement),
  taken: byId('queue-taken', HTMLElement),
}, { room, token: roomToken, announce }) : null;

/** @type {Remotes} */
const remotes = new Remotes({
  tiles: page.tiles,
  send,
  localStream: () => media.stream,
  iceServers: () => session.iceServers,
  announce,
  onChange: () => render(),
  channel,
  onConnected: () => callCard.connected(),
});

/** @type {ChannelSwitch} */
const channelSwitch = new ChannelSwitch({ call, send, announce, media, ownMedia, remotes, controls, callCard, chat,
  render: () => render(), specialist: () => session.role === 'specialist', onSwitched: () => sendMediaState() });

const finished = new FinishedScreen(finishedElements(page.finished, page.rejoinBtn));

/** @type {CallSession} */
const session = new CallSession({
  room,
  token: roomToken,
  bookingUrl: bookingPathFromToken(roomToken),
  signal,
  remotes,
  ownMedia,
  identityStep,
  opening,
  alert,
  announce,
  controls,
  chat,
  waitingRoom,
  finished,
  lobbyTitle: page.lobbyTitle,
  joinButton: page.joinBtn,
  walkin,
  render: () => render(),
  onCallEntered() {
    sendMediaState({ onlyIfOff: true });
    refreshVerifiedPanel();
  },
  checkNetwork: () => checkNetwork(),
  onTooEarly() {
    announce(t('U kunt nog niet deelnemen. De knop "Deelnemen" gaat vanzelf aan.'));
    loadSchedule();
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
  // without video there is no own picture: the stage is only the call card, in the call
  page.stage.hidden = phase === 'finished' || (call.channel !== 'video' && !inCall);
  // In the call the other person is the main picture, the own one small in a corner (call.css).
  page.stage.dataset.layout = inCall && remotes.size > 0 ? 'pip' : 'single';
  callCard.render({ inCall, roles: remotes.roles });
  if (!inCall) callCard.stop();
  walkinQueue?.follow(phase === 'lobby');
  document.body.dataset.phase = phase;
  controls.render({ phase, specialist });
  channelSwitch.render({ inCall, specialist });
  chat.render(inCall);
  page.lobbyPanel.hidden = !(inCall && specialist);
  // Switching the language reloads the page: offered only before joining.
  if (page.languageChoice) page.languageChoice.hidden = phase !== 'prejoin' || verifying;
  page.aloneNote.hidden = !(inCall && remotes.size === 0);
  page.joinBtn.disabled = roomToken === null || ownMedia.asking || session.joining || opening.opening !== 'open';
}

/** @param {{onlyIfOff?: boolean}} [options] */
function sendMediaState({ onlyIfOff = false } = {}) {
  // a chat sends no media, so it has no media state to tell
  if (session.phase !== 'call' || call.channel === 'chat') return;
  const { audio, video } = media.sending;
  // a voice call never has video: "off" there means the microphone only
  if (onlyIfOff && audio && (video || call.channel === 'voice')) return;
  send({ type: 'media', audio, video });
}

function refreshVerifiedPanel() {
  if (session.role !== 'specialist' || !room) return Promise.resolve();
  return verifiedPanel.refresh();
}

function checkNetwork() {
  if (roomToken === null || !room) return;
  checkConnection(room, roomToken, { channel }).then((verdict) => {
    deviceCheck.showNetwork(verdict.text);
    // for the browser tests: the verdict, its timing and candidate types (no addresses)
    connectionVerdict = Object.freeze({ level: verdict.level, candidates: verdict.candidates });
  });
}

/** When the call opens and which appointment it is: asked before joining. */
async function loadSchedule() {
  if (roomToken === null || !room) return;
  try {
    const schedule = await fetchSchedule(room, roomToken);
    opening.show(schedule);
    const { appointment } = schedule;
    lobbyPanel.setAppointment(appointment ? { reference: appointment.reference, purposeName: appointment.purposeName } : null);
  } catch (error) {
    // The server refuses an expired token; when the link says its own time is over, the page
    // says that plainly. Anything else: "Deelnemen" says what is wrong, as before.
    const expired = error instanceof ApiProblem
      && (error.code === 'token-expired' || (error.status === 401 && tokenExpired(roomToken, Date.now())));
    if (expired) session.over();
    else console.warn('the appointment could not be read', error instanceof Error ? error.message : error);
    return;
  }
  if (opening.opening === 'over' && session.phase === 'prejoin') session.over();
  render();
}

// ---------------------------------------------------------------- signalling

// (a room that switched channel meanwhile switches this page too)
signal.on('joined', (message) => { session.onJoined(message); channelSwitch.adopt(message.channel); });
signal.on('resumed', (message) => { session.onResumed(message); channelSwitch.adopt(message.channel); });
signal.on('seat-lost', () => session.onSeatLost());
signal.on('verify-required', () => {
  session.onVerifyRequired();
});
signal.on('final', (detail) => session.onFinal(detail));

sayConnectionChanges(signal, { announce, alert });

/** @type {Record<string, (message: ServerMessage) => void>} */
const HANDLERS = {
  lobby: (message) => {
    // A walk-in room's own lobby holds only this resident: its place there is always the
    // first, so the queue's place (ui/queue.js) is the one shown.
    if (session.phase === 'lobby') waitingRoom.update(walkin ? { ...message, position: null } : message);
  },
  queue: (message) => walkinQueue?.notice(message),
  'lobby-update': (message) => {
    if (session.role !== 'specialist') return;
    refreshVerifiedPanel();
    lobbyPanel.update(message.waiting);
  },
  admitted: (message) => {
    if (session.phase !== 'call') session.enterCall(message.peers, { admitted: true });
    channelSwitch.adopt(message.channel);
  },
  denied: (message) => session.onDenied(message),
  'peer-joined': (message) => {
    if (session.phase !== 'call' || !remotes.onJoined(message)) return;
    refreshVerifiedPanel();
    sendMediaState({ onlyIfOff: true });
  },
  'peer-left': (message) => remotes.onLeft(message),
  'peer-away': (message) => remotes.onPresence(message, true),
  'peer-back': (message) => remotes.onPresence(message, false),
  description: (message) => remotes.onDescription(message),
  candidate: (message) => remotes.onCandidate(message),
  media: (message) => remotes.onMedia(message),
  chat: (message) => chat.add(message, message.from === session.participantId),
  ended: (message) => session.onEnded(message),
  verify: () => {
    if (session.role !== 'resident' || identityStep.active) return;
    fetchVerification(room ?? '', roomToken ?? '').then((state) => identityStep.start(state), (error) => {
      alert.show(problemText(error, t('De medewerker vraagt u opnieuw te laten zien wie u bent. Dat lukt nu niet.')));
    });
  },
  verified: () => refreshVerifiedPanel(),
  pong: () => {},
  error: onServerError,
  ...channelSwitch.handlers,
};

signal.on('message', (message) => {
  const handler = Object.hasOwn(HANDLERS, message.type) ? HANDLERS[message.type] : undefined;
  if (handler) {
    handler(message);
  } else {
    console.warn('unknown message type', message.type);
  }
});

/** @param {ServerMessage} message */
function onServerError(message) {
  // (signal.js already took the refused message out of its outbox)
  console.warn('server refused a frame', message.code, message.message);
  session.noteError(message);
  const text = refusalText(message);
  if (text) alert.show(text);
  lobbyPanel.release();
}

// ---------------------------------------------------------------- wiring

if (page.languageForm instanceof HTMLFormElement) {
  keepTokenOnLanguageSwitch(page.languageForm, { token: roomToken, showAlert });
}
page.joinBtn.addEventListener('click', () => {
  session.join();
});
byId('media-retry-btn', HTMLButtonElement).addEventListener('click', () => {
  ownMedia.start();
  checkNetwork();
});
page.reconnectBtn.addEventListener('click', () => session.retryNow());
page.rejoinBtn.addEventListener('click', () => {
  session.rejoin();
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

exposeTestHooks({
  session, signal, media, remotes, lobbyPanel, identityStep, opening, connectionVerdict: () => connectionVerdict,
  call, queue: () => walkinQueue?.view.state ?? null,
});

render();
ownMedia.show();
if (roomToken === null) {
  alert.show(t('Deze link is niet compleet. Open de link uit uw e-mail of sms opnieuw.'));
  announce(t('U kunt nog niet deelnemen.'));
} else {
  announce(checkText ?? t('Controleer uw camera en microfoon.'));
}
// First when the call opens (what the page says once the camera is ready depends on it),
// then the devices; a link whose time is over needs no camera.
loadSchedule().finally(() => {
  if (session.phase === 'finished') return;
  ownMedia.start().then(() => {
    if (roomToken === null) alert.show(t('Deze link is niet compleet. Open de link uit uw e-mail of sms opnieuw.'));
  });
  checkNetwork();
});
