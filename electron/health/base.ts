// Which frozen base a health job embeds with: the one the user names, else the bundled ImageNet MobileNetV2 alpha
// 0.35 backbone (resources/models/, packaged or in the source checkout), else null: the worker then resolves the same
// ImageNet weights through the download cache. No TensorFlow.js here: the health kind runs in the host.
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AppError } from '../../shared/errors';
import { projectRoot } from '../build-paths';

/** The bundled backbone's folder name (training/mobilenet/bundled-base.ts names the same folder). */
export const BUNDLED_BASE_FOLDER = 'mobilenet_v2_0.35_224_imagenet';

export function bundledBasePath(resourcesPath: string | undefined = (process as { resourcesPath?: string }).resourcesPath): string | null {
  const candidates = [
    ...(resourcesPath ? [join(resourcesPath, 'models', BUNDLED_BASE_FOLDER)] : []),
    join(projectRoot(), 'resources', 'models', BUNDLED_BASE_FOLDER),
  ];
  return candidates.find((folder) => existsSync(join(folder, 'model.json'))) ?? null;
}

/** The base to embed with; a named one must exist (refused in one line before anything is queued). */
export function chooseHealthBase(base: string | undefined): string | null {
  if (base === undefined) return bundledBasePath();
  if (/^https?:\/\//i.test(base)) return base;
  const path = resolve(base);
  let isFolder: boolean;
  try {
    isFolder = statSync(path).isDirectory();
  } catch {
    throw new AppError('not-found', `the base ${path} does not exist; give a TF.js model folder, its model.json or a Keras .h5 file with MobileNetV2 weights`);
  }
  if (isFolder && !existsSync(join(path, 'model.json'))) {
    throw new AppError('invalid-payload', `the base folder ${path} has no model.json; give a TF.js model folder, its model.json or a Keras .h5 file`);
  }
  return path;
}
