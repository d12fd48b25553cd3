// Writes a tiny real two-class model (8x8 RGB in, softmax out) into the folder named by the first argument. Run as
// its own process by the evaluation worker test, so that the test's process never loads TensorFlow.js itself.
import { writeTinyModel } from '../inference/tiny-model';

const dir = process.argv[2];
if (!dir) throw new Error('usage: write-tiny-model.ts <folder>');
await writeTinyModel(dir);
