// Builds Pawprint's C kernels (native/*.c) into WebAssembly modules with SIMD (native/build/*.wasm), with
// Debian's clang and lld (apt-get install clang lld). Run by `npm run build` (and so by npm install's prepare).
// Without clang this prints why and exits 0: the WebAssembly backend then keeps its XNNPACK-based kernels.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(root, 'native');
const out = path.join(src, 'build');
const HOW = 'install clang and lld (Debian/Ubuntu: sudo apt-get install clang lld)';

function findClang() {
  for (const name of [process.env.CLANG, 'clang', 'clang-16', 'clang-15', 'clang-14'].filter(Boolean)) {
    const r = spawnSync(name, ['--version'], { encoding: 'utf8' });
    if (r.status === 0) return name;
  }
  return null;
}

const sources = readdirSync(src).filter((f) => f.endsWith('.c'));
const clang = findClang();
if (!clang) {
  console.log(`native kernels skipped: clang not found; ${HOW}. Training on WebAssembly uses the slower XNNPACK-based kernels.`);
  process.exit(0);
}
mkdirSync(out, { recursive: true });
let failed = 0;
for (const file of sources) {
  const input = path.join(src, file);
  const output = path.join(out, file.replace(/\.c$/, '.wasm'));
  try {
    if (statSync(output).mtimeMs > statSync(input).mtimeMs && statSync(output).mtimeMs > statSync(fileURLToPath(import.meta.url)).mtimeMs) continue;
  } catch {
    // Not built yet.
  }
  // No libc, no data, no stack: the module imports tfjs-backend-wasm's memory and must not write outside tensors.
  const args = ['--target=wasm32', '-O3', '-msimd128', '-nostdlib', '-ffreestanding', '-fno-builtin', '-Wall', '-Wextra', '-Werror',
    '-Wl,--no-entry', '-Wl,--import-memory', '-Wl,--strip-all', '-o', output, input];
  const r = spawnSync(clang, args, { encoding: 'utf8' });
  if (r.status !== 0) {
    failed++;
    const why = `${r.stderr ?? ''}${r.error?.message ?? ''}`.trim();
    console.log(`native kernels: building ${file} failed${why.includes('wasm-ld') ? ` (wasm-ld missing? ${HOW})` : ''}:\n${why}`);
  } else {
    console.log(`native kernels: built ${path.relative(root, output)}`);
  }
}
// A failed build must not stop npm install: the backend falls back to its other kernels.
if (failed > 0) console.log('native kernels: training on WebAssembly uses the slower XNNPACK-based kernels.');
