// A Browse panel's listings (appStore.folderBrowser): an answer overtaken by the panel's later request is dropped and
// not remembered, so a slow opening listing cannot replace the folder the user opened since; another panel's
// requests do not overtake it.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { FakeBridge, installBridge, loadStore } from './fake-bridge';
import type { Envelope } from '../../../shared/errors';
import type { DirectoryListing } from '../../../shared/contract/index';

/** Answers system.listDirectory when the test releases that path. */
class SlowFolders extends FakeBridge {
  private readonly waiting = new Map<string, () => void>();
  override async invoke(channel: string, payload: unknown): Promise<Envelope<unknown>> {
    if (channel !== 'system.listDirectory') return super.invoke(channel, payload);
    const path = (payload as { path?: string }).path ?? '/home';
    await new Promise<void>((resolve) => this.waiting.set(path, resolve));
    return { ok: true, value: { path, parent: '/', entries: [] } };
  }
  release(path: string): void {
    const resolve = this.waiting.get(path);
    assert.ok(resolve, `no listing of ${path} is waiting`);
    resolve();
  }
}
const bridge = new SlowFolders({ datasets: [], images: new Map(), runs: [], splits: [], jobs: [], finished: new Map() });
installBridge(bridge);

type Browse = (path?: string, options?: { start?: boolean }) => Promise<DirectoryListing | null>;
let appStore: { folderBrowser(): Browse; lastFolder: string | null };

before(async () => {
  ({ appStore } = (await loadStore('app')) as unknown as { appStore: typeof appStore });
});

const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

test('a listing overtaken by the same panel\'s later request is dropped, and the later folder is the one remembered', async () => {
  const panel = appStore.folderBrowser();
  const opening = panel('/start', { start: true });
  const typed = panel('/typed');
  await settle();
  bridge.release('/typed');
  assert.equal((await typed)?.path, '/typed');
  bridge.release('/start');
  assert.equal(await opening, null);
  assert.equal(appStore.lastFolder, '/typed');
});

test('two panels do not drop each other\'s listings', async () => {
  const first = appStore.folderBrowser();
  const second = appStore.folderBrowser();
  const a = first('/a');
  const b = second('/b');
  await settle();
  bridge.release('/a');
  bridge.release('/b');
  assert.equal((await a)?.path, '/a');
  assert.equal((await b)?.path, '/b');
});
