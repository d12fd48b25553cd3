// Module loader hook for tests: resolves the specifier 'electron' to the stand-in (electron-stand-in.ts), so
// main.ts and the desktop host load under Node without Electron's binary. Register it with
// `register('<path to this file>', import.meta.url)` before importing the code under test.
const standIn = new URL('./electron-stand-in.ts', import.meta.url).href;

export async function resolve(specifier, context, nextResolve) {
  if (specifier === 'electron') return { url: standIn, shortCircuit: true };
  return nextResolve(specifier, context);
}
