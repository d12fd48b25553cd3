// `npm start`: launch the desktop app when an Electron binary is available, else the browser host.
// Electron 42+ downloads its binary on first launch, which fails without internet; we check first and say so in
// one line instead of letting it print a stack trace.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const passthrough = process.argv.slice(2);

function findElectronBinary() {
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  if (override) {
    const names = { darwin: 'Electron.app/Contents/MacOS/Electron', win32: 'electron.exe' };
    const candidate = join(override, names[process.platform] ?? 'electron');
    return existsSync(candidate) ? candidate : null;
  }
  let pkgDir;
  try {
    pkgDir = dirname(require.resolve('electron/package.json'));
  } catch {
    return null;
  }
  const pathFile = join(pkgDir, 'path.txt');
  if (!existsSync(pathFile)) return null;
  const binary = join(pkgDir, 'dist', readFileSync(pathFile, 'utf8').trim());
  return existsSync(binary) ? binary : null;
}

function run(command, args) {
  const child = spawn(command, args, { stdio: 'inherit', cwd: root });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

const electron = process.env.PAWPRINT_BROWSER ? null : findElectronBinary();
if (electron && (process.platform !== 'linux' || process.env.DISPLAY || process.env.WAYLAND_DISPLAY)) {
  run(electron, [join(root, 'dist/node/main.js'), ...passthrough]);
} else {
  const why = electron
    ? 'no display is available'
    : 'no Electron binary is installed (it is downloaded on first launch with internet access, or set ELECTRON_OVERRIDE_DIST_PATH to an unpacked Electron folder)';
  console.log(`Desktop app unavailable: ${why}; starting the browser host instead.`);
  run(process.execPath, [join(root, 'dist/node/cli.js'), 'serve', ...passthrough]);
}
