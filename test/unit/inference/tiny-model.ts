// A tiny real image classifier for the inference task tests (not a test file): built, not trained, in a few
// milliseconds. Two classes, 8x8 RGB input, softmax output, saved as a plain TF.js folder.
import { tf } from '../../../electron/tfjs/tf';
import { saveModelToFolder } from '../../../electron/inference/model-folder';

export async function writeTinyModel(dir: string, seed = 1, classes = 2): Promise<void> {
  const model = tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [8, 8, 3] }),
      tf.layers.dense({ units: classes, activation: 'softmax', kernelInitializer: tf.initializers.randomNormal({ seed, stddev: 0.01 }) }),
    ],
  });
  await saveModelToFolder(model, dir);
  model.dispose();
}
