// Module loader hook for tests of the renderer's stores: compiles `*.svelte.ts` modules (runes: $state, $derived)
// the way the Vite build does (types stripped, then svelte's compileModule for the client), and resolves `svelte`
// and its subpaths with the browser condition, so the stores run under Node with the real client runtime.
// Register it with `register('<path to this file>', import.meta.url)` before importing a store.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { transform } from 'esbuild';
import { compileModule } from 'svelte/compiler';

export async function resolve(specifier, context, nextResolve) {
  if (specifier === 'svelte' || specifier.startsWith('svelte/')) {
    return nextResolve(specifier, { ...context, conditions: ['browser', ...context.conditions] });
  }
  return nextResolve(specifier, context);
}

export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !url.endsWith('.svelte.ts')) return nextLoad(url, context);
  const filename = fileURLToPath(url);
  const typescript = await readFile(filename, 'utf8');
  // Keep class fields as written: the compiler turns `x = $state(...)` fields into signals.
  const { code } = await transform(typescript, {
    loader: 'ts', format: 'esm', target: 'es2022', sourcefile: filename,
    tsconfigRaw: { compilerOptions: { useDefineForClassFields: true, verbatimModuleSyntax: false } },
  });
  const compiled = compileModule(code, { filename, generate: 'client', dev: false });
  return { format: 'module', source: compiled.js.code, shortCircuit: true };
}
