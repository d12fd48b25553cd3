import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../electron/build-paths';

/** ../shared beside the checkout: real photos and weights for tests that need them (never committed). */
export const sharedRoot = join(projectRoot(), '..', 'shared');
export const sharedPhotos = join(sharedRoot, 'data', 'cats-vs-dogs');
export const sharedBackbone = join(sharedRoot, 'models', 'mobilenet-v2-0.35-224-teachable-machine');

/** The `skip` option for a test that needs ../shared: false where present, else the reason it is skipped. */
export function needsShared(path: string): false | string {
  return existsSync(path) ? false : `needs ${path} (../shared is not beside this checkout)`;
}
