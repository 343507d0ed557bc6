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
 * The room is also inside the token; reading it (without trusting it: the server
 * checks the signature) lets a link without the room in its path still work.
 * @param {string | null} token
 * @returns {string | null}
 */
export function roomFromToken(token) {
  try {
    const payload = String(token).split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(atob(payload));
    return typeof claims.room === 'string' ? claims.room : null;
  } catch {
    return null;
  }
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
