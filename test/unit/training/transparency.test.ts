// One pixel rule for transparency: training's decode, predict's decode (both resize modes) and the thumbnail all
// flatten a transparent image on white, so the model learns and predicts on the pixels a person sees.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { decodeImageBuffer } from '../../../electron/training/data-pipeline';
import { decodeForModel } from '../../../electron/inference/preprocess';
import { makeThumbnail } from '../../../electron/dataset/validate';

/** A 24x16 PNG of pure red at alpha 128 (half transparent). */
async function halfTransparentRed(): Promise<Buffer> {
  const width = 24, height = 16;
  const raw = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i++) raw.set([255, 0, 0, 128], i * 4);
  return sharp(raw, { raw: { width, height, channels: 4 } }).png().toBuffer();
}

function distinctPixels(pixels: Uint8Array): string[] {
  const seen = new Set<string>();
  for (let i = 0; i < pixels.length; i += 3) seen.add(`${pixels[i]},${pixels[i + 1]},${pixels[i + 2]}`);
  return [...seen];
}

test('a half-transparent red PNG gives the same RGB pixels in training, predict and the thumbnail', async () => {
  const png = await halfTransparentRed();
  const training = await decodeImageBuffer(png, 8, 8);
  const predictFill = await decodeForModel({ imageSize: { height: 8, width: 8 }, resize: 'fill' }, png);
  const predictCrop = await decodeForModel({ imageSize: { height: 8, width: 8 }, resize: 'center-crop' }, png);
  const thumbnail = await sharp(await makeThumbnail(png)).raw().toBuffer({ resolveWithObject: true });
  assert.equal(thumbnail.info.channels, 3);

  // Red at alpha 128/255 over white: 255 for red, 255 * (1 - 128/255) = 127 for green and blue.
  assert.deepEqual(distinctPixels(training), ['255,127,127'], 'training does not see red flattened on white');
  assert.deepEqual(predictFill, training, 'predict (fill) decodes other pixels than training');
  assert.deepEqual(predictCrop, training, 'predict (centre crop) decodes other pixels than training');
  // The thumbnail is a JPEG: equal up to its rounding.
  for (let i = 0; i < thumbnail.data.length; i += 3) {
    for (let c = 0; c < 3; c++) {
      assert.ok(Math.abs(thumbnail.data[i + c] - training[c]) <= 3, `thumbnail pixel ${i / 3} channel ${c}: ${thumbnail.data[i + c]} vs ${training[c]}`);
    }
  }
});
