import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolvePaths } from '../../electron/paths';
import type { AppPaths } from '../../electron/paths';

/** A throwaway folder for one test, removed with `cleanup()`. */
export function tempDir(prefix = 'pawprint-test-'): { path: string; cleanup(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** App paths whose catalogue and data folder live inside `dir`. */
export function tempPaths(dir: string): AppPaths {
  return resolvePaths({ db: join(dir, 'catalogue.db'), env: {} });
}
