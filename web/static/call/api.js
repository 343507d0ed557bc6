// @ts-check
// The call page's JSON API calls (/api/rooms/{room}/...): the room token rides in an
// Authorization header, never in a URL; a refusal becomes an ApiProblem that carries the
// server's explanation for the person in front of the page.

/** A problem response (RFC 9457) from our API. */
export class ApiProblem extends Error {
  /**
   * @param {number} status
   * @param {any} body the problem document, if it was JSON
   */
  constructor(status, body) {
    super(body && typeof body.code === 'string' ? body.code : `http-${status}`);
    this.status = status;
    this.code = this.message;
    // `detail` is written for the person in front of the page (B1, in the page's language).
    /** @type {string | null} */
    this.detail = body && typeof body.detail === 'string' ? body.detail : null;
  }
}

/**
 * The server's explanation of a refusal, or `fallback`.
 * @param {unknown} error
 * @param {string} fallback
 */
export function problemText(error, fallback) {
  return error instanceof ApiProblem && error.detail ? error.detail : fallback;
}

/**
 * One API call; resolves with the parsed body and the response (for its headers).
 * @param {string} method
 * @param {string} url
 * @param {string} token
 * @param {unknown} [body]
 * @returns {Promise<{body: any, response: Response}>}
 */
export async function request(method, url, token, body) {
  /** @type {Record<string, string>} */
  const headers = { Authorization: `Bearer ${token}` };
  /** @type {RequestInit} */
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  let parsed = null;
  try {
    parsed = await response.json();
  } catch {
    parsed = null;
  }
  if (!response.ok) throw new ApiProblem(response.status, parsed);
  return { body: parsed, response };
}

/**
 * One API call; resolves with the parsed body.
 * @param {string} method
 * @param {string} url
 * @param {string} token
 * @param {unknown} [body]
 * @returns {Promise<any>}
 */
export async function api(method, url, token, body) {
  return (await request(method, url, token, body)).body;
}

/** @param {string} room */
export function roomApiUrl(room) {
  return `/api/rooms/${encodeURIComponent(room)}`;
}
