// Issue 14's walkthrough: the browser host's page without its token told everyone to use "the URL printed by
// `pawprint serve`", also those who started it with `npm run serve`. It names the command this server was started by.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServices } from '../../../electron/services/index';
import { launchCommand, startWebHost } from '../../../electron/host/web';
import { tempDir, tempPaths } from '../../support/temp';

test('the command is read from how the process was started', () => {
  assert.equal(launchCommand(['node', '/app/dist/node/cli.js', 'serve'], { npm_lifecycle_event: 'serve' }), 'npm run serve');
  assert.equal(launchCommand(['node', '/usr/bin/pawprint', 'serve', '--port', '8080'], {}), 'pawprint serve --port 8080');
  assert.equal(launchCommand(['node', '/usr/bin/pawprint'], {}), 'pawprint serve');
});

test('the page without a token names the command the user ran', async () => {
  const dir = tempDir('pawprint-web-');
  const services = createServices({ paths: tempPaths(dir.path), host: { kind: 'web' } });
  const staticRoot = join(dir.path, 'renderer');
  mkdirSync(staticRoot);
  writeFileSync(join(staticRoot, 'index.html'), '<!doctype html><title>Pawprint test</title>');
  const web = await startWebHost({ services, staticRoot, token: 'test-token-123', command: 'npm run serve' });
  try {
    const missing = await fetch(web.url);
    assert.equal(missing.status, 401);
    const text = await missing.text();
    assert.match(text, /`npm run serve`/);
    assert.doesNotMatch(text, /pawprint serve/);
    const wrong = await fetch(`${web.url}?token=nope`, { redirect: 'manual' });
    assert.equal(wrong.status, 403);
    assert.match(await wrong.text(), /`npm run serve`/);
  } finally {
    await web.close();
    await services.close();
    dir.cleanup();
  }
});
