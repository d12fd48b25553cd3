// Builds Pawprint's C kernels (native/*.c) into WebAssembly modules with SIMD (native/build/*.wasm), with
// Debian's clang and lld (apt-get install clang lld). Run by `npm run build` (and so by npm install's prepare).
// Without clang this prints why and exits 0: the WebAssembly backend then keeps its XNNPACK-based kernels.
//
// Each source is built twice when it can be: <name>.wasm with plain SIMD (any clang), and <name>-relaxed.wasm with
// relaxed SIMD (fused multiply-add), which needs clang 16 or newer (apt-get install clang-16 lld-16): older clangs
// emit the proposal's early opcodes, which no shipping engine accepts, so every relaxed build is checked by
// compiling it here and dropped when it does not compile. The app prefers the relaxed module where its engine runs it.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(root, 'native');
const out = path.join(src, 'build');
const HOW = 'install clang and lld (Debian/Ubuntu: sudo apt-get install clang lld)';
const HOW_RELAXED = 'install clang 16 or newer (Debian 12: sudo apt-get install clang-16 lld-16)';

/** The clang's major version, or null when it does not run. */
function clangMajor(name) {
  const r = spawnSync(name, ['--version'], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  const m = /clang version (\d+)/.exec(r.stdout ?? '');
  return m ? Number(m[1]) : 0;
}

function findClang(minMajor) {
  const names = [process.env.CLANG, 'clang', 'clang-19', 'clang-18', 'clang-17', 'clang-16', 'clang-15', 'clang-14'].filter(Boolean);
  for (const name of names) {
    const major = clangMajor(name);
    if (major !== null && major >= minMajor) return name;
  }
  return null;
}

/** Whether this Node's V8 compiles the module, with relaxed SIMD turned on where it is still behind a flag (Node 20). */
function compiles(file) {
  const bytes = readFileSync(file);
  if (WebAssembly.validate(bytes)) return true;
  v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  return WebAssembly.validate(bytes);
}

const sources = readdirSync(src).filter((f) => f.endsWith('.c'));
const clang = findClang(0);
if (!clang) {
  console.log(`native kernels skipped: clang not found; ${HOW}. Training on WebAssembly uses the slower XNNPACK-based kernels.`);
  process.exit(0);
}
const relaxedClang = findClang(16);
mkdirSync(out, { recursive: true });

const variants = [
  { suffix: '', compiler: clang, flags: ['-msimd128'] },
  { suffix: '-relaxed', compiler: relaxedClang, flags: ['-msimd128', '-mrelaxed-simd'] },
];
let failed = 0;
for (const file of sources) {
  const input = path.join(src, file);
  for (const variant of variants) {
    const output = path.join(out, file.replace(/\.c$/, `${variant.suffix}.wasm`));
    if (!variant.compiler) {
      rmSync(output, { force: true }); // never keep a relaxed module built from older sources
      console.log(`native kernels: ${path.basename(output)} not built (relaxed SIMD needs clang >= 16; ${HOW_RELAXED}); the plain SIMD kernels are used`);
      continue;
    }
    try {
      if (statSync(output).mtimeMs > statSync(input).mtimeMs && statSync(output).mtimeMs > statSync(fileURLToPath(import.meta.url)).mtimeMs) continue;
    } catch {
      // Not built yet.
    }
    // No libc, no data, no stack: the module imports tfjs-backend-wasm's memory and must not write outside tensors.
    const args = ['--target=wasm32', '-O3', ...variant.flags, '-nostdlib', '-ffreestanding', '-fno-builtin', '-Wall', '-Wextra', '-Werror',
      '-Wl,--no-entry', '-Wl,--import-memory', '-Wl,--strip-all', '-o', output, input];
    const r = spawnSync(variant.compiler, args, { encoding: 'utf8' });
    if (r.status !== 0) {
      rmSync(output, { force: true });
      const why = `${r.stderr ?? ''}${r.error?.message ?? ''}`.trim();
      if (variant.suffix) {
        console.log(`native kernels: building ${path.basename(output)} with ${variant.compiler} failed (the plain SIMD kernels are used):\n${why}`);
      } else {
        failed++;
        console.log(`native kernels: building ${file} failed${why.includes('wasm-ld') ? ` (wasm-ld missing? ${HOW})` : ''}:\n${why}`);
      }
    } else if (!compiles(output)) {
      rmSync(output, { force: true });
      console.log(`native kernels: ${path.basename(output)} built by ${variant.compiler} does not compile in Node ${process.versions.node} (V8 ${process.versions.v8}); removed, the plain SIMD kernels are used`);
    } else {
      console.log(`native kernels: built ${path.relative(root, output)} (${variant.compiler})`);
    }
  }
}
// A failed build must not stop npm install: the backend falls back to its other kernels.
if (failed > 0) console.log('native kernels: training on WebAssembly uses the slower XNNPACK-based kernels.');
