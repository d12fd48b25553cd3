// A tiny real model written by hand (not a test file): model.json + weights.bin of a Flatten + Dense(softmax)
// classifier on 8x8 RGB, in exactly the layout TensorFlow.js saves. No TensorFlow.js is loaded to write it, so a test
// can assert that its own process never loads it while the job workers predict and export.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const HAND_MODEL_SIZE = 8;

/** Class 0 ("blue") follows the blue channel and class 1 ("red") the red one, on raw 0..255 pixels. */
export async function writeHandMadeModel(dir: string): Promise<void> {
  const side = HAND_MODEL_SIZE;
  const inputs = side * side * 3;
  const topology = {
    class_name: 'Sequential',
    config: {
      name: 'hand_made',
      layers: [
        { class_name: 'Flatten', config: { name: 'flatten_1', trainable: true, batch_input_shape: [null, side, side, 3], dtype: 'float32' } },
        {
          class_name: 'Dense',
          config: {
            name: 'dense_1', units: 2, activation: 'softmax', use_bias: true, trainable: true,
            kernel_initializer: { class_name: 'Zeros', config: {} }, bias_initializer: { class_name: 'Zeros', config: {} },
            kernel_regularizer: null, bias_regularizer: null, activity_regularizer: null, kernel_constraint: null, bias_constraint: null,
          },
        },
      ],
    },
    keras_version: 'tfjs-layers 4.22.0',
    backend: 'tensor_flow.js',
  };
  const kernel = new Float32Array(inputs * 2);
  for (let i = 0; i < inputs; i++) {
    const channel = i % 3;
    kernel[i * 2] = channel === 2 ? 0.0004 : channel === 1 ? 0.0001 : 0;
    kernel[i * 2 + 1] = channel === 0 ? 0.0004 : 0;
  }
  const bias = new Float32Array([0.01, -0.01]);
  const weights = Buffer.concat([Buffer.from(kernel.buffer), Buffer.from(bias.buffer)]);
  const modelJson = {
    format: 'layers-model',
    generatedBy: 'hand',
    convertedBy: null,
    modelTopology: topology,
    weightsManifest: [{
      paths: ['./weights.bin'],
      weights: [
        { name: 'dense_1/kernel', shape: [inputs, 2], dtype: 'float32' },
        { name: 'dense_1/bias', shape: [2], dtype: 'float32' },
      ],
    }],
  };
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'model.json'), JSON.stringify(modelJson));
  await writeFile(join(dir, 'weights.bin'), weights);
}
