// The installer configuration (electron-builder.config.cjs) and the `npm run dist` guard (scripts/dist.mjs).
// Building real installers needs an Electron binary, which this machine does not have; what can be checked
// without one is checked here: the schema, the targets, what goes into the package and what stays unpacked.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import sharp from 'sharp';
import { minimatch } from 'minimatch';
import type { Configuration } from 'electron-builder';
import { projectRoot } from '../../../electron/build-paths';
import { tempDir } from '../../support/temp';

const root = projectRoot();
const require = createRequire(import.meta.url);
const CONFIG = join(root, 'electron-builder.config.cjs');

function loadConfig(env: Record<string, string | undefined> = {}): Configuration {
  const saved = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  if (env.ELECTRON_OVERRIDE_DIST_PATH === undefined) delete process.env.ELECTRON_OVERRIDE_DIST_PATH;
  else process.env.ELECTRON_OVERRIDE_DIST_PATH = env.ELECTRON_OVERRIDE_DIST_PATH;
  try {
    delete require.cache[require.resolve(CONFIG)];
    return require(CONFIG) as Configuration;
  } finally {
    if (saved === undefined) delete process.env.ELECTRON_OVERRIDE_DIST_PATH;
    else process.env.ELECTRON_OVERRIDE_DIST_PATH = saved;
  }
}

const config = loadConfig();
const patterns = (value: unknown): string[] => (Array.isArray(value) ? value : value === undefined ? [] : [value]).map(String);
const includes = (list: string[], path: string) =>
  list.some((p) => !p.startsWith('!') && minimatch(path, p, { dot: true })) && !list.some((p) => p.startsWith('!') && minimatch(path, p.slice(1), { dot: true }));

/** Production dependencies (dependencies + optionalDependencies, transitively) that are installed here. */
function productionPackages(): string[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
  const queue = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {})];
  const seen = new Set<string>();
  while (queue.length > 0) {
    const name = queue.shift()!;
    const manifest = join(root, 'node_modules', name, 'package.json');
    if (seen.has(name) || !existsSync(manifest)) continue;
    seen.add(name);
    const dep = JSON.parse(readFileSync(manifest, 'utf8')) as Record<string, Record<string, string> | undefined>;
    queue.push(...Object.keys(dep.dependencies ?? {}), ...Object.keys(dep.optionalDependencies ?? {}));
  }
  return [...seen];
}

/** Native addons, shared libraries and WebAssembly files of a package (what must be real files on disk). */
function nativeFiles(dir: string, depth = 0): string[] {
  if (depth > 6) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name === 'node_modules') return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return nativeFiles(path, depth + 1);
    return /\.(node|wasm|dylib|dll)$|\.so(\.\d+)*$/.test(entry.name) ? [path] : [];
  });
}

describe('electron-builder configuration', () => {
  test('passes electron-builder\'s own schema validation', async () => {
    const { validateConfiguration } = require('app-builder-lib/out/util/config/config.js') as {
      validateConfiguration(config: Configuration, logger: { add(key: string, value: unknown): void; isEnabled: boolean }): Promise<void>;
    };
    await validateConfiguration(config, { add: () => undefined, isEnabled: false });
    await assert.rejects(validateConfiguration({ ...config, linux: { ...config.linux, targetz: 'AppImage' } as Configuration['linux'] }, { add: () => undefined, isEnabled: false }));
  });

  test('identity and targets: Linux AppImage + deb, Windows NSIS, macOS dmg', () => {
    assert.equal(config.productName, 'Pawprint');
    assert.match(String(config.appId), /^[a-z]+(\.[a-z]+)+$/);
    const targets = (value: unknown) => patterns(value).map((t) => (typeof t === 'string' ? t : (t as { target: string }).target));
    assert.deepEqual(targets(config.linux?.target).sort(), ['AppImage', 'deb']);
    assert.deepEqual(targets(config.win?.target), ['nsis']);
    assert.deepEqual(targets(config.mac?.target), ['dmg']);
    assert.equal(config.npmRebuild, true);
    assert.equal(config.electronFuses?.runAsNode, false, 'the worker is a utilityProcess: run-as-node stays off');
  });

  test('the icon exists as a 512x512 PNG (electron-builder derives .ico and .icns from it)', async () => {
    for (const icon of [config.icon, config.linux?.icon, config.win?.icon, config.mac?.icon]) {
      assert.equal(typeof icon, 'string');
      const meta = await sharp(join(root, icon as string)).metadata();
      assert.equal(meta.format, 'png');
      assert.ok((meta.width ?? 0) >= 512 && (meta.height ?? 0) >= 512, `${icon} is ${meta.width}x${meta.height}`);
    }
  });

  test('files: the built main, preload, CLI, every worker entry and the renderer; no sources', () => {
    const files = patterns(config.files);
    const entries = readdirSync(join(root, 'electron'), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && e.name.endsWith('-entry.ts'))
      .map((e) => `dist/node/${e.name.replace(/\.ts$/, '.js')}`);
    assert.ok(entries.length > 0, 'the training worker entry exists');
    for (const path of ['dist/node/main.js', 'dist/node/preload.cjs', 'dist/node/cli.js', ...entries, 'dist/renderer/index.html', 'dist/renderer/assets/index-abc.js', 'package.json', 'bin/pawprint.js']) {
      assert.ok(includes(files, path), `${path} is packaged`);
    }
    for (const path of ['electron/main.ts', 'test/unit/export/installer.test.ts', 'renderer/src/App.svelte', 'dist/node/main.js.map']) {
      assert.ok(!includes(files, path), `${path} stays out`);
    }
    assert.equal(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).main, 'dist/node/main.js');
  });

  test('every native module and .wasm file of the production dependencies is unpacked from the asar', () => {
    const unpack = patterns(config.asarUnpack);
    const found: string[] = [];
    for (const name of productionPackages()) {
      for (const file of nativeFiles(join(root, 'node_modules', name))) found.push(relative(root, file).split('\\').join('/'));
    }
    assert.ok(found.some((f) => f.includes('better_sqlite3.node')), 'better-sqlite3 is seen');
    assert.ok(found.some((f) => f.startsWith('node_modules/@img/')), 'sharp\'s platform package is seen');
    assert.ok(found.some((f) => f.endsWith('.wasm')), 'the tfjs wasm binaries are seen');
    const missing = found.filter((file) => !unpack.some((p) => minimatch(file, p, { dot: true })));
    assert.deepEqual(missing, [], 'native files left inside app.asar');
    // Pawprint's own kernels are packaged and unpacked where the loader looks (app.asar.unpacked/native/build).
    assert.ok(includes(patterns(config.files), 'native/build/conv-kernels.wasm'), 'the C kernels are packaged');
    assert.ok(unpack.some((p) => minimatch('native/build/conv-kernels.wasm', p, { dot: true })), 'the C kernels are unpacked from the asar');
    // tfjs-node is optional (not installed here); where it is, it must be unpacked too.
    assert.ok(unpack.some((p) => minimatch('node_modules/@tensorflow/tfjs-node/lib/napi-v8/tfjs_binding.node', p)));
  });

  test('each installer packs only its own OS\'s onnxruntime-node binaries, unpacked from the asar', () => {
    // How electron-builder filters node_modules: '**/*' then the '!' patterns of the top-level and the platform's files.
    const nodeModulePatterns = (platform: { files?: unknown } | null | undefined) =>
      ['**/*', ...[...patterns(config.files), ...patterns(platform?.files)].filter((p) => p.startsWith('!'))];
    const binding = (os: string, arch: string) => `node_modules/onnxruntime-node/bin/napi-v6/${os}/${arch}/onnxruntime_binding.node`;
    const platforms = { linux: config.linux, win32: config.win, darwin: config.mac };
    for (const [os, platform] of Object.entries(platforms)) {
      const packed = nodeModulePatterns(platform);
      for (const other of Object.keys(platforms)) {
        assert.equal(includes(packed, binding(other, 'x64')), other === os, `${other}'s binding in the ${os} installer`);
      }
      assert.ok(includes(packed, 'node_modules/onnxruntime-node/dist/index.js'), `onnxruntime-node's JavaScript stays in the ${os} installer`);
    }
    assert.ok(patterns(config.asarUnpack).some((p) => minimatch(binding('linux', 'x64'), p, { dot: true })));
  });

  test('electronDist comes from ELECTRON_OVERRIDE_DIST_PATH when set', () => {
    assert.equal(loadConfig({ ELECTRON_OVERRIDE_DIST_PATH: '/opt/electron-45' }).electronDist, '/opt/electron-45');
    assert.equal(loadConfig({ ELECTRON_OVERRIDE_DIST_PATH: undefined }).electronDist, undefined);
  });
});

describe('scripts/dist.mjs', () => {
  const electronVersion = (JSON.parse(readFileSync(join(root, 'node_modules', 'electron', 'package.json'), 'utf8')) as { version: string }).version;
  const zipName = `electron-v${electronVersion}-${process.platform}-${process.arch}.zip`;

  function dist(env: Record<string, string>) {
    const cleanEnv = { ...process.env };
    delete cleanEnv.ELECTRON_OVERRIDE_DIST_PATH;
    // Port 1 on loopback refuses at once: "offline" without touching the network.
    return spawnSync(process.execPath, [join(root, 'scripts', 'dist.mjs'), '--check'], {
      cwd: root, encoding: 'utf8', timeout: 30_000, env: { ...cleanEnv, ELECTRON_MIRROR: 'http://127.0.0.1:1/', ...env },
    });
  }

  test('offline without a local Electron: exit 1 with exactly one clear line', () => {
    const cache = tempDir('pawprint-electron-cache-');
    try {
      const result = dist({ electron_config_cache: cache.path });
      assert.equal(result.status, 1, result.stderr);
      assert.equal(result.stdout, '');
      const lines = result.stderr.trim().split('\n');
      assert.equal(lines.length, 1, result.stderr);
      assert.match(lines[0]!, new RegExp(`^pawprint dist: no Electron ${electronVersion.replace(/\./g, '\\.')} for .*set ELECTRON_OVERRIDE_DIST_PATH`));
    } finally {
      cache.cleanup();
    }
  });

  test('a local Electron folder or a cached zip is used; a wrong override path is one line too', () => {
    const dir = tempDir('pawprint-electron-');
    try {
      const unpacked = join(dir.path, 'electron-dist');
      mkdirSync(unpacked);
      const byOverride = dist({ ELECTRON_OVERRIDE_DIST_PATH: unpacked, electron_config_cache: join(dir.path, 'none') });
      assert.equal(byOverride.status, 0, byOverride.stderr);
      assert.match(byOverride.stdout, /using local Electron \(ELECTRON_OVERRIDE_DIST_PATH\)/);

      const wrong = dist({ ELECTRON_OVERRIDE_DIST_PATH: join(dir.path, 'nope'), electron_config_cache: join(dir.path, 'none') });
      assert.equal(wrong.status, 1);
      assert.equal(wrong.stderr.trim().split('\n').length, 1);
      assert.match(wrong.stderr, /ELECTRON_OVERRIDE_DIST_PATH=.*nope is not a folder/);

      const cache = join(dir.path, 'cache');
      mkdirSync(join(cache, 'a1b2c3'), { recursive: true });
      writeFileSync(join(cache, 'a1b2c3', zipName), 'zip');
      const byCache = dist({ electron_config_cache: cache });
      assert.equal(byCache.status, 0, byCache.stderr);
      assert.match(byCache.stdout, /using cached Electron zip/);
    } finally {
      dir.cleanup();
    }
  });
});
