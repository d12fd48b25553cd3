// electron-builder configuration for the Pawprint installers: Linux AppImage + deb, Windows NSIS, macOS dmg.
// A .cjs file (found by electron-builder on its own) rather than YAML, because the Electron distribution may come
// from ELECTRON_OVERRIDE_DIST_PATH at build time: offline machines cannot download one (see scripts/dist.mjs).

/** Native code and WebAssembly must live outside app.asar: dlopen() and the wasm loader need real files. */
const asarUnpack = [
  '**/node_modules/better-sqlite3/**',
  '**/node_modules/sharp/**',
  '**/node_modules/@img/**',
  // Optional: only present where tfjs-node installed (its libtensorflow and .node binding).
  '**/node_modules/@tensorflow/tfjs-node/**',
  '**/node_modules/@tensorflow/tfjs-backend-wasm/**/*.wasm',
  // ONNX export verification: the N-API binding and libonnxruntime it dlopen()s beside it.
  '**/node_modules/onnxruntime-node/bin/**',
  // Pawprint's own SIMD kernels (scripts/build-native.mjs), loaded from <resourcesPath>/app.asar.unpacked/native/build.
  'native/build/*.wasm',
];

/** onnxruntime-node ships every OS's binaries (~290 MB); each installer keeps only its own OS's folder. */
const ONNX_OSES = ['darwin', 'linux', 'win32'];
const onlyOnnxRuntimeFor = (os) =>
  ONNX_OSES.filter((other) => other !== os).map((other) => `!**/node_modules/onnxruntime-node/bin/napi-v*/${other}/**`);

const electronDist = process.env.ELECTRON_OVERRIDE_DIST_PATH?.trim() || undefined;

/** @type {import('electron-builder').Configuration} */
const config = {
  appId: 'org.pawprint.app',
  productName: 'Pawprint',
  copyright: 'Copyright © Pawprint contributors',
  directories: { output: 'release', buildResources: 'resources' },
  // Only the bundles (main, preload, CLI, the job worker entry) and the built renderer: the sources, tests
  // and benchmarks stay out. Production dependencies are added by electron-builder from package.json.
  files: ['dist/node/**', 'dist/renderer/**', 'native/build/*.wasm', 'package.json', 'bin/**', 'resources/icon.png', '!**/*.map'],
  // The bundled MobileNetV2 base (the default preset's, offline from the first launch) as plain files beside app.asar:
  // <resourcesPath>/models/, where electron/training/mobilenet/bundled-base.ts looks first.
  extraResources: [{ from: 'resources/models', to: 'models' }],
  asar: true,
  asarUnpack,
  // Rebuild better-sqlite3 (and tfjs-node when present) for Electron's Node ABI; sharp ships N-API prebuilds.
  npmRebuild: true,
  buildDependenciesFromSource: false,
  ...(electronDist ? { electronDist } : {}),
  icon: 'resources/icon.png',
  // Fuses, flipped in the packaged binary before signing. Checked against the job worker
  // (electron/jobs/worker/launcher.ts), the one place the app starts another process:
  // - runAsNode off: inside Electron the worker is a utilityProcess, never child_process.fork of the Electron binary
  //   (fork is used only under plain Node: the browser host, the CLI and tests).
  // - onlyLoadAppFromAsar + embeddedAsarIntegrityValidation on: the app and the worker script
  //   (dist/node/job-worker-entry.js) load from app.asar, whose header hash electron-builder embeds; the worker
  //   reads it through Electron's asar support like the main process. Native code (better-sqlite3, sharp, tfjs-node)
  //   is in app.asar.unpacked (asarUnpack above), loaded by dlopen, and unaffected. Validation applies on macOS and
  //   Windows; Linux ignores the fuse.
  // - NODE_OPTIONS and --inspect off: the packaged worker gets no execArgv (only the tsx dev path passes --import,
  //   and that path runs under Node, not Electron).
  electronFuses: {
    runAsNode: false,
    enableCookieEncryption: true,
    enableNodeOptionsEnvironmentVariable: false,
    enableNodeCliInspectArguments: false,
    enableEmbeddedAsarIntegrityValidation: true,
    onlyLoadAppFromAsar: true,
    grantFileProtocolExtraPrivileges: false,
  },
  linux: {
    target: ['AppImage', 'deb'],
    category: 'Science',
    icon: 'resources/icon.png',
    synopsis: 'Label photos, train image classifiers and export them',
    description: 'Pawprint: a desktop workbench for image classification with TensorFlow.js.',
    maintainer: 'Pawprint contributors <pawprint@example.org>',
    executableName: 'pawprint',
    files: onlyOnnxRuntimeFor('linux'),
  },
  deb: { priority: 'optional' },
  win: { target: ['nsis'], icon: 'resources/icon.png', files: onlyOnnxRuntimeFor('win32') },
  nsis: { oneClick: false, perMachine: false, allowToChangeInstallationDirectory: true, createDesktopShortcut: true },
  mac: { target: ['dmg'], category: 'public.app-category.developer-tools', icon: 'resources/icon.png', files: onlyOnnxRuntimeFor('darwin') },
  dmg: { title: 'Pawprint ${version}' },
};

module.exports = config;
