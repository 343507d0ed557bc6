// @ts-check
// Switching a call to a richer channel with the resident's consent (docs/signaling.md,
// "Switching channel"): a chat to a voice or video call, a voice call to video.
//
// The specialist asks ("Overschakelen naar video"); the resident's page asks them in a
// dialog (Escape is no); the server relays the answer to everyone in the call. On yes every
// page switches the same way: the layout of the new channel, a connection for each other
// participant where a chat had none (made at once, so the offer that follows finds it), then
// the devices of the new channel (their problems shown as before the call), then the tracks,
// which renegotiate the connections through perfect negotiation. The chat stays.
//
// A page that joins, is admitted or resumes into a room that switched meanwhile switches
// the same way (the server's `channel` in `joined`, `admitted` and `resumed`).

import { t } from '../texts.js';
import { switchLayout } from './ui/channel.js';
import { byId, focusIfLost } from './ui/dom.js';

/** @typedef {import('./link.js').Channel} Channel */
/** @typedef {import('./signal.js').ServerMessage} ServerMessage */

const RICHNESS = { chat: 0, voice: 1, video: 2 };

/**
 * Whether `target` is a channel this page knows and carries more than `current`.
 * @param {unknown} target
 * @param {Channel} current
 * @returns {target is Channel}
 */
export function richer(target, current) {
  return (target === 'chat' || target === 'voice' || target === 'video') && RICHNESS[target] > RICHNESS[current];
}

/**
 * @typedef {object} SwitchParts
 * @property {{channel: Channel}} call what the call carries now (changed here)
 * @property {(message: import('./signal.js').ClientMessage) => void} send
 * @property {import('./ui/status.js').Announce} announce
 * @property {import('./media.js').LocalMedia} media
 * @property {import('./ui/own-media.js').OwnMedia} ownMedia
 * @property {import('./remotes.js').Remotes} remotes
 * @property {import('./ui/controls.js').Controls} controls
 * @property {import('./ui/call-card.js').CallCard} callCard
 * @property {import('./ui/chat.js').Chat} chat
 * @property {() => void} render
 * @property {() => boolean} specialist whether this page is the specialist's
 * @property {() => void} onSwitched the devices of the new channel were asked for
 */

export class ChannelSwitch {
  /** @type {HTMLElement | null} where the focus was before the dialog took it */
  #returnFocus = null;
  /** @type {Channel | null} the channel the resident is asked about */
  #asked = null;

  /** @param {SwitchParts} parts */
  constructor(parts) {
    this.parts = parts;
    this.elements = {
      voice: byId('switch-voice-btn', HTMLButtonElement),
      video: byId('switch-video-btn', HTMLButtonElement),
      dialog: byId('switch-dialog', HTMLDialogElement),
      question: byId('switch-question', HTMLElement),
      detail: byId('switch-detail', HTMLElement),
      yes: byId('switch-yes', HTMLButtonElement),
      no: byId('switch-no', HTMLButtonElement),
    };
    const { voice, video, dialog, yes, no } = this.elements;
    voice.addEventListener('click', () => this.#ask('voice'));
    video.addEventListener('click', () => this.#ask('video'));
    yes.addEventListener('click', () => this.#answer(true));
    no.addEventListener('click', () => this.#answer(false));
    // Escape means no
    dialog.addEventListener('cancel', (event) => {
      event.preventDefault();
      this.#answer(false);
    });
  }

  /** The server messages this part answers. @returns {Record<string, (message: ServerMessage) => void>} */
  get handlers() {
    return {
      switch: (message) => this.#asking(message),
      'switch-answer': (message) => this.#answered(message),
    };
  }

  /**
   * The specialist's buttons: only switches that are upgrades, with a resident in the call.
   * @param {{inCall: boolean, specialist: boolean}} state
   */
  render({ inCall, specialist }) {
    const { voice, video, dialog } = this.elements;
    const { call, remotes } = this.parts;
    const offer = inCall && specialist && remotes.roles.includes('resident');
    voice.hidden = !(offer && richer('voice', call.channel));
    video.hidden = !(offer && richer('video', call.channel));
    if (!inCall && dialog.open) this.#closeDialog();
  }

  /**
   * The room's channel from `joined`, `admitted` or `resumed`: a room that switched while
   * this page was away (or waiting) switches this page too.
   * @param {unknown} channel
   */
  adopt(channel) {
    if (richer(channel, this.parts.call.channel)) this.switchTo(channel);
  }

  /**
   * Switch this page to `next`: layout and connections at once, then the devices.
   * @param {Channel} next
   */
  async switchTo(next) {
    const { call, media, controls, callCard, chat, remotes, ownMedia, announce } = this.parts;
    if (!richer(next, call.channel)) return;
    call.channel = next;
    media.channel = next;
    controls.channel = next;
    callCard.channel = next;
    chat.keepAfterSwitch();
    switchLayout(next);
    remotes.upgrade(next);
    this.parts.render();
    await ownMedia.start();
    remotes.mediaReady();
    this.parts.onSwitched();
    this.parts.render();
    announce(this.switchedText());
    focusIfLost(controls.firstControl);
  }

  /** What the page says once the call carries the new channel. */
  switchedText() {
    return this.parts.call.channel === 'video'
      ? t('Het gesprek gaat nu verder met video.')
      : t('Het gesprek gaat nu verder met bellen.');
  }

  /** @param {Channel} channel */
  #ask(channel) {
    this.parts.send({ type: 'switch', channel });
    this.parts.announce(t('We vragen de inwoner of dat goed is.'));
  }

  /** @param {ServerMessage} message `switch`: the specialist asks this resident */
  #asking(message) {
    const { channel } = message;
    if (!richer(channel, this.parts.call.channel)) return;
    const { dialog, question, detail } = this.elements;
    this.#asked = channel;
    question.textContent = channel === 'video'
      ? t('De medewerker wil overschakelen naar video. Is dat goed?')
      : t('De medewerker wil overschakelen naar bellen. Is dat goed?');
    detail.textContent = channel === 'video'
      ? t('Dan vragen we om uw camera en microfoon.')
      : t('Dan vragen we om uw microfoon.');
    if (dialog.open) return;
    const active = document.activeElement;
    this.#returnFocus = active instanceof HTMLElement && active !== document.body ? active : null;
    // showModal moves the focus into the dialog (to "Nee", its autofocus)
    dialog.showModal();
  }

  /** @param {boolean} accept */
  #answer(accept) {
    const channel = this.#closeDialog();
    if (channel) this.parts.send({ type: 'switch-answer', channel, accept });
  }

  /** Close the question and give the focus back; the channel it asked about, if any. */
  #closeDialog() {
    const { dialog } = this.elements;
    const channel = this.#asked;
    this.#asked = null;
    if (!dialog.open) return channel;
    dialog.close();
    const back = this.#returnFocus;
    this.#returnFocus = null;
    if (back && back.isConnected && !back.closest('[hidden]')) back.focus();
    else focusIfLost(this.parts.controls.firstControl);
    return channel;
  }

  /** @param {ServerMessage} message `switch-answer`, to everyone in the call */
  #answered(message) {
    const { call, announce } = this.parts;
    // answered (here, or by another resident): the question is over
    this.#closeDialog();
    if (message.accept === true) {
      this.switchTo(message.channel);
    } else if (this.parts.specialist()) {
      announce(call.channel === 'voice'
        ? t('De inwoner wil liever blijven bellen.')
        : t('De inwoner wil liever blijven chatten.'));
    } else {
      announce(call.channel === 'voice' ? t('U blijft bellen.') : t('U blijft chatten.'));
    }
  }
}
