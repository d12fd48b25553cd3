// Input and result of the export worker task (issue 12 §2.4), without code: the export kind imports these and must
// not load TensorFlow.js to do so (nor does the main side, which describes a run and its images the same way).
import type { ExportFormat, ExportResult } from '../../shared/contract/export';
import type { JobInput } from '../../shared/contract/jobs';

/** Largest difference allowed between the in-app model and the exported one, on any output. */
export const VERIFY_TOLERANCE = 1e-5;
/**
 * Per target: tfjs reloads the same graph in the same runtime (1e-5); onnx compares ONNX Runtime with TF.js and tm
 * the converted model on TM's input with Pawprint's (1e-4, issue 13; targets/onnx ONNX_VERIFY_TOLERANCE, targets/tm).
 */
export const TARGET_TOLERANCE = { tfjs: VERIFY_TOLERANCE, onnx: 1e-4, tm: 1e-4 } as const;

/** What the export needs to know about a run (a subset of the catalogue's RunDetail). */
export interface RunForExport {
  id: number;
  name: string;
  preset: string;
  status: string;
  modelPath: string | null;
  classNames: string[];
  config: { imageSize: { height: number; width: number }; preprocessing: 'none' | 'unit' | 'symmetric' } & Record<string, unknown>;
  datasetId: number | null;
  splitId: number | null;
  dataHash: string | null;
  backend: string | null;
  versions: Record<string, string>;
  bestEpoch: number | null;
  bestValAccuracy: number | null;
  testAccuracy: number | null;
  testLoss: number | null;
  createdAt: string;
  finishedAt: string | null;
  epochs: Array<{ epoch: number; loss: number | null; accuracy: number | null; valLoss: number | null; valAccuracy: number | null }>;
}

export interface VerifyImage {
  path: string;
  name?: string;
}

export interface ExportPackageInput {
  run: RunForExport;
  target: JobInput<'export'>['target'];
  out: string;
  format: ExportFormat;
  overwrite: boolean;
  appVersion: string;
  images: VerifyImage[];
}
/** Tolerance and where the images came from are the kind's to add. */
export type ExportPackageResult = Omit<ExportResult, 'tolerance' | 'imagesSource'>;
