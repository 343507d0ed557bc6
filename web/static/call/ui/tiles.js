// @ts-check
// The video tiles: one per other participant, with the role as caption and a short state
// ("verbinden…", "microfoon uit"), and the state line under the own camera image. In a voice
// call a tile plays the other person's sound in an <audio> element (nothing to see, nothing
// to focus) and shows only the caption; the call card (ui/call-card.js) says who it is with.

import { t } from '../../texts.js';
import { roleInSentence, roleLabel } from './words.js';

/**
 * @typedef {object} TileState
 * @property {boolean} away the peer's socket dropped; the server holds their seat
 * @property {RTCPeerConnectionState} connectionState
 * @property {{audio: boolean, video: boolean}} media what the peer says it sends
 */

/** One other participant's video in the list `#tiles`. */
export class RemoteTile {
  /**
   * @param {HTMLElement} list the tile list
   * @param {string} role the participant's role
   * @param {{audioOnly?: boolean}} [options] a voice call: sound only
   */
  constructor(list, role, { audioOnly = false } = {}) {
    const item = document.createElement('li');
    item.className = audioOnly ? 'tile tile-remote tile-voice' : 'tile tile-remote';
    const figure = document.createElement('figure');
    figure.className = 'tile-figure';
    /** @type {HTMLMediaElement} */
    let video;
    if (audioOnly) {
      // no controls: not shown, not in the tab order; it only plays
      video = document.createElement('audio');
      video.setAttribute('autoplay', '');
      video.autoplay = true;
    } else {
      const picture = document.createElement('video');
      picture.className = 'tile-video';
      // iOS Safari plays full screen without playsinline; the attribute, not only the property.
      picture.setAttribute('playsinline', '');
      picture.playsInline = true;
      picture.setAttribute('autoplay', '');
      picture.autoplay = true;
      picture.setAttribute('aria-label', t('Beeld van {who}', { who: roleInSentence(role) }));
      video = picture;
    }
    this.audioOnly = audioOnly;
    const caption = document.createElement('figcaption');
    caption.className = 'tile-caption';
    const name = document.createElement('span');
    name.className = 'tile-role';
    name.textContent = roleLabel(role);
    const state = document.createElement('span');
    state.className = 'tile-state';
    caption.append(name, ' ', state);
    figure.append(video, caption);
    item.append(figure);
    list.append(item);
    this.item = item;
    this.video = video;
    this.state = state;
    // for tracks that arrive without a stream
    this.stream = new MediaStream();
    // a tile made by a switch of channel plays every track in its own stream
    this.merged = false;
  }

  /**
   * Show a remote track (the peer's `track` event).
   * @param {MediaStreamTrack} track
   * @param {readonly MediaStream[]} streams
   */
  showTrack(track, streams) {
    const { video } = this;
    // After a switch of channel the new tracks may come in another stream than the sound
    // that played before: a tile then plays its own stream, one track of each kind.
    let stream = streams[0] ?? this.stream;
    if (this.merged || stream === this.stream) {
      stream = this.stream;
      for (const old of this.stream.getTracks()) {
        if (old.kind === track.kind && old !== track) this.stream.removeTrack(old);
      }
      if (!this.stream.getTracks().includes(track)) this.stream.addTrack(track);
    }
    if (video.srcObject !== stream) video.srcObject = stream;
    video.play().catch(() => {});
  }

  /** @param {TileState} state */
  update({ away, connectionState, media }) {
    const notes = [];
    if (away) notes.push(t('verbinding even weg'));
    else if (connectionState === 'connecting' || connectionState === 'new') notes.push(t('verbinden…'));
    else if (connectionState === 'failed' || connectionState === 'disconnected') {
      notes.push(t('verbinding slecht'));
    }
    if (!media.audio) notes.push(t('microfoon uit'));
    if (!media.video && !this.audioOnly) notes.push(t('camera uit'));
    this.state.textContent = notes.length ? `(${notes.join(', ')})` : '';
  }

  remove() {
    this.video.srcObject = null;
    this.item.remove();
  }
}

/**
 * The state line under the own camera image.
 * @param {HTMLElement} element
 * @param {{audio: boolean, video: boolean}} sending whether microphone and camera are on (and there)
 */
export function showSelfState(element, sending) {
  const notes = [];
  if (!sending.audio) notes.push(t('microfoon uit'));
  if (!sending.video) notes.push(t('camera uit'));
  element.textContent = notes.length ? `(${notes.join(', ')})` : '';
}
