// @ts-check
// The page's phase and the ways between them: joining (the identity step first when the
// room asks for it), the lobby, the call, leaving, ending the call for everyone, and the end
// (ui/finished.js). It also answers the signalling session's events (signal.js): joined,
// resumed, a lost seat, a final close.
//
//   prejoin ──join──▶ connecting ──joined──▶ lobby ──admitted──▶ call
//      ▲                  │                    └───────────────────┴──▶ finished
//      └── rejoin / a token whose time has not come / identity asked again

import { t } from '../texts.js';
import { CLOSE } from './close-codes.js';
import { fetchVerification, problemText } from './identity.js';
import { walkinLobbyText } from './ui/channel.js';
import { focusIfLost } from './ui/dom.js';
import { closedText } from './ui/finished.js';

/** @typedef {import('./signal.js').ServerMessage} ServerMessage */
/** @typedef {'prejoin' | 'connecting' | 'lobby' | 'call' | 'finished'} Phase */

// If the server never confirms "end for everyone" (socket gone), stop on this side anyway.
const END_CONFIRM_MS = 5000;

/**
 * What the session works with; the page (call.js) builds the parts.
 * @typedef {object} SessionParts
 * @property {string | null} room
 * @property {string | null} token the room token (memory only)
 * @property {string | null} bookingUrl where a resident makes a new appointment
 * @property {import('./signal.js').SignalSession} signal
 * @property {import('./remotes.js').Remotes} remotes
 * @property {import('./ui/own-media.js').OwnMedia} ownMedia
 * @property {import('./ui/verify.js').IdentityStep} identityStep
 * @property {import('./ui/opening.js').OpeningNotice} opening
 * @property {import('./ui/status.js').Alert} alert
 * @property {import('./ui/status.js').Announce} announce
 * @property {import('./ui/controls.js').Controls} controls
 * @property {import('./ui/chat.js').Chat} chat
 * @property {import('./ui/lobby.js').WaitingRoom} waitingRoom
 * @property {import('./ui/finished.js').FinishedScreen} finished
 * @property {HTMLElement} lobbyTitle where the focus goes on entering the lobby
 * @property {HTMLButtonElement} joinButton
 * @property {() => void} render
 * @property {() => void} onCallEntered the call started (the page sends its media state…)
 * @property {() => void} checkNetwork the device check's connection test
 * @property {() => void} onTooEarly the server found the token's time not come yet
 * @property {boolean} [walkin] the waiting room is a walk-in counter's queue
 */

export class CallSession {
  /** @type {Phase} */
  phase = 'prejoin';
  /** @type {string | null} */
  role = null;
  /** @type {string | null} */
  participantId = null;
  /** @type {RTCIceServer[]} */
  iceServers = [];
  /** asking the server whether we may join (the join button waits) */
  joining = false;
  // this page asked to end the call for everyone
  #endRequested = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #endTimer = undefined;
  // the resident was in the call: the end page says what happens now
  #wasInCall = false;
  // the last error code the server sent, read when the socket closes for good
  /** @type {string | null} */
  #lastError = null;

  /** @param {SessionParts} parts */
  constructor(parts) {
    this.parts = parts;
  }

  // ------------------------------------------------------------ joining

  /** "Deelnemen": the identity step first when the room needs it, then the socket. */
  async join() {
    const { room, token, alert, identityStep, opening } = this.parts;
    if (!token || !room || this.phase !== 'prejoin' || identityStep.active || this.joining) return;
    if (opening.opening !== 'open') return;
    alert.clear();
    this.joining = true;
    this.parts.render();
    let state;
    try {
      state = await fetchVerification(room, token);
    } catch (error) {
      alert.show(problemText(error, t('Het lukt nu niet om deel te nemen. Probeer het over een minuut opnieuw.')));
      return;
    } finally {
      this.joining = false;
      this.parts.render();
    }
    if (state.role === 'resident' && state.required && !state.verified) {
      identityStep.start(state);
      return;
    }
    this.connect();
  }

  /** Open the socket (after the identity step, when there was one). */
  connect() {
    this.phase = 'connecting';
    this.#lastError = null;
    this.parts.render();
    this.parts.announce(t('Verbinding maken…'));
    this.parts.signal.start();
  }

  /** "Opnieuw verbinden" */
  retryNow() {
    const { signal, alert, announce } = this.parts;
    if (this.phase === 'finished' || signal.socket) return;
    alert.clear();
    announce(t('Verbinding maken…'));
    signal.retryNow();
  }

  /** "Opnieuw deelnemen": back to the device check with a fresh seat. */
  async rejoin() {
    this.resetSeat();
    this.phase = 'prejoin';
    this.parts.ownMedia.reset();
    this.parts.render();
    this.parts.joinButton.focus();
    await this.parts.ownMedia.start();
    this.parts.checkNetwork();
  }

  /** Forget the seat: the next connect joins with the token. */
  resetSeat() {
    this.parts.remotes.removeAll();
    this.parts.signal.resetSeat();
    this.participantId = null;
    this.phase = 'connecting';
  }

  enterLobby() {
    const wasConnecting = this.phase === 'connecting';
    this.phase = 'lobby';
    this.parts.render();
    this.parts.announce(this.parts.walkin ? walkinLobbyText() : t('U bent in de wachtkamer. De medewerker laat u zo binnen.'));
    if (wasConnecting) focusIfLost(this.parts.lobbyTitle);
  }

  /**
   * @param {unknown} peerList
   * @param {{admitted: boolean}} options
   */
  enterCall(peerList, { admitted }) {
    const { remotes, waitingRoom, controls, announce } = this.parts;
    this.phase = 'call';
    this.#wasInCall = true;
    waitingRoom.clear();
    remotes.addAll(peerList);
    this.parts.render();
    this.parts.onCallEntered();
    let text = admitted ? t('U bent toegelaten. U bent nu in gesprek.') : t('U bent verbonden.');
    // (t() stays outside template literals: the extraction does not look inside them)
    if (remotes.size === 0) text += ' ' + t('Er is nog niemand anders in het gesprek.');
    announce(text);
    // A chat-only call is its chat: the person can type at once. This is the only moment
    // the chat takes the focus.
    if (this.parts.chat.main) this.parts.chat.focusInput();
    else focusIfLost(controls.firstControl);
  }

  // ------------------------------------------------------------ leaving and ending

  /**
   * The end: stop everything, say why and what comes next.
   * @param {string} text
   * @param {{detail?: string | null, rejoin?: boolean, over?: boolean}} [options]
   *   `over`: the link's time has passed (nothing to give feedback on)
   */
  finish(text, { detail = null, rejoin = false, over = false } = {}) {
    const { signal, remotes, ownMedia, controls, chat, alert, finished, room, token, opening } = this.parts;
    if (this.phase === 'finished') return;
    this.phase = 'finished';
    signal.stop();
    clearTimeout(this.#endTimer);
    remotes.removeAll();
    // The camera light must go out as soon as the call is over.
    ownMedia.stop();
    controls.closeDialog();
    chat.close();
    const appointment = opening.schedule?.appointment ?? null;
    // the resident's page, or a page opened after its time (no seat yet, so no role)
    const resident = this.role === 'resident' || (over && this.role === null);
    finished.show({
      text,
      detail,
      rejoin,
      resident: resident ? {
        afterCall: this.#wasInCall,
        // Residents may rate the call: the form posts the token from memory, never in a URL.
        feedback: this.role === 'resident' && room && token ? { room, token } : null,
        reference: appointment?.reference ?? null,
        bookingUrl: over ? this.parts.bookingUrl : null,
      } : null,
      specialist: this.role === 'specialist' ? { outcomeUrl: appointment?.outcomeUrl ?? null } : null,
    }, { canRejoin: Boolean(token) });
    alert.clear();
    this.parts.render();
    this.parts.announce(text);
    finished.focus();
  }

  /** "Ophangen", "Wachtkamer verlaten" or "Wachtrij verlaten" */
  leave() {
    if (this.phase === 'finished') return;
    if (this.parts.signal.connected) this.parts.signal.send({ type: 'leave' });
    let text = t('U heeft het gesprek verlaten.');
    if (this.phase === 'lobby') text = this.parts.walkin ? t('U heeft de wachtrij verlaten.') : t('U heeft de wachtkamer verlaten.');
    this.finish(text, {
      detail: t('U kunt dit venster nu sluiten.'),
      rejoin: true,
    });
  }

  /** The specialist confirmed "Gesprek beëindigen voor iedereen". */
  endForEveryone() {
    if (this.phase !== 'call' || this.role !== 'specialist') return;
    this.#endRequested = true;
    this.parts.signal.send({ type: 'end' });
    this.parts.announce(t('Het gesprek wordt beëindigd…'));
    this.#endTimer = setTimeout(() => this.finish(t('U heeft het gesprek beëindigd voor iedereen.')), END_CONFIRM_MS);
  }

  /** @param {ServerMessage} message `ended` */
  onEnded(message) {
    // `by` names the ender's role or id; only this page knows whether it asked to end.
    const byMe = this.#endRequested || (message.by !== undefined && message.by === this.participantId);
    this.finish(byMe ? t('U heeft het gesprek beëindigd voor iedereen.') : t('De medewerker heeft het gesprek beëindigd.'));
  }

  /** @param {ServerMessage} message `denied` */
  onDenied(message) {
    const note = typeof message.message === 'string' && message.message ? message.message : null;
    this.finish(t('De medewerker heeft u niet toegelaten.'), {
      detail: note ? t('Bericht van de medewerker: {note}', { note }) : null,
    });
  }

  /** The call's time has passed before the person joined. */
  over() {
    this.finish(t('Dit gesprek is voorbij.'), {
      detail: t('De tijd van deze afspraak is om. Daarom kunt u niet meer deelnemen met deze link.'),
      over: true,
    });
  }

  /** @param {ServerMessage} message an `error` frame */
  noteError(message) {
    this.#lastError = typeof message.code === 'string' ? message.code : null;
  }

  // ------------------------------------------------------------ the signalling session's events

  /** @param {ServerMessage} message */
  onJoined(message) {
    // A join starts a fresh seat.
    this.parts.remotes.removeAll();
    this.participantId = typeof message.participant_id === 'string' ? message.participant_id : null;
    this.role = typeof message.role === 'string' ? message.role : null;
    this.iceServers = Array.isArray(message.ice_servers) ? message.ice_servers : [];
    this.parts.alert.clear();
    if (message.state === 'call') {
      this.enterCall(message.peers, { admitted: false });
    } else {
      this.enterLobby();
    }
  }

  /** @param {ServerMessage} message */
  onResumed(message) {
    const { remotes, alert, announce } = this.parts;
    alert.clear();
    if (message.resync === true) {
      // Messages were lost, so our picture of the room may be stale: rebuild it
      // from the server's list and renegotiate every connection.
      if (message.state === 'call') {
        if (this.phase !== 'call') this.enterCall(message.peers, { admitted: true });
        remotes.reconcile(message.peers);
        remotes.restartAll();
      } else if (message.state === 'lobby' && this.phase !== 'lobby') {
        remotes.removeAll();
        this.enterLobby();
      }
    }
    announce(this.phase === 'lobby'
      ? t('De verbinding is hersteld. U bent nog in de wachtkamer.')
      : t('De verbinding is hersteld.'));
  }

  onSeatLost() {
    // The seat expired while we were away; signal.js joins again with the token.
    // The others already closed their connections to the old seat.
    this.resetSeat();
    this.parts.render();
    this.parts.announce(t('De verbinding was te lang weg. We melden u opnieuw aan.'));
  }

  /**
   * The server wants proof of identity first (or again): back to that step.
   * @returns {Promise<void>}
   */
  async onVerifyRequired() {
    const { room, token, identityStep, alert } = this.parts;
    this.resetSeat();
    this.phase = 'prejoin';
    this.parts.render();
    try {
      identityStep.start(await fetchVerification(room ?? '', token ?? ''));
    } catch (error) {
      alert.show(problemText(error, t('Het lukt nu niet om deel te nemen. Probeer het over een minuut opnieuw.')));
    }
  }

  /** @param {{code: number}} detail the final close code */
  onFinal({ code }) {
    if (code === CLOSE.TOKEN_REFUSED && this.#lastError === 'token-not-yet-valid' && this.phase !== 'finished') {
      // Too early after all (this browser's clock is ahead): wait for the opening again.
      this.resetSeat();
      this.phase = 'prejoin';
      this.parts.render();
      this.parts.onTooEarly();
      return;
    }
    if (code === CLOSE.TOKEN_REFUSED && this.#lastError === 'token-expired' && this.phase === 'connecting') {
      this.over();
      return;
    }
    this.finish(closedText(code), { rejoin: code === CLOSE.NORMAL || code === CLOSE.REPLACED });
  }
}
