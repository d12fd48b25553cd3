// test/support/catalogue.ts: each test gets a catalogue of its own, fresh or copied from a template seeded once.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { catalogueTemplate, freshServices } from '../../support/catalogue';

const datasetNames = (rows: unknown[]) => (rows as Array<{ name: string }>).map((row) => row.name);

let firstDir = '';
test('freshServices: an empty catalogue in a folder of its own', async (t) => {
  const { services, dir } = freshServices(t);
  firstDir = dir;
  assert.equal(services.app.paths.databasePath, join(dir, 'catalogue.db'));
  assert.deepEqual(await services.request('datasets.list', {}), []);
  services.app.db.prepare('INSERT INTO datasets (name, root_path) VALUES (?, ?)').run('mine', join(dir, 'photos'));
});

test('freshServices: the previous test saw its own catalogue, which is gone', async (t) => {
  assert.ok(firstDir !== '' && !existsSync(firstDir), 'the first test removed its folder');
  const { services, dir } = freshServices(t);
  assert.notEqual(dir, firstDir);
  assert.deepEqual(await services.request('datasets.list', {}), []);
});

let seeds = 0;
const template = catalogueTemplate(async (services, dir) => {
  seeds++;
  const photos = join(dir, 'photos');
  mkdirSync(photos, { recursive: true });
  writeFileSync(join(photos, 'note.txt'), 'seeded');
  services.app.db.prepare('INSERT INTO datasets (name, root_path) VALUES (?, ?)').run('seeded', photos);
  services.app.db.prepare('INSERT INTO datasets (name, root_path) VALUES (?, ?)').run('elsewhere', '/somewhere/else');
});
after(() => template.dispose());

test('catalogueTemplate: a fork sees the seed and may change it', async (t) => {
  const { services, dir } = await template.fork(t);
  assert.deepEqual(datasetNames(services.app.db.prepare('SELECT name FROM datasets ORDER BY id').all()), ['seeded', 'elsewhere']);
  assert.equal(services.app.paths.databasePath, join(dir, 'catalogue.db'));
  services.app.db.prepare('DELETE FROM datasets').run();
});

test('catalogueTemplate: the next fork does not see the first one\'s changes, and the seed ran once', async (t) => {
  const { services } = await template.fork(t);
  assert.deepEqual(datasetNames(services.app.db.prepare('SELECT name FROM datasets ORDER BY id').all()), ['seeded', 'elsewhere']);
  assert.equal(seeds, 1);
});

test('catalogueTemplate: copied folders are the fork\'s own, and the catalogue points at them', async (t) => {
  const { services, dir } = await template.fork(t, { copy: ['photos'] });
  const roots = services.app.db.prepare('SELECT name, root_path AS root FROM datasets ORDER BY id').all() as Array<{ name: string; root: string }>;
  assert.deepEqual(roots, [{ name: 'seeded', root: join(dir, 'photos') }, { name: 'elsewhere', root: '/somewhere/else' }]);
  assert.equal(readFileSync(join(dir, 'photos', 'note.txt'), 'utf8'), 'seeded');
  await assert.rejects(template.fork(t, { copy: ['no-such-folder'] }), /the template has no no-such-folder to copy/);
});
