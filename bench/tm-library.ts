// `node --import tsx bench/tm-library.ts --run [--train N] [--test N] [--size 224|160] [--backend cpu|webgl]`
// Issue 13's measure for the tm target: a mobilenetv2 model (the bundled-alike alpha 0.35 base from
// ../shared/models, frozen, average pooling, one logit, head fitted on the base's features of the first N photos of
// each class of ../shared/data/cats-vs-dogs) exported with writeTmPackage, then run by Teachable Machine's library
// (@teachablemachine/image 0.8.5 on tfjs 1.3.1 in Chromium: tmImage.load + model.predict(<img>) on the JPEG files
// themselves) on the next photos of each class, never used for training. Compared with Pawprint's predictions on
// the same files as `pawprint predict` makes them (the whole photo resized to size x size), and with Pawprint on the
// centre square (TM's crop, Pawprint's resize). Target: TM's accuracy within 3 points of Pawprint's.
// Writes bench-results/tm-library.json. Without --run it prints this usage and exits (so `npm run bench` skips it).
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { readFile, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { tf, type Tensor } from '../electron/tfjs/tf';
import { ensureInferenceBackend } from '../electron/inference/backend';
import { saveModelToFolder } from '../electron/inference/model-folder';
import { loadModel } from '../electron/inference/loader';
import { decodeForModel } from '../electron/inference/preprocess';
import { predictPixels } from '../electron/inference/predictor';
import { argmax } from '../electron/inference/probabilities';
import { createMobileNetV2Base, resolveBaseWeights } from '../electron/training/mobilenet/base-weights';
import { buildFeatureHead, buildTransferModel, copyHeadWeights } from '../electron/training/mobilenet/mobilenet-v2';
import { decodeForTm, writeTmPackage } from '../electron/export/targets/tm/index';
import { sharedBackbone, sharedPhotos } from '../test/support/shared-data';
import { tempDir } from '../test/support/temp';
import { needsBrowserLibraries, openTmBrowser } from '../test/unit/export/tm-browser';
import { printTable } from './_table';

const { values } = parseArgs({
  options: {
    run: { type: 'boolean', default: false },
    train: { type: 'string', default: '150' },
    test: { type: 'string', default: '100' },
    size: { type: 'string', default: '224' },
    backend: { type: 'string', default: 'cpu' },
  },
});
if (!values.run) {
  console.log('usage: node --import tsx bench/tm-library.ts --run [--train N] [--test N] [--size 224|160] [--backend cpu|webgl]');
  process.exit(0);
}
const missing = needsBrowserLibraries();
if (missing) throw new Error(missing);
const trainPerClass = Number(values.train);
const testPerClass = Number(values.test);
const size = Number(values.size);
const CLASSES = ['cats', 'dogs'];

await ensureInferenceBackend();
const files = CLASSES.map((cls) => readdirSync(join(sharedPhotos, cls)).filter((f) => f.toLowerCase().endsWith('.jpg')).sort().map((f) => join(sharedPhotos, cls, f)));
const train = files.flatMap((list, label) => list.slice(0, trainPerClass).map((path) => ({ path, label })));
const held = files.flatMap((list, label) => list.slice(trainPerClass, trainPerClass + testPerClass).map((path) => ({ path, label })));

// 1. A frozen-base mobilenetv2 model: head fitted on pooled features of the training photos (Pawprint's decode).
const started = Date.now();
const weights = await resolveBaseWeights({ kind: 'local', path: sharedBackbone }, { cacheDir: tmpdir() });
const base = createMobileNetV2Base(weights, size);
const featureModel = tf.sequential({ layers: [tf.layers.inputLayer({ inputShape: [size, size, 3] }), tf.layers.rescaling({ scale: 1 / 127.5, offset: -1 }), base, tf.layers.globalAveragePooling2d({})] });
const features: number[][] = [];
for (let i = 0; i < train.length; i += 16) {
  const batch = await Promise.all(train.slice(i, i + 16).map(async (item) => decodeForModel({ imageSize: { height: size, width: size }, resize: 'fill' }, await readFile(item.path))));
  const rows = tf.tidy(() => {
    const x = tf.tensor4d(Float32Array.from(batch.flatMap((p) => Array.from(p))), [batch.length, size, size, 3]);
    return (featureModel.predict(x) as Tensor).arraySync() as number[][];
  });
  features.push(...rows);
}
const head = buildFeatureHead({ pooling: 'average', units: 1 });
head.compile({ optimizer: tf.train.adam(1e-3), loss: (yTrue: Tensor, yPred: Tensor) => tf.losses.sigmoidCrossEntropy(yTrue, yPred) });
const xs = tf.tensor2d(features);
const ys = tf.tensor2d(train.map((item) => [item.label]));
await head.fit(xs, ys, { epochs: 30, batchSize: 32, shuffle: true, verbose: 0 });
tf.dispose([xs, ys]);
const full = buildTransferModel(createMobileNetV2Base(weights, size), { pooling: 'average', units: 1 }, true);
copyHeadWeights(head, full);
const work = tempDir('pawprint-bench-tm-');
const runFolder = join(work.path, 'run');
await saveModelToFolder(full, runFolder);
full.dispose();
featureModel.dispose();
head.dispose();
const loaded = await loadModel(runFolder, { kind: 'pawprint-run', hints: { classNames: ['cat', 'dog'], imageSize: { height: size, width: size }, preprocessing: 'symmetric' } });
console.log(`model: alpha 0.35 at ${size}, head fitted on ${train.length} photos in ${((Date.now() - started) / 1000).toFixed(0)} s`);

// 2. The TM export (verified on centre crops of a few training photos) and the held-out photos served beside it.
const verifyPixels = await Promise.all(train.slice(0, 8).map(async (item) => decodeForTm(await readFile(item.path), size)));
await writeTmPackage(loaded, join(work.path, 'tm'), { modelName: 'cats-vs-dogs', timeStamp: new Date(0).toISOString(), appVersion: 'bench', pixels: verifyPixels });
mkdirSync(join(work.path, 'photos'));
for (const [i, item] of held.entries()) await symlink(item.path, join(work.path, 'photos', `${i}.jpg`));

// 3. Pawprint (whole photo, as predict does; and the centre square) and TM's library on the held-out photos.
const pawprint: number[][] = [];
const pawprintCrop: number[][] = [];
for (let i = 0; i < held.length; i += 16) {
  const bytes = await Promise.all(held.slice(i, i + 16).map((item) => readFile(item.path)));
  pawprint.push(...(await predictPixels(loaded, await Promise.all(bytes.map((b) => decodeForModel(loaded, b))))).map((p) => p.probabilities));
  pawprintCrop.push(...(await predictPixels(loaded, await Promise.all(bytes.map((b) => decodeForTm(b, size))))).map((p) => p.probabilities));
}
const browser = await openTmBrowser(work.path, { backend: values.backend === 'webgl' ? 'webgl' : 'cpu' });
const tmStarted = Date.now();
let tm: number[][];
try {
  tm = (await browser.predict('/tm', held.map((_, i) => `/photos/${i}.jpg`))).map((row) => row.probabilities);
} finally {
  await browser.close();
}
const tmSeconds = (Date.now() - tmStarted) / 1000;

function compare(name: string, rows: number[][]): { client: string; accuracy: string; sameClass: string; maxDiff: string } {
  let correct = 0;
  let same = 0;
  let maxDiff = 0;
  rows.forEach((row, i) => {
    if (argmax(row) === held[i].label) correct++;
    if (argmax(row) === argmax(pawprint[i])) same++;
    for (let k = 0; k < row.length; k++) maxDiff = Math.max(maxDiff, Math.abs(row[k] - pawprint[i][k]));
  });
  return { client: name, accuracy: `${(100 * correct / rows.length).toFixed(1)}%`, sameClass: `${same}/${rows.length}`, maxDiff: maxDiff.toFixed(4) };
}
const table = [
  compare('pawprint predict (whole photo, Pawprint resize)', pawprint),
  compare('pawprint on the centre square (TM crop, Pawprint resize)', pawprintCrop),
  compare(`TM library 0.8.5 + tfjs 1.3.1 (${browser.backend}), Chromium`, tm),
];
printTable(['client', 'accuracy', 'same class as predict', 'max |p - predict|'], table.map((r) => [r.client, r.accuracy, r.sameClass, r.maxDiff]));
console.log(`${held.length} held-out photos (${testPerClass} per class, after the first ${trainPerClass} used for training); TM: ${tmSeconds.toFixed(0)} s`);
mkdirSync('bench-results', { recursive: true });
writeFileSync('bench-results/tm-library.json', `${JSON.stringify({ size, trainPerClass, testPerClass, backend: browser.backend, tmSeconds, table }, null, 2)}\n`);
loaded.dispose();
work.cleanup();
