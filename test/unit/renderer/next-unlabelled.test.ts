// The Label view's "next unlabelled" (issue 17): the store asks the catalogue for the next unlabelled image after the
// focused one (images.nextUnlabelled) and loads only the page that holds it, instead of paging through the grid.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { FakeBridge, installBridge, loadStore, until } from './fake-bridge';
import type { Envelope } from '../../../shared/errors';
import type { ImageItem } from '../../../shared/contract/index';

const IMAGES = 1_000;
const UNLABELLED_ID = 901;
const dataset = {
  id: 1, name: 'big', rootPath: '/photos/big', layout: 'folders' as const, createdAt: '2026-01-01T00:00:00Z', lastImportAt: null,
  counts: { ok: IMAGES, rejected: 0, duplicate: 0, missing: 0, labelled: IMAGES - 1, unlabelled: 1 },
  classes: [{ id: 10, name: 'cat', color: '#f00', position: 0, count: IMAGES - 1 }],
  latestSplit: null,
};
const image = (id: number) => ({
  id, datasetId: 1, relPath: `cat/${String(id).padStart(5, '0')}.png`, status: 'ok' as const, reason: null,
  classId: id === UNLABELLED_ID ? null : 10, labelSource: id === UNLABELLED_ID ? null : ('folder' as const), subset: null, width: 32, height: 32,
});

/** The fake catalogue's pages (no count) and its next-unlabelled lookup, as electron/catalogue/image-queries.ts answers them. */
class GridBridge extends FakeBridge {
  override async invoke(channel: string, payload: unknown): Promise<Envelope<unknown>> {
    const rows = [...this.catalogue.images.values()].map(({ datasetId: _datasetId, ...item }): ImageItem => item);
    if (channel === 'images.page') {
      const { offset, limit } = payload as { offset: number; limit: number };
      return this.respond(channel, payload, { offset, items: rows.slice(offset, offset + limit) });
    }
    if (channel === 'images.nextUnlabelled') {
      const { afterImageId } = payload as { afterImageId: number | null };
      const from = rows.findIndex((row) => row.id === afterImageId) + 1;
      const order = [...rows.slice(from), ...rows.slice(0, from)];
      const next = order.find((row) => row.status === 'ok' && row.classId === null);
      return this.respond(channel, payload, next ? { imageId: next.id, index: rows.indexOf(next) } : null);
    }
    return super.invoke(channel, payload);
  }
}

const bridge = new GridBridge({
  datasets: [dataset],
  images: new Map(Array.from({ length: IMAGES }, (_, index) => [index + 1, image(index + 1)])),
  runs: [],
  splits: [],
});
installBridge(bridge);

let store: {
  total: number; focusIndex: number; selected: Set<number>; refresh(): Promise<void>; nextUnlabelled(): Promise<boolean>;
  itemAt(index: number): ImageItem | undefined;
};

before(async () => {
  store = (await loadStore('datasets')).datasetStore as typeof store;
  await store.refresh();
  await until('the first page is loaded', () => store.total === IMAGES && store.itemAt(0) !== undefined);
});

test('next unlabelled asks the catalogue once and loads only the page that holds the answer, not every page before it', async () => {
  const pagesBefore = bridge.count('images.page') + bridge.count('images.query');
  assert.equal(await store.nextUnlabelled(), true);
  assert.equal(store.focusIndex, UNLABELLED_ID - 1);
  assert.deepEqual([...store.selected], [UNLABELLED_ID]);
  const asked = bridge.calls.filter((call) => call.channel === 'images.nextUnlabelled');
  assert.equal(asked.length, 1);
  assert.deepEqual(asked[0]!.payload, { datasetId: 1, filter: { status: 'ok' }, afterImageId: 1 });
  await until('the answer\'s page is loaded', () => store.itemAt(UNLABELLED_ID - 1) !== undefined);
  assert.equal(store.itemAt(UNLABELLED_ID - 1)!.id, UNLABELLED_ID);
  assert.equal(bridge.count('images.page') + bridge.count('images.query') - pagesBefore, 1, 'one page: the one holding image 901');
});

test('when every image in the view is labelled, next unlabelled says so without moving the focus', async () => {
  bridge.catalogue.images.get(UNLABELLED_ID)!.classId = 10;
  const focus = store.focusIndex;
  assert.equal(await store.nextUnlabelled(), false);
  assert.equal(store.focusIndex, focus);
});
