// @ts-check
// What the call page reads from its own address: the room token in the fragment (taken
// out of the address bar at once), the room id, and the signalling socket's address.

/**
 * The token leaves the address bar at once, so it cannot end up in bookmarks,
 * screenshots or the history. The caller keeps it only in memory, never in storage.
 * @returns {string | null}
 */
export function takeTokenFromFragment() {
  const fragment = window.location.hash.replace(/^#/, '');
  const token = new URLSearchParams(fragment).get('token');
  if (window.location.hash) {
    window.history.replaceState(null, '', window.location.pathname + window.location.search);
  }
  return token && token.length > 0 ? token : null;
}

/**
 * The token's claims, read without trusting them (the server checks the signature): for
 * what the page may know before it asks, such as the room, or when the link expired.
 * @param {string | null} token
 * @returns {Record<string, unknown>}
 */
export function readTokenClaims(token) {
  try {
    const payload = String(token).split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(atob(payload));
    return claims && typeof claims === 'object' ? claims : {};
  } catch {
    return {};
  }
}

/**
 * The room is also inside the token; reading it lets a link without the room in its path
 * still work.
 * @param {string | null} token
 * @returns {string | null}
 */
export function roomFromToken(token) {
  const { room } = readTokenClaims(token);
  return typeof room === 'string' ? room : null;
}

/**
 * Where a resident makes a new appointment with the municipality of this link, if the
 * link names it (a path on this site), else null.
 * @param {string | null} token
 */
export function bookingPathFromToken(token) {
  const { tenant } = readTokenClaims(token);
  return typeof tenant === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(tenant) ? `/afspraak/${tenant}` : null;
}

/**
 * Whether the link's own expiry has passed (read without trusting it): a refused link
 * whose time is over gets "this call is over" rather than "this link does not work".
 * @param {string | null} token
 * @param {number} now ms since the epoch
 */
export function tokenExpired(token, now) {
  const { exp } = readTokenClaims(token);
  return typeof exp === 'number' && exp * 1000 <= now;
}

/** @returns {string | null} the room id in /call/<room> */
export function readRoomFromPath() {
  const match = /^\/call\/([A-Za-z0-9_-]{1,64})\/?$/.exec(window.location.pathname);
  return match ? match[1] : null;
}

/** The signalling socket's address: /ws on this origin, ws: or wss: as the page. */
export function socketUrl() {
  const url = new URL('/ws', window.location.href);
  url.protocol = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  url.hash = '';
  url.search = '';
  return url.href;
}

/**
 * How this call talks, from the token's `channel` claim (read without trusting it: the page
 * only decides what it asks of the person's devices, and both sides' tokens name the same
 * channel). No claim, or one this page does not know, is a video call as before.
 * @typedef {'video' | 'voice' | 'chat'} Channel
 * @param {string | null} token
 * @returns {Channel}
 */
export function channelFromToken(token) {
  const { channel } = readTokenClaims(token);
  return channel === 'voice' || channel === 'chat' ? channel : 'video';
}

/**
 * Whether the room is a walk-in counter's (the token's `walkin` claim): the resident's
 * waiting room is then a queue with a place, a count and an expected wait.
 * @param {string | null} token
 */
export function walkinFromToken(token) {
  return readTokenClaims(token).walkin === true;
}
