// @ts-check
// What a call without video changes on the page before anything else runs (the token's
// `channel` claim, link.js): the title, the device check's lines and the words around them,
// and for a walk-in counter the waiting room's words. The server renders the page without
// knowing the channel (the token rides in the fragment, which browsers never send), so the
// page says it itself. The dynamic parts (controls, the call card, the chat) ask `channel`
// themselves.

import { t } from '../../texts.js';
import { byId } from './dom.js';

/** @typedef {import('../link.js').Channel} Channel */

/**
 * The texts that differ per channel. Video keeps the template's own words.
 * @param {Channel} channel
 */
export function channelTexts(channel) {
  if (channel === 'voice') {
    return {
      title: t('Bellen met de gemeente'),
      intro: t('U belt met de gemeente via internet. U heeft alleen een microfoon nodig. Zet het geluid van uw computer of telefoon aan.'),
      stage: t('Gesprek'),
      retry: t('Microfoon opnieuw proberen'),
      check: t('Controleer uw microfoon en geluid.'),
    };
  }
  if (channel === 'chat') {
    return {
      title: t('Chatten met de gemeente'),
      intro: t('U chat met de gemeente: u typt berichten. U heeft geen camera of microfoon nodig.'),
      stage: t('Gesprek'),
      retry: '',
      check: t('We testen uw verbinding.'),
    };
  }
  return null;
}

/**
 * What is ready when the device check is done, for a call without video (null: the camera
 * and microphone, as the page always said; '' for a chat, which needs no device).
 * @param {Channel} channel
 * @returns {string | null}
 */
export function readyWords(channel) {
  if (channel === 'voice') return t('Uw microfoon is klaar.');
  return channel === 'chat' ? '' : null;
}

/**
 * Say the page's words for this channel and counter, and hide what it will never use. The
 * elements are the template's, looked up here: each is used once, at the start.
 * @param {{channel: Channel, walkin: boolean}} call
 * @returns {string | null} what to announce first instead of "check your camera", if anything
 */
export function applyChannel({ channel, walkin }) {
  const elements = {
    title: byId('page-title', HTMLElement),
    intro: byId('prejoin-intro', HTMLElement),
    cameraRow: byId('check-camera-row', HTMLElement),
    micRow: byId('check-mic-row', HTMLElement),
    soundRow: byId('check-sound-row', HTMLElement),
    stageTitle: byId('stage-title', HTMLElement),
    retry: byId('media-retry-btn', HTMLButtonElement),
    lobbyIntro: byId('lobby-intro', HTMLElement),
  };
  // the style sheet lays out a call without video by this (call.css, "Voice and chat")
  document.body.dataset.channel = channel;
  if (walkin) elements.lobbyIntro.textContent = walkinLobbyText();
  const texts = channelTexts(channel);
  if (!texts) return null;
  elements.title.textContent = texts.title;
  document.title = `${texts.title} – Balie`;
  elements.intro.textContent = texts.intro;
  elements.stageTitle.textContent = texts.stage;
  // No camera in either; chat needs no microphone and plays no sound either, so its
  // device check is only the connection.
  elements.cameraRow.hidden = true;
  elements.micRow.hidden = channel === 'chat';
  elements.soundRow.hidden = channel === 'chat';
  elements.retry.textContent = texts.retry;
  return texts.check;
}

/** The walk-in waiting room's words: a queue, not an appointment's waiting room. */
export function walkinLobbyText() {
  return t('U staat in de wachtrij. Een medewerker helpt u zo snel mogelijk.');
}

/**
 * The page of a call that switched to a richer channel in the call (switching.js): the
 * style sheet's layout of that channel, and its title.
 * @param {Channel} channel
 */
export function switchLayout(channel) {
  document.body.dataset.channel = channel;
  const texts = channelTexts(channel);
  const title = texts ? texts.title : t('Videogesprek met de gemeente');
  byId('page-title', HTMLElement).textContent = title;
  document.title = `${title} – Balie`;
  byId('stage-title', HTMLElement).textContent = texts ? texts.stage : t('Beeld');
}
