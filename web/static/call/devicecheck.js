// @ts-check
// Device check before joining (design §2 "Prepare"): a test tone for the speakers,
// and a connection test against the server (round trip, failed requests) and the
// configured STUN/TURN servers (can this network reach them?), ending in one
// plain-language verdict. Nothing is stored; nothing leaves but the test requests.

import { t } from '../texts.js';

/** @typedef {typeof AudioContext} AudioContextType */

/** The page's AudioContext constructor (Safari before 14.1 has only the prefixed one). */
function audioContext() {
  const page = /** @type {typeof globalThis & {webkitAudioContext?: AudioContextType}} */ (window);
  return page.AudioContext || page.webkitAudioContext;
}

const ROUND_TRIPS = 5;
const SLOW_MS = 400;
const GATHER_TIMEOUT_MS = 5000;
const METER_RANGE_DB = 60;

/** Play a short, soft 440 Hz tone; resolves when it has finished. */
export async function playTestTone() {
  const Context = audioContext();
  if (!Context) throw new Error('no audio');
  const audio = new Context();
  const oscillator = audio.createOscillator();
  const gain = audio.createGain();
  oscillator.frequency.value = 440;
  // fade in and out: a hard start or stop clicks
  gain.gain.setValueAtTime(0, audio.currentTime);
  gain.gain.linearRampToValueAtTime(0.2, audio.currentTime + 0.05);
  gain.gain.linearRampToValueAtTime(0, audio.currentTime + 0.8);
  oscillator.connect(gain).connect(audio.destination);
  oscillator.start();
  oscillator.stop(audio.currentTime + 0.85);
  await new Promise((resolve) => oscillator.addEventListener('ended', resolve));
  await audio.close();
}

/**
 * Follow the microphone's loudness: calls `onLevel` with 0..1 ten times a second (the
 * peak of each slice, so one word is enough to see it move). Returns a function
 * that stops it. Nothing is recorded or sent anywhere.
 * @param {MediaStream} stream
 * @param {(level: number) => void} onLevel
 * @returns {() => void}
 */
export function watchMicrophone(stream, onLevel) {
  const Context = audioContext();
  const track = stream.getAudioTracks()[0];
  if (!Context || !track) return () => {};
  const audio = new Context();
  const analyser = audio.createAnalyser();
  analyser.fftSize = 1024;
  audio.createMediaStreamSource(new MediaStream([track])).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  // A page that loads without a click may get a suspended context; any click wakes it.
  const wake = () => { audio.resume().catch(() => {}); };
  document.addEventListener('pointerdown', wake, { once: true });
  document.addEventListener('keydown', wake, { once: true });
  wake();
  let shown = 0;
  const timer = window.setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    let peak = 0;
    for (const sample of samples) peak = Math.max(peak, Math.abs(sample));
    // in decibels, as ears hear it: -60 dBFS (quiet room) is empty, 0 dBFS full; falling
    // back slowly, as a level meter does, so a short sound stays visible
    const level = peak > 0 ? Math.max(0, 1 + (20 * Math.log10(peak)) / METER_RANGE_DB) : 0;
    shown = Math.max(Math.min(1, level), shown * 0.8);
    onLevel(shown);
  }, 100);
  return () => {
    window.clearInterval(timer);
    document.removeEventListener('pointerdown', wake);
    document.removeEventListener('keydown', wake);
    audio.close().catch(() => {});
  };
}

/** @returns {Promise<{median: number | null, failed: number}>} */
async function roundTrips() {
  const times = [];
  let failed = 0;
  for (let i = 0; i < ROUND_TRIPS; i += 1) {
    const started = performance.now();
    try {
      const response = await fetch('/healthz', { cache: 'no-store' });
      if (!response.ok) throw new Error(`status ${response.status}`);
      times.push(performance.now() - started);
    } catch {
      failed += 1;
    }
  }
  times.sort((a, b) => a - b);
  const median = times.length ? times[Math.floor(times.length / 2)] : null;
  return { median, failed };
}

/**
 * @param {string} room
 * @param {string} token
 * @returns {Promise<RTCIceServer[]>}
 */
async function iceServers(room, token) {
  const response = await fetch(`/api/rooms/${encodeURIComponent(room)}/ice`, {
    headers: { Authorization: `Bearer ${token}` },
    cache: 'no-store',
  });
  if (!response.ok) throw new Error(`status ${response.status}`);
  const body = await response.json();
  return Array.isArray(body.ice_servers) ? body.ice_servers : [];
}

/**
 * Which candidate types this network gathers with the given servers.
 * @param {RTCIceServer[]} servers
 * @returns {Promise<Set<string>>}
 */
async function gather(servers) {
  const pc = new RTCPeerConnection({ iceServers: servers });
  /** @type {Set<string>} */
  const types = new Set();
  try {
    pc.createDataChannel('probe');
    /** @type {Promise<void>} */
    const done = new Promise((resolve) => {
      const timer = window.setTimeout(resolve, GATHER_TIMEOUT_MS);
      pc.addEventListener('icecandidate', (event) => {
        if (event.candidate && event.candidate.type) types.add(event.candidate.type);
        if (!event.candidate) {
          window.clearTimeout(timer);
          resolve();
        }
      });
    });
    await pc.setLocalDescription(await pc.createOffer());
    await done;
  } finally {
    pc.close();
  }
  return types;
}

/**
 * @typedef {object} ConnectionVerdict
 * @property {'good' | 'fair' | 'bad'} level
 * @property {string} text the verdict in plain language
 * @property {number | null} medianMs
 * @property {number} failed
 * @property {string[]} candidates the candidate types gathered (no addresses)
 */

/**
 * Resolve with {level: 'good'|'fair'|'bad', text, medianMs, failed, candidates}.
 * Never rejects: a failing check is itself the answer.
 *
 * A chat-only call sends no media, so it skips the STUN/TURN part: that would make an
 * RTCPeerConnection (and open ports) to test a route the chat never uses. Its messages go
 * over the signalling socket, to the same server the round trips measure.
 * @param {string} room
 * @param {string} token
 * @param {{channel?: import('./link.js').Channel}} [options]
 * @returns {Promise<ConnectionVerdict>}
 */
export async function checkConnection(room, token, { channel = 'video' } = {}) {
  const { median, failed } = await roundTrips();
  if (median === null) {
    return {
      level: 'bad',
      text: t('We krijgen geen verbinding met de server. Controleer uw internet en laad de pagina opnieuw.'),
      medianMs: null,
      failed,
      candidates: [],
    };
  }
  /** @type {string[]} */
  let candidates = [];
  /** @type {RTCIceServer[]} */
  let servers = [];
  try {
    servers = channel === 'chat' ? [] : await iceServers(room, token);
    if (servers.length) candidates = [...(await gather(servers))];
  } catch {
    servers = [];
  }
  const result = { medianMs: Math.round(median), failed, candidates };
  if (servers.length && !candidates.includes('srflx') && !candidates.includes('relay')) {
    return {
      ...result,
      level: 'fair',
      text: channel === 'voice'
        ? t('Uw netwerk laat bellen via internet misschien niet toe. Lukt het gesprek niet? '
          + 'Probeer een ander netwerk, bijvoorbeeld uw mobiele internet.')
        : t('Uw netwerk laat videobellen misschien niet toe. Lukt het gesprek niet? '
          + 'Probeer een ander netwerk, bijvoorbeeld uw mobiele internet.'),
    };
  }
  if (median > SLOW_MS || failed > 0) {
    return {
      ...result,
      level: 'fair',
      text: t('Uw verbinding is traag. Het gesprek kan haperen. Ga dichter bij uw wifi-router zitten, of gebruik een kabel.'),
    };
  }
  return { ...result, level: 'good', text: t('Uw verbinding is goed.') };
}
