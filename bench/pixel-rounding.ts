// `node --import tsx bench/pixel-rounding.ts <model folder> <image folder> [--limit N]`
// What rounding the resized pixels to bytes costs (issue 13): Pawprint caches and feeds whole 0..255 values (the recipe's
// bilinear resize, rounded half to even); a consumer following the recipe without tf.round feeds the float values.
// Prints, for the model on the images, same-class count and max probability difference between the two, and for
// contrast the same against sharp's linear resize (the pixel rule before the recipe). Images: every image file in the
// folder and its subfolders, sorted, the last N of each subfolder (the photos a 70/20/10 split is least likely to
// have trained on are not known here, so this measures agreement, not accuracy).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { tf, type Tensor } from '../electron/tfjs/tf';
import { ensureInferenceBackend } from '../electron/inference/backend';
import { loadModel } from '../electron/inference/loader';
import { externalScaling } from '../electron/inference/preprocess';
import { toProbabilities } from '../electron/inference/probabilities';
import { IMAGE_EXTENSIONS, decodeUprightRgb, resizeImageFloat } from '../electron/imaging/image-policy';
import { roundPixels } from '../electron/imaging/resize-recipe';

const { values, positionals } = parseArgs({ args: process.argv.slice(2), allowPositionals: true, options: { limit: { type: 'string' } } });
if (positionals.length !== 2) {
  console.log('usage: node --import tsx bench/pixel-rounding.ts <model folder> <image folder> [--limit N per subfolder]');
  console.log('(skipped: no model given)');
  process.exit(0);
}
const [modelDir, imageDir] = positionals as [string, string];
const limit = Number(values.limit ?? 100);

function imagesIn(dir: string): string[] {
  const here = readdirSync(dir).sort();
  const files = here.filter((f) => IMAGE_EXTENSIONS.has(extname(f).toLowerCase())).map((f) => join(dir, f)).slice(-limit);
  const sub = here.filter((f) => statSync(join(dir, f)).isDirectory()).flatMap((f) => imagesIn(join(dir, f)));
  return [...files, ...sub];
}

await ensureInferenceBackend();
const loaded = await loadModel(modelDir);
const { height, width } = loaded.imageSize;
const scaling = loaded.preprocessingInModel ? null : externalScaling(loaded.preprocessing);
const files = imagesIn(imageDir);

async function probabilities(batch: Float32Array[]): Promise<number[][]> {
  const per = height * width * 3;
  const buffer = new Float32Array(batch.length * per);
  batch.forEach((b, i) => buffer.set(b, i * per));
  const out = tf.tidy(() => {
    let x: Tensor = tf.tensor4d(buffer, [batch.length, height, width, 3]);
    if (scaling) x = x.mul(scaling.scale).add(scaling.offset);
    return loaded.model.predict(x) as Tensor;
  });
  const data = await out.data();
  out.dispose();
  return batch.map((_, i) => toProbabilities(Array.from(data.subarray(i * loaded.units, (i + 1) * loaded.units)), loaded.output));
}

const argmax = (p: number[]) => p.indexOf(Math.max(...p));
const compare = { rounded: { same: 0, maxDiff: 0 }, sharp: { same: 0, maxDiff: 0 } };
let maxPixelDiff = 0;
const batchSize = 16;
for (let start = 0; start < files.length; start += batchSize) {
  const batch = files.slice(start, start + batchSize);
  const floats: Float32Array[] = [];
  const rounded: Float32Array[] = [];
  const sharpLinear: Float32Array[] = [];
  for (const file of batch) {
    const bytes = readFileSync(file);
    const f = resizeImageFloat(await decodeUprightRgb(bytes), height, width, 'fill');
    const r = Float32Array.from(roundPixels(f));
    for (let i = 0; i < f.length; i++) maxPixelDiff = Math.max(maxPixelDiff, Math.abs(f[i] - r[i]));
    floats.push(f);
    rounded.push(r);
    const s = await sharp(bytes).rotate().flatten({ background: '#ffffff' }).toColourspace('srgb')
      .resize(width, height, { fit: 'fill', kernel: 'linear' }).removeAlpha().raw().toBuffer();
    sharpLinear.push(Float32Array.from(s));
  }
  const [pf, pr, ps] = [await probabilities(floats), await probabilities(rounded), await probabilities(sharpLinear)];
  pf.forEach((p, i) => {
    for (const [name, other] of [['rounded', pr[i]!], ['sharp', ps[i]!]] as const) {
      if (argmax(p) === argmax(other)) compare[name].same++;
      compare[name].maxDiff = Math.max(compare[name].maxDiff, ...p.map((v, k) => Math.abs(v - other[k]!)));
    }
  });
}
loaded.dispose();
console.log(`model ${modelDir} (${width}x${height}, ${loaded.preprocessing}), ${files.length} images from ${imageDir}`);
console.log(`float pixels (the recipe without tf.round) vs Pawprint's rounded bytes: same class ${compare.rounded.same}/${files.length}, max probability difference ${compare.rounded.maxDiff.toFixed(5)} (max pixel difference ${maxPixelDiff.toFixed(3)})`);
console.log(`float pixels vs sharp's linear resize (the old rule):                 same class ${compare.sharp.same}/${files.length}, max probability difference ${compare.sharp.maxDiff.toFixed(5)}`);
