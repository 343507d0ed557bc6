// @ts-check
// The device check before joining (`#prejoin`): camera and microphone lines with the
// microphone's level meter, the sound test with its yes/no question, and the verdict of
// the connection test.

import { t } from '../../texts.js';
import { playTestTone, watchMicrophone } from '../devicecheck.js';

/** @typedef {import('./status.js').Announce} Announce */

/**
 * @typedef {object} DeviceCheckElements
 * @property {HTMLElement} camera
 * @property {HTMLElement} mic
 * @property {HTMLMeterElement} micLevel
 * @property {HTMLElement} sound
 * @property {HTMLButtonElement} soundButton
 * @property {HTMLElement} soundAnswer
 * @property {HTMLButtonElement} soundYes
 * @property {HTMLButtonElement} soundNo
 * @property {HTMLElement} network
 */

export class DeviceCheck {
  /** @type {(() => void) | null} stops the microphone's level meter */
  #stopMeter = null;

  /**
   * @param {DeviceCheckElements} elements
   * @param {Announce} announce
   */
  constructor(elements, announce) {
    this.elements = elements;
    const { sound, soundButton, soundAnswer, soundYes, soundNo } = elements;
    soundButton.addEventListener('click', async () => {
      soundButton.disabled = true;
      try {
        await playTestTone();
        sound.textContent = t('U hoorde net een toon (als uw geluid aan staat).');
        soundAnswer.hidden = false;
        soundYes.focus();
      } catch {
        sound.textContent = t('Deze browser kan geen testtoon laten horen.');
      } finally {
        soundButton.disabled = false;
      }
    });
    soundYes.addEventListener('click', () => {
      soundAnswer.hidden = true;
      const answer = t('Goed. Uw geluid werkt.');
      sound.textContent = answer;
      announce(answer);
      soundButton.focus();
    });
    soundNo.addEventListener('click', () => {
      soundAnswer.hidden = true;
      const advice = t('Zet het geluid harder. Of sluit een koptelefoon aan. Klik daarna nog een keer op "Geluid testen".');
      sound.textContent = advice;
      announce(advice);
      soundButton.focus();
    });
  }

  /**
   * The camera and microphone lines, and the level meter while a microphone is there.
   * @param {MediaStream | null} stream
   */
  show(stream) {
    const { camera, mic, micLevel } = this.elements;
    const hasVideo = Boolean(stream && stream.getVideoTracks().length);
    const hasAudio = Boolean(stream && stream.getAudioTracks().length);
    const missing = t('Werkt niet. Lees de melding bovenaan de pagina.');
    camera.textContent = hasVideo ? t('Goed. U ziet uzelf in het beeld.') : missing;
    mic.textContent = hasAudio ? t('Goed. Zeg iets: de balk beweegt als we u horen.') : missing;
    this.stopMeter();
    micLevel.hidden = !hasAudio;
    if (stream && hasAudio) {
      this.#stopMeter = watchMicrophone(stream, (level) => { micLevel.value = level; });
    }
  }

  /** The level meter runs only while the device check is on screen. */
  stopMeter() {
    if (this.#stopMeter) this.#stopMeter();
    this.#stopMeter = null;
  }

  /** @param {string} text the connection test's verdict */
  showNetwork(text) {
    this.elements.network.textContent = text;
  }
}
