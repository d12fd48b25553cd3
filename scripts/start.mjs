// `npm start`: launch the desktop app when an Electron binary is available, else the browser host.
// Electron 42+ downloads its binary on first launch, which fails without internet; we check first and say so in
// one line instead of letting it print a stack trace.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync } from 'node:fs';
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

/** Electron 42+ fetches its binary on first launch; try that once, quietly, and report failure in one line. */
function downloadElectron() {
  let installer;
  try {
    installer = join(dirname(require.resolve('electron/package.json')), 'install.js');
  } catch {
    return false;
  }
  if (!existsSync(installer)) return false;
  console.log('Fetching the Electron binary (first launch only)…');
  const result = spawnSync(process.execPath, [installer], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10 * 60 * 1000 });
  return result.status === 0;
}

/**
 * better-sqlite3 is built for Node's ABI by npm install (the CLI and browser host need that build). Electron needs its
 * own: we build a second copy against Electron's headers into .cache/ once (this needs internet, which a machine that
 * could download Electron has) and point the main process at it, leaving node_modules untouched.
 */
function electronSqliteBinding() {
  const version = JSON.parse(readFileSync(require.resolve('electron/package.json'), 'utf8')).version;
  const target = join(root, '.cache', `electron-${version}-${process.platform}-${process.arch}`, 'better-sqlite3');
  const binding = join(target, 'build', 'Release', 'better_sqlite3.node');
  if (existsSync(binding)) return binding;
  console.log(`Building better-sqlite3 for Electron ${version} (first launch only)…`);
  cpSync(dirname(require.resolve('better-sqlite3/package.json')), target, { recursive: true, filter: (src) => !src.includes(`${join('build', 'Release')}`) });
  const gyp = join(dirname(require.resolve('node-gyp/package.json')), 'bin', 'node-gyp.js');
  const result = spawnSync(process.execPath, [gyp, 'rebuild', '--release', `--target=${version}`, `--arch=${process.arch}`, '--dist-url=https://electronjs.org/headers'], { cwd: target, stdio: ['ignore', 'ignore', 'pipe'] });
  if (result.status !== 0 || !existsSync(binding)) {
    const reason = String(result.stderr ?? '').trim().split('\n').pop();
    console.log(`Could not build better-sqlite3 for Electron (${reason || 'node-gyp failed'}); starting the browser host instead.`);
    return null;
  }
  return binding;
}

function run(command, args, env = process.env) {
  const child = spawn(command, args, { stdio: 'inherit', cwd: root, env });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

const electron = process.env.PAWPRINT_BROWSER
  ? null
  : (findElectronBinary() ?? (!process.env.ELECTRON_OVERRIDE_DIST_PATH && downloadElectron() ? findElectronBinary() : null));
const hasDisplay = process.platform !== 'linux' || Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
const binding = electron && hasDisplay ? electronSqliteBinding() : null;
if (electron && hasDisplay && binding) {
  run(electron, [join(root, 'dist/node/main.js'), ...passthrough], { ...process.env, PAWPRINT_SQLITE_BINDING: binding });
} else if (electron && hasDisplay) {
  run(process.execPath, [join(root, 'dist/node/cli.js'), 'serve', ...passthrough]);
} else {
  const why = electron
    ? 'no display is available'
    : process.env.ELECTRON_OVERRIDE_DIST_PATH
      ? `ELECTRON_OVERRIDE_DIST_PATH (${process.env.ELECTRON_OVERRIDE_DIST_PATH}) holds no Electron executable`
      : 'the Electron binary could not be downloaded (run `npm start` once with internet access, or set ELECTRON_OVERRIDE_DIST_PATH to an unpacked Electron folder)';
  console.log(`Desktop app unavailable: ${why}; starting the browser host instead.`);
  run(process.execPath, [join(root, 'dist/node/cli.js'), 'serve', ...passthrough]);
}
