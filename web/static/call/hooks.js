// @ts-check
// Read-only hooks for the browser tests (`window.balie`). Ids are random seat ids; no names,
// tokens or session ids are exposed.

/**
 * @param {object} parts
 * @param {import('./joining.js').CallSession} parts.session
 * @param {import('./signal.js').SignalSession} parts.signal
 * @param {import('./media.js').LocalMedia} parts.media
 * @param {import('./remotes.js').Remotes} parts.remotes
 * @param {import('./ui/lobby.js').LobbyPanel} parts.lobbyPanel
 * @param {import('./ui/verify.js').IdentityStep} parts.identityStep
 * @param {import('./ui/opening.js').OpeningNotice} parts.opening
 * @param {() => Readonly<{level: string, candidates: string[]}> | null} parts.connectionVerdict
 * @param {{channel: string, walkin: boolean}} parts.call what the call sends, and whether its
 *   waiting room is a walk-in queue (from the token's claims)
 * @param {() => import('./walkin.js').QueueState | null} parts.queue the queue place last shown
 */
export function exposeTestHooks({
  session, signal, media, remotes, lobbyPanel, identityStep, opening, connectionVerdict, call, queue,
}) {
  Object.defineProperty(window, 'balie', {
    value: Object.freeze({
      get pcs() {
        return remotes.connections;
      },
      get state() {
        const { audio, video } = media.sending;
        return Object.freeze({
          phase: session.phase,
          connected: signal.connected,
          role: session.role,
          participantId: session.participantId,
          lastSeq: signal.lastSeq,
          clientSeq: signal.clientSeq,
          pendingMessages: signal.pendingMessages,
          reconnectAttempt: signal.reconnectAttempt,
          audio,
          video,
          opening: opening.opening,
          peers: remotes.describe(),
          waiting: lobbyPanel.ids,
          channel: call.channel,
          walkin: call.walkin,
          queue: queue(),
        });
      },
      get ws() {
        return signal.socket;
      },
      get verifying() {
        return identityStep.active;
      },
      get connectionVerdict() {
        return connectionVerdict();
      },
    }),
    writable: false,
    configurable: false,
    enumerable: false,
  });
}
