// @ts-check
// The own camera and microphone: asking for them (one missing device should not cost the
// other), what to tell the person when it fails, and whether each is switched on.

import { t } from '../texts.js';

const VIDEO = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 24 } };
const AUDIO = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };

/**
 * Advice for a voice call when the microphone could not be had (there is no camera to ask
 * for, so the words name the microphone only).
 * @param {unknown} error what getUserMedia threw
 */
export function microphoneAdvice(error) {
  const name = errorName(error);
  if (name === 'NotAllowedError' || name === 'SecurityError' || name === 'PermissionDeniedError') {
    return t('U heeft de microfoon niet toegestaan. Klik in de adresbalk op het slotje of op het microfoon-icoon. '
      + 'Kies bij microfoon voor "Toestaan". Klik daarna op "Microfoon opnieuw proberen". '
      + 'U kunt ook zo deelnemen, maar dan hoort de medewerker u niet.');
  }
  if (name === 'NotFoundError' || name === 'DevicesNotFoundError' || name === 'OverconstrainedError') {
    return t('We vinden geen microfoon. Sluit een headset aan. Klik daarna op "Microfoon opnieuw proberen".');
  }
  if (name === 'NotReadableError' || name === 'TrackStartError' || name === 'AbortError') {
    return t('Uw microfoon doet het nu niet. Misschien gebruikt een ander programma hem. '
      + 'Sluit dat programma. Klik daarna op "Microfoon opnieuw proberen".');
  }
  return t('Uw microfoon werkt niet. Probeer het opnieuw, of gebruik een ander apparaat.');
}

/**
 * Advice for the person when the camera or microphone (or both) could not be had.
 * @param {unknown} error what getUserMedia threw
 * @param {{gotAudio?: boolean, gotVideo?: boolean}} [got] which device did work
 */
export function mediaAdvice(error, { gotAudio = false, gotVideo = false } = {}) {
  if (gotAudio && !gotVideo) {
    return t('We vinden geen camera. De medewerker hoort u wel, maar ziet u niet.');
  }
  if (gotVideo && !gotAudio) {
    return t('We vinden geen microfoon. De medewerker ziet u wel, maar hoort u niet. U kunt de chat gebruiken.');
  }
  const name = errorName(error);
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

/**
 * The name of what getUserMedia threw ("NotAllowedError"), or ''.
 * @param {unknown} error
 * @returns {string}
 */
function errorName(error) {
  return error && typeof error === 'object' && 'name' in error && typeof error.name === 'string' ? error.name : '';
}

/**
 * @param {MediaStreamConstraints} constraints
 * @returns {Promise<{stream: MediaStream | null, error: unknown}>}
 */
async function tryGetUserMedia(constraints) {
  try {
    return { stream: await navigator.mediaDevices.getUserMedia(constraints), error: null };
  } catch (error) {
    return { stream: null, error };
  }
}


export class LocalMedia {
  /** @type {MediaStream | null} */
  stream = null;
  /** @type {import('./link.js').Channel} what the call sends: video, voice (no camera) or chat (nothing) */
  channel;
  // the person's choice; a missing device is off whatever they choose
  audioOn = true;
  videoOn = true;

  /** @param {import('./link.js').Channel} [channel] */
  constructor(channel = 'video') {
    this.channel = channel;
  }

  /** Whether this browser can ask for a camera at all. */
  get supported() {
    return Boolean(window.isSecureContext && navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
  }

  /**
   * Ask for camera and microphone, and for either one alone when both fail.
   * @returns {Promise<{stream: MediaStream, advice: string | null} | {stream: null, advice: string}>}
   *   the stream (also kept in `stream`) and, when something is missing, what to tell the person
   */
  async acquire() {
    if (this.channel === 'chat') {
      // A chat never asks: no device prompt, no camera or microphone light, nothing to send.
      this.stream = null;
      return { stream: null, advice: t('Bij een chat gebruiken we geen camera en geen microfoon.') };
    }
    if (this.channel === 'voice') {
      // A voice call never asks for the camera, not even as a fallback: `video: false`, so
      // the camera light stays off and no video track can reach a peer connection.
      const { stream: voice, error: voiceError } = await tryGetUserMedia({ audio: AUDIO, video: false });
      this.stream = voice;
      return voice ? { stream: voice, advice: null } : { stream: null, advice: microphoneAdvice(voiceError) };
    }
    let { stream, error } = await tryGetUserMedia({ audio: AUDIO, video: VIDEO });
    let advice = null;
    const name = errorName(error);
    if (!stream && error && name !== 'NotAllowedError' && name !== 'SecurityError') {
      // One missing device should not cost the other: a laptop without a camera can still talk.
      const audioOnly = await tryGetUserMedia({ audio: AUDIO, video: false });
      const videoOnly = audioOnly.stream ? { stream: null } : await tryGetUserMedia({ audio: false, video: VIDEO });
      stream = audioOnly.stream ?? videoOnly.stream;
      if (stream) {
        advice = mediaAdvice(error, { gotAudio: Boolean(audioOnly.stream), gotVideo: Boolean(videoOnly.stream) });
      }
    }
    this.stream = stream;
    return stream ? { stream, advice } : { stream: null, advice: mediaAdvice(error) };
  }

  /** The camera light must go out as soon as it is not needed. */
  stop() {
    if (this.stream) {
      for (const track of this.stream.getTracks()) track.stop();
    }
    this.stream = null;
  }

  /**
   * @param {string} kind 'audio' or 'video'
   * @returns {MediaStreamTrack | null}
   */
  track(kind) {
    return this.stream ? this.stream.getTracks().find((track) => track.kind === kind) ?? null : null;
  }

  /** Apply the choices to the tracks. */
  apply() {
    const audioTrack = this.track('audio');
    const videoTrack = this.track('video');
    // Disabling (not removing) the track keeps the sender, so turning it back on
    // needs no renegotiation.
    if (audioTrack) audioTrack.enabled = this.audioOn;
    if (videoTrack) videoTrack.enabled = this.videoOn;
  }

  /** What is really sent: switched on and there. */
  get sending() {
    return {
      audio: this.audioOn && this.track('audio') !== null,
      video: this.videoOn && this.track('video') !== null,
    };
  }
}
