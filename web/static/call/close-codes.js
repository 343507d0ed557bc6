// @ts-check
// Generated from signaling/close_codes.py; do not edit. Regenerate with
//   .venv/bin/python -m signaling.close_codes web/static/call/close-codes.js
// (tests/signaling/test_close_codes.py fails when this file is out of date).

/** WebSocket close codes (docs/signaling.md, "Close codes"). */
export const CLOSE = Object.freeze({
  NORMAL: 1000,
  GOING_AWAY: 1001,
  INVALID_TEXT: 1007,
  MESSAGE_TOO_BIG: 1009,
  UNAVAILABLE: 1013,
  BAD_FIRST_FRAME: 4400,
  TOKEN_REFUSED: 4401,
  DENIED: 4403,
  NO_SEAT: 4404,
  JOIN_TIMEOUT: 4408,
  REPLACED: 4409,
  ENDED: 4410,
  VERIFY: 4412,
  RATE_LIMITED: 4429,
  SLOW_CONSUMER: 4503,
});
