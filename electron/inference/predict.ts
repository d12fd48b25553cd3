// Inference moved into loader.ts, predictor.ts, image-files.ts, backend.ts and preprocess.ts (issue 12 §2.5). This
// file only re-exports them for the tests, bench and e2e code that still import it; it goes when they import the
// new files.
export { loadModel, type LoadedModel, type LoadModelOptions, type ModelSourceKind } from './loader';
export {
  predictFiles, predictPixels, type FilePrediction, type PixelPrediction, type PredictInput, type PredictOptions,
} from './predictor';
export { collectImageFiles, listImageFiles } from './image-files';
export { ensureInferenceBackend } from './backend';
export { decodeForModel, externalScaling, type InputPreprocessing, type ResizeMode } from './preprocess';
export { toProbabilities } from './probabilities';
