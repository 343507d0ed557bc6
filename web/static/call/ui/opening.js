// @ts-check
// When the call opens (`#opening`, before joining): a join link opened early says when the
// call starts and from when one can enter (with the date when that is not today), keeps
// "Deelnemen" off until then and opens by itself at that moment; the page then announces it
// in the status line, without moving the focus. After the call's time the page says the
// call is over (ui/finished.js). A room without an appointment that is open says nothing.

import { t } from '../../texts.js';
import { clockTime, dayInWords, nextLook, openingAt, sameDay } from '../schedule.js';
import { TIME_LOCALE } from './words.js';

/** @typedef {import('./status.js').Announce} Announce */
/** @typedef {import('../schedule.js').Opening} Opening */
/** @typedef {import('../appointment.js').RoomSchedule} RoomSchedule */

/**
 * @typedef {object} OpeningElements
 * @property {HTMLElement} box
 * @property {HTMLElement} when when the call starts
 * @property {HTMLElement} from from when one can enter
 * @property {HTMLElement} advice what to do meanwhile
 */

/**
 * @typedef {object} OpeningOptions
 * @property {Announce} announce
 * @property {(opening: Opening) => void} onChange the call opened, or its time passed
 */

/**
 * A moment in words, with its date unless it is today.
 * @param {Date} moment
 * @param {number} now
 */
function moment(moment, now) {
  const time = clockTime(moment, TIME_LOCALE);
  return sameDay(moment, new Date(now)) ? { time, date: null } : { time, date: dayInWords(moment, TIME_LOCALE) };
}

export class OpeningNotice {
  /** @type {RoomSchedule | null} */
  #schedule = null;
  /** @type {Opening} */
  #opening = 'open';
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #timer = undefined;

  /**
   * @param {OpeningElements} elements
   * @param {OpeningOptions} options
   */
  constructor(elements, options) {
    this.elements = elements;
    this.options = options;
  }

  /** The server's clock as this browser reads it (ms since the epoch). */
  now() {
    return Date.now() + (this.#schedule?.offset ?? 0);
  }

  /** Where the call stands: without a schedule (not asked, or no answer) it is open. */
  get opening() {
    return this.#opening;
  }

  get schedule() {
    return this.#schedule;
  }

  /**
   * The server's answer: show it, and look again when the call opens or closes.
   * @param {RoomSchedule} schedule
   */
  show(schedule) {
    this.#schedule = schedule;
    this.#opening = this.#current();
    this.#render(false);
    this.#lookLater();
  }

  /**
   * What to say when the device check is done.
   * @param {string | null} [ready] for a call without video, what is ready ("Uw microfoon is
   *   klaar.", or '' for a chat, which needs no device); null: the camera and microphone
   */
  readyText(ready = null) {
    const schedule = this.#schedule;
    if (ready !== null) {
      let when = t('Klik op "Deelnemen".');
      if (this.#opening === 'early' && schedule?.opensAt) {
        const from = moment(schedule.opensAt, this.now());
        when = from.date
          ? t('U kunt deelnemen vanaf {date} om {time}.', { date: from.date, time: from.time })
          : t('U kunt deelnemen vanaf {time}.', { time: from.time });
      }
      return ready ? `${ready} ${when}` : when;
    }
    if (this.#opening === 'early' && schedule?.opensAt) {
      const from = moment(schedule.opensAt, this.now());
      return from.date
        ? t('Uw camera en microfoon zijn klaar. U kunt deelnemen vanaf {date} om {time}.', { date: from.date, time: from.time })
        : t('Uw camera en microfoon zijn klaar. U kunt deelnemen vanaf {time}.', { time: from.time });
    }
    return t('Uw camera en microfoon zijn klaar. Klik op "Deelnemen".');
  }

  /** @returns {Opening} */
  #current() {
    const schedule = this.#schedule;
    if (!schedule) return 'open';
    return openingAt({ now: this.now(), opensAt: schedule.opensAt, closesAt: schedule.closesAt });
  }

  #lookLater() {
    clearTimeout(this.#timer);
    const schedule = this.#schedule;
    if (!schedule || this.#opening === 'over') return;
    const target = this.#opening === 'early' ? schedule.opensAt : schedule.closesAt;
    if (!target) return;
    this.#timer = setTimeout(() => this.#look(), nextLook(this.now(), target));
  }

  #look() {
    const before = this.#opening;
    this.#opening = this.#current();
    if (this.#opening !== before) {
      this.#render(true);
      this.options.onChange(this.#opening);
    }
    this.#lookLater();
  }

  /** @param {boolean} changed the call opened just now (announce it) */
  #render(changed) {
    const { box, when, from, advice } = this.elements;
    const schedule = this.#schedule;
    const appointment = schedule?.appointment ?? null;
    const now = this.now();
    box.hidden = this.#opening === 'over' || (this.#opening === 'open' && !appointment);
    if (box.hidden || !schedule) return;
    if (appointment) {
      const start = moment(appointment.start, now);
      when.textContent = start.date
        ? t('Uw gesprek is op {date} om {time}.', { date: start.date, time: start.time })
        : t('Uw gesprek is vandaag om {time}.', { time: start.time });
    }
    when.hidden = !appointment;
    if (this.#opening === 'early' && schedule.opensAt) {
      const opens = moment(schedule.opensAt, now);
      from.textContent = opens.date
        ? t('U kunt deelnemen vanaf {date} om {time}.', { date: opens.date, time: opens.time })
        : t('U kunt deelnemen vanaf {time}.', { time: opens.time });
      advice.textContent = opens.date
        ? t('Open deze link op die dag opnieuw. U kunt nu alvast uw camera en geluid testen.')
        : t('Laat deze pagina open. De knop "Deelnemen" gaat dan vanzelf aan. U kunt nu alvast uw camera en geluid testen.');
    } else {
      from.textContent = t('U kunt nu deelnemen.');
      advice.textContent = '';
    }
    advice.hidden = !advice.textContent;
    if (changed && this.#opening === 'open') {
      this.options.announce(t('Het is tijd. U kunt nu deelnemen. Klik op "Deelnemen".'));
    }
  }
}
