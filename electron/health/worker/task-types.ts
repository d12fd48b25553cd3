// Input and result of the `embed-health` worker task (issue 15), without code: the job runtime and the health kind
// import these and must not load TensorFlow.js. Plain JSON values only (they cross IPC).
import type { EmbeddingMap, HealthAnalysis, HealthOptions } from '../analysis';

export interface HealthImage {
  path: string;
  contentHash: string;
  /** Class index, -1 = unlabelled. */
  label: number;
  /** Subset in the dataset's latest split, null when in none. */
  subset: string | null;
}

export interface EmbedHealthInput {
  /** A local TF.js model folder / model.json or Keras .h5 with MobileNetV2 weights; null = ImageNet alpha 0.35 (downloaded once). */
  basePath: string | null;
  imageSize: number;
  images: HealthImage[];
  classNames: string[];
  options: HealthOptions;
  /** The previous report's map when it was drawn from these very embeddings (images, contents, base, seed): reused. */
  map?: EmbeddingMap | null;
}

export interface EmbedHealthResult {
  analysis: HealthAnalysis;
  base: { weightsId: string; alpha: number; source: string };
  features: { fromCache: number; computed: number; seconds: number };
}
