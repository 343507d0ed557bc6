// @ts-check
// The call's controls: microphone, camera, hang up, and (for the specialist) ending the
// call for everyone behind a confirmation dialog. The chat button in the same group
// belongs to ui/chat.js.
//
// The microphone and camera buttons say what they do ("Microfoon uitzetten"); what is on
// now is said apart from them, in a line each button names as its description (and the
// page announces a change). A button whose name says the action carries no aria-pressed:
// "Microfoon uit, ingedrukt" could be read either way.
//
// A voice call has no camera button (it never has a camera), a chat neither a microphone
// button: a button that can never do anything is only one more stop for the keyboard.

import { t } from '../../texts.js';

/**
 * @typedef {object} ControlElements
 * @property {HTMLElement} group the controls' group
 * @property {HTMLButtonElement} mic
 * @property {HTMLButtonElement} cam
 * @property {HTMLElement} micState what the microphone does now
 * @property {HTMLElement} camState what the camera does now
 * @property {HTMLElement} mediaState the line with both states
 * @property {HTMLButtonElement} leave
 * @property {HTMLButtonElement} end
 * @property {HTMLDialogElement} endDialog
 * @property {HTMLButtonElement} endConfirm
 * @property {HTMLButtonElement} endCancel
 */

/**
 * @typedef {object} ControlActions
 * @property {() => void} onMic the microphone button was pressed
 * @property {() => void} onCam the camera button was pressed
 * @property {() => void} onLeave hang up (or leave the waiting room)
 * @property {() => void} onEnd the specialist confirmed ending the call for everyone
 */

export class Controls {
  /**
   * @param {ControlElements} elements
   * @param {ControlActions} actions
   * @param {{channel?: import('../link.js').Channel, walkin?: boolean}} [call] what the call
   *   sends, and whether the waiting room is a walk-in counter's queue
   */
  constructor(elements, actions, { channel = 'video', walkin = false } = {}) {
    this.elements = elements;
    this.channel = channel;
    this.walkin = walkin;
    const { mic, cam, leave, end, endDialog, endConfirm, endCancel } = elements;
    mic.addEventListener('click', actions.onMic);
    cam.addEventListener('click', actions.onCam);
    leave.addEventListener('click', actions.onLeave);
    end.addEventListener('click', () => {
      endDialog.showModal();
    });
    endCancel.addEventListener('click', () => {
      endDialog.close();
    });
    endConfirm.addEventListener('click', () => {
      endDialog.close();
      actions.onEnd();
    });
    endDialog.addEventListener('close', () => {
      if (!end.hidden) end.focus();
    });
  }

  /**
   * Which controls show, for the page's phase.
   * @param {{phase: string, specialist: boolean}} state
   */
  render({ phase, specialist }) {
    const { group, leave, end, mic, micState, cam, camState, mediaState } = this.elements;
    const inCall = phase === 'call';
    group.hidden = !(phase === 'lobby' || inCall);
    end.hidden = !(inCall && specialist);
    cam.hidden = this.channel !== 'video';
    camState.hidden = cam.hidden;
    mic.hidden = this.channel === 'chat';
    micState.hidden = mic.hidden;
    mediaState.hidden = mic.hidden && cam.hidden;
    if (phase === 'lobby') leave.textContent = this.walkin ? t('Wachtrij verlaten') : t('Wachtkamer verlaten');
    else leave.textContent = this.channel === 'chat' ? t('Chat verlaten') : t('Ophangen');
  }

  /**
   * The microphone and camera buttons (disabled without the device) and their state lines.
   * @param {{audioOn: boolean, videoOn: boolean, hasAudio: boolean, hasVideo: boolean}} state
   */
  showMedia({ audioOn, videoOn, hasAudio, hasVideo }) {
    const { mic, cam, micState, camState } = this.elements;
    mic.disabled = !hasAudio;
    cam.disabled = !hasVideo;
    const micOn = audioOn && hasAudio;
    const camOn = videoOn && hasVideo;
    mic.textContent = micOn || !hasAudio ? t('Microfoon uitzetten') : t('Microfoon aanzetten');
    cam.textContent = camOn || !hasVideo ? t('Camera uitzetten') : t('Camera aanzetten');
    mic.classList.toggle('is-off', !micOn);
    cam.classList.toggle('is-off', !camOn);
    if (!hasAudio) micState.textContent = t('Geen microfoon gevonden.');
    else micState.textContent = micOn ? t('Uw microfoon staat aan.') : t('Uw microfoon staat uit.');
    if (!hasVideo) camState.textContent = t('Geen camera gevonden.');
    else camState.textContent = camOn ? t('Uw camera staat aan.') : t('Uw camera staat uit.');
  }

  /** Where the focus goes when the call starts. */
  get firstControl() {
    const { mic, leave } = this.elements;
    return mic.disabled || mic.hidden ? leave : mic;
  }

  closeDialog() {
    const { endDialog } = this.elements;
    if (endDialog.open) endDialog.close();
  }
}
