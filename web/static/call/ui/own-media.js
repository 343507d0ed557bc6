// @ts-check
// The own camera and microphone on the page: asking for them (with advice when that fails),
// the own picture, the device check's lines, and the microphone and camera buttons with
// their state. The devices themselves are media.js's.

import { t } from '../../texts.js';
import { showSelfState } from './tiles.js';

/** @typedef {import('./status.js').Announce} Announce */
/** @typedef {import('../media.js').LocalMedia} LocalMedia */

/**
 * @typedef {object} OwnMediaParts
 * @property {LocalMedia} media
 * @property {HTMLVideoElement} video the own picture
 * @property {HTMLElement} state the line under the own picture
 * @property {HTMLButtonElement} retry "Camera en microfoon opnieuw proberen"
 * @property {import('./prejoin.js').DeviceCheck} deviceCheck
 * @property {import('./controls.js').Controls} controls
 * @property {import('./status.js').Alert} alert
 * @property {Announce} announce
 * @property {() => string} readyText what to say when the devices are ready
 * @property {() => void} onChange asking started or ended (the join button follows)
 */

export class OwnMedia {
  #asking = false;

  /** @param {OwnMediaParts} parts */
  constructor(parts) {
    this.parts = parts;
  }

  /** Whether the page is still asking for the camera and microphone. */
  get asking() {
    return this.#asking;
  }

  /** Ask for camera and microphone (again), and show what we got. */
  async start() {
    const { media, video, retry, deviceCheck, alert, announce } = this.parts;
    this.stop();
    retry.hidden = true;
    if (media.channel === 'chat') {
      // A chat asks for no device at all: nothing to wait for, nothing to show.
      this.show();
      announce(this.parts.readyText());
      this.parts.onChange();
      return;
    }
    const voice = media.channel === 'voice';
    this.#setAsking(true);
    if (!media.supported) {
      alert.show(t('Deze browser kan uw camera niet gebruiken. Gebruik een nieuwe versie van Chrome, Edge, Firefox of Safari.'));
      this.#setAsking(false);
      return;
    }
    announce(voice ? t('We vragen toegang tot uw microfoon.') : t('We vragen toegang tot uw camera en microfoon.'));
    const { stream, advice } = await media.acquire();
    deviceCheck.show(stream);
    if (stream) {
      // a voice call has no own picture (its tile is hidden): nothing to play
      if (!voice) {
        video.srcObject = stream;
        video.play().catch(() => {});
      }
      if (advice) {
        alert.show(advice);
        retry.hidden = false;
      } else {
        alert.clear();
      }
      this.show();
      announce(this.parts.readyText());
    } else {
      alert.show(advice);
      retry.hidden = false;
      announce(voice ? t('Uw microfoon is niet beschikbaar.') : t('Uw camera en microfoon zijn niet beschikbaar.'));
      this.show();
    }
    this.#setAsking(false);
  }

  /** The camera light must go out as soon as the camera is not needed. */
  stop() {
    this.parts.deviceCheck.stopMeter();
    this.parts.media.stop();
    this.parts.video.srcObject = null;
  }

  /** Apply the microphone and camera choices, and show them. */
  show() {
    const { media, controls, state } = this.parts;
    media.apply();
    controls.showMedia({
      audioOn: media.audioOn,
      videoOn: media.videoOn,
      hasAudio: media.track('audio') !== null,
      hasVideo: media.track('video') !== null,
    });
    // (without a camera in the call, "camera uit" would say nothing)
    showSelfState(state, media.channel === 'video' ? media.sending : { ...media.sending, video: true });
  }

  /** The microphone button: switch it, show it, say it. */
  toggleAudio() {
    const { media, announce } = this.parts;
    media.audioOn = !media.audioOn;
    this.show();
    announce(media.audioOn ? t('Uw microfoon staat aan.') : t('Uw microfoon staat uit.'));
  }

  /** The camera button: switch it, show it, say it. */
  toggleVideo() {
    const { media, announce } = this.parts;
    media.videoOn = !media.videoOn;
    this.show();
    announce(media.videoOn ? t('Uw camera staat aan.') : t('Uw camera staat uit.'));
  }

  /** Both on again, for a new start. */
  reset() {
    this.parts.media.audioOn = true;
    this.parts.media.videoOn = true;
  }

  /** @param {boolean} asking */
  #setAsking(asking) {
    this.#asking = asking;
    this.parts.onChange();
  }
}
