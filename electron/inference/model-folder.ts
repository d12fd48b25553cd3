// Saving and loading LayersModels as model.json + weights.bin in a folder. tfjs-node (which provides
// 'file://') is not installed, so this small IOHandler does the same job with node:fs. The layout is the
// standard TF.js one, loadable by tf.loadLayersModel over HTTP in a browser.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tf, type LayersModel } from '../tfjs/tf';

type ModelArtifacts = import('@tensorflow/tfjs').io.ModelArtifacts;
type SaveResult = import('@tensorflow/tfjs').io.SaveResult;

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

function joinWeightData(data: ArrayBuffer | ArrayBuffer[]): ArrayBuffer {
  return Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data;
}

/** An IOHandler that writes model.json and weights.bin into `dir` (created if needed). */
export function folderSaveHandler(dir: string, extra: Record<string, unknown> = {}): import('@tensorflow/tfjs').io.IOHandler {
  return {
    async save(artifacts: ModelArtifacts): Promise<SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer) throw new Error('binary model topologies are not supported');
      await mkdir(dir, { recursive: true });
      const weights = artifacts.weightData ? new Uint8Array(joinWeightData(artifacts.weightData)) : new Uint8Array(0);
      const modelJson = {
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        modelTopology: artifacts.modelTopology,
        ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
        weightsManifest: [{ paths: [`./${WEIGHTS_BIN}`], weights: artifacts.weightSpecs ?? [] }],
        ...(artifacts.userDefinedMetadata ? { userDefinedMetadata: artifacts.userDefinedMetadata } : {}),
        ...extra,
      };
      // Weights first, then the JSON by rename: a reader never sees model.json pointing at missing weights.
      await writeFile(join(dir, WEIGHTS_BIN), weights);
      const tmp = join(dir, `${MODEL_JSON}.tmp`);
      await writeFile(tmp, JSON.stringify(modelJson));
      await rename(tmp, join(dir, MODEL_JSON));
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          modelTopologyBytes: JSON.stringify(artifacts.modelTopology).length,
          weightSpecsBytes: JSON.stringify(artifacts.weightSpecs ?? []).length,
          weightDataBytes: weights.byteLength,
        },
      };
    },
  };
}

/** An IOHandler that reads a folder written by folderSaveHandler (single weights file). */
export function folderLoadHandler(dir: string): import('@tensorflow/tfjs').io.IOHandler {
  return {
    async load(): Promise<ModelArtifacts> {
      const json = JSON.parse(await readFile(join(dir, MODEL_JSON), 'utf8')) as {
        modelTopology: object; format?: string; generatedBy?: string; convertedBy?: string | null;
        weightsManifest: Array<{ paths: string[]; weights: ModelArtifacts['weightSpecs'] }>;
        userDefinedMetadata?: ModelArtifacts['userDefinedMetadata'];
      };
      const buffers: ArrayBuffer[] = [];
      const specs: NonNullable<ModelArtifacts['weightSpecs']> = [];
      for (const group of json.weightsManifest) {
        for (const p of group.paths) {
          const b = await readFile(join(dir, p));
          buffers.push(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
        }
        specs.push(...(group.weights ?? []));
      }
      return {
        modelTopology: json.modelTopology,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy ?? undefined,
        weightSpecs: specs,
        weightData: tf.io.concatenateArrayBuffers(buffers),
        userDefinedMetadata: json.userDefinedMetadata,
      };
    },
  };
}

export async function saveModelToFolder(model: LayersModel, dir: string): Promise<void> {
  await model.save(folderSaveHandler(dir));
}

export async function loadModelFromFolder(dir: string): Promise<LayersModel> {
  return tf.loadLayersModel(folderLoadHandler(dir));
}
