// The two Electron IPC channels that carry the whole contract, shared by the preload and the main-side host so they
// cannot drift apart. No imports: the sandboxed preload bundles this file.
/** Renderer to main: (channel name, payload) -> envelope. */
export const INVOKE_CHANNEL = 'pawprint:invoke';
/** Main to renderer: (event name, payload). */
export const EVENT_CHANNEL = 'pawprint:event';
