// A catalogue per test (issue 12 §2.9): no test sees rows another test wrote, so tests can run in any order.
//   freshServices(t)            an empty catalogue in a temp folder, closed and removed when the test ends
//   catalogueTemplate(seed)     seeds once per file (an import, a tiny trained model), then fork(t) gives each test
//                               its own copy of the catalogue file; folders the test changes are copied with `copy`
import { cpSync, copyFileSync, existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { join, sep } from 'node:path';
import type { TestContext } from 'node:test';
import { createServices } from '../../electron/services/index';
import type { Services } from '../../electron/services/index';
import type { HostCapabilities } from '../../electron/services/context';
import { tempDir, tempPaths } from './temp';

export interface FreshServicesOptions {
  host?: HostCapabilities;
  readonly?: boolean;
}

export interface ServicesInDir {
  services: Services;
  /** The test's folder: catalogue.db, its data folder catalogue.db.data/, and whatever the test puts there. */
  dir: string;
}

function servicesIn(dir: string, options: FreshServicesOptions): Services {
  return createServices({ paths: tempPaths(dir), host: options.host ?? { kind: 'web' }, readonly: options.readonly });
}

/** Services on an empty catalogue of their own; closed and deleted after the test (also when it fails). */
export function freshServices(t: TestContext, options: FreshServicesOptions = {}): ServicesInDir {
  return servicesForTest(t, tempDir('pawprint-test-'), options);
}

/** Opens services in `dir` and closes them and deletes `dir` after the test; deletes `dir` at once if opening fails. */
function servicesForTest(t: TestContext, dir: { path: string; cleanup(): void }, options: FreshServicesOptions): ServicesInDir {
  let services: Services;
  try {
    services = servicesIn(dir.path, options);
  } catch (error) {
    dir.cleanup();
    throw error;
  }
  t.after(async () => {
    try {
      await services.close();
    } finally {
      dir.cleanup();
    }
  });
  return { services, dir: dir.path };
}

export interface ForkOptions extends FreshServicesOptions {
  /**
   * Folders of the template (relative to its dir, e.g. 'photos') the test changes: they are copied, and the
   * catalogue's dataset roots and model paths under them are pointed at the copies. Everything else stays shared
   * and must be treated as read-only.
   */
  copy?: string[];
}

export interface CatalogueTemplate {
  fork(t: TestContext, options?: ForkOptions): Promise<ServicesInDir>;
  /** Removes the template's folder; call from the file's after(). */
  dispose(): Promise<void>;
}

/**
 * Seeds one catalogue per test file, lazily on the first fork, and hands each test a copy of it. `seed` gets services
 * on the template and the template's dir (put imported photos there so that `copy` can name them).
 */
export function catalogueTemplate(seed: (services: Services, dir: string) => Promise<void>): CatalogueTemplate {
  let template: { path: string; cleanup(): void } | null = null;
  let seeding: Promise<string> | null = null;

  async function seeded(): Promise<string> {
    seeding ??= (async () => {
      const folder = tempDir('pawprint-template-');
      template = folder;
      const services = servicesIn(folder.path, {});
      try {
        await seed(services, folder.path);
        // Everything in the main file: the copy must not need the -wal file.
        services.app.db.pragma('wal_checkpoint(TRUNCATE)');
      } finally {
        await services.close();
      }
      return folder.path;
    })();
    return seeding;
  }

  return {
    async fork(t, options = {}) {
      const from = await seeded();
      const to = tempDir('pawprint-fork-');
      try {
        const fromPaths = tempPaths(from);
        const toPaths = tempPaths(to.path);
        copyFileSync(fromPaths.databasePath, toPaths.databasePath);
        for (const name of options.copy ?? []) {
          const source = join(from, name);
          if (!existsSync(source)) throw new Error(`catalogueTemplate: the template has no ${name} to copy`);
          cpSync(source, join(to.path, name), { recursive: true });
        }
        if (options.copy?.length) repointCopies(toPaths.databasePath, from, to.path, options.copy);
        const forked = servicesForTest(t, to, options);
        return forked;
      } catch (error) {
        to.cleanup();
        throw error;
      }
    },
    async dispose() {
      await seeding?.catch(() => undefined);
      (template as { cleanup(): void } | null)?.cleanup();
    },
  };
}

/** Points the forked catalogue's dataset roots and model paths under each copied folder at the copy. */
function repointCopies(databasePath: string, from: string, to: string, names: string[]): void {
  const db = new Database(databasePath);
  try {
    for (const name of names) {
      const oldPrefix = join(from, name);
      const newPrefix = join(to, name);
      for (const [table, column] of [['datasets', 'root_path'], ['runs', 'model_path']] as const) {
        db.prepare(
          `UPDATE ${table} SET ${column} = @newPrefix || substr(${column}, length(@oldPrefix) + 1)
           WHERE ${column} = @oldPrefix OR substr(${column}, 1, length(@oldPrefix) + 1) = @oldPrefix || @sep`,
        ).run({ newPrefix, oldPrefix, sep });
      }
    }
  } finally {
    db.close();
  }
}
