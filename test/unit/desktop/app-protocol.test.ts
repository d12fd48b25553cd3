// The custom protocols on a stand-in protocol registry, over a renderer folder this test builds: containment
// (plain, encoded, double-encoded and symlinked traversals), folders, missing files, and media by id only.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { registerAppProtocol, registerMediaProtocol, resolveInside } from '../../../electron/desktop/app-protocol';
import { net, StandInProtocol } from '../../support/electron-stand-in';
import { tempDir } from '../../support/temp';

const dir = tempDir('pawprint-protocol-');
const root = join(dir.path, 'app', 'renderer');
const protocol = new StandInProtocol();
const mediaAsked: Array<[string, string]> = [];

before(() => {
  mkdirSync(join(root, 'assets'), { recursive: true });
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>inside</title>');
  writeFileSync(join(root, 'assets', 'app.js'), 'console.log("inside")');
  writeFileSync(join(dir.path, 'app', 'secret.txt'), 'SECRET-OUTSIDE');
  writeFileSync(join(dir.path, 'app', 'renderer-evil.txt'), 'SECRET-SIBLING');
  symlinkSync(join(dir.path, 'app', 'secret.txt'), join(root, 'assets', 'link.txt'));
  registerAppProtocol(protocol, net, root);
  registerMediaProtocol(protocol, net, async (kind, id) => {
    mediaAsked.push([kind, id]);
    if (kind === 'image' && id === '8') return { path: join(dir.path, 'app', 'secret.txt'), contentType: 'image/jpeg', bytes: Buffer.from('CHECKED-BYTES') };
    return kind === 'thumb' && id === '7' ? { path: join(root, 'assets', 'app.js'), contentType: 'image/webp' } : null;
  });
});

after(() => dir.cleanup());

describe('pawprint-app', () => {
  test('serves files inside the folder, index.html for the root, with the CSP', async () => {
    for (const [url, text] of [['pawprint-app://app/', 'inside'], ['pawprint-app://app/assets/app.js', 'console.log']] as const) {
      const response = await protocol.request(url);
      assert.equal(response.status, 200, url);
      assert.match(await response.text(), new RegExp(text));
      assert.match(response.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    }
  });

  test('no traversal leaves the folder', async () => {
    for (const path of [
      '../secret.txt',
      '..%2fsecret.txt',
      '%2e%2e%2fsecret.txt',
      '%2e%2e/secret.txt',
      'assets/..%2f..%2fsecret.txt',
      '..%2frenderer-evil.txt',
      '..%5csecret.txt',
      '%252e%252e%252fsecret.txt',
      '..%2f..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd',
      'assets/link.txt',
      'index.html%00.js',
    ]) {
      const response = await protocol.request(`pawprint-app://app/${path}`);
      assert.equal(response.status, 404, path);
      assert.doesNotMatch(await response.text(), /SECRET|root:/, path);
    }
  });

  test('a malformed escape is 400, a folder or a missing file 404', async () => {
    assert.equal((await protocol.request('pawprint-app://app/%E0%A4%A')).status, 400);
    assert.equal((await protocol.request('pawprint-app://app/assets')).status, 404);
    assert.equal((await protocol.request('pawprint-app://app/assets/')).status, 404);
    assert.equal((await protocol.request('pawprint-app://app/missing.js')).status, 404);
  });

  test('resolveInside answers the real path of a contained file, null for anything else', async () => {
    assert.match(String(await resolveInside(root, '/assets/app.js')), /renderer[\\/]assets[\\/]app\.js$/);
    assert.equal(await resolveInside(root, '/..%2fsecret.txt'), null);
    assert.equal(await resolveInside(`${root}/`, '/..%2frenderer-evil.txt'), null);
  });
});

describe('pawprint-media', () => {
  test('answers a known kind and id with its content type', async () => {
    const response = await protocol.request('pawprint-media://media/thumb/7');
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'image/webp');
  });

  test('bytes the resolver already checked are served as they are, not re-read from the path', async () => {
    const response = await protocol.request('pawprint-media://media/image/8');
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'image/jpeg');
    assert.equal(await response.text(), 'CHECKED-BYTES');
  });

  test('anything not shaped <kind>/<id> never reaches the resolver', async () => {
    mediaAsked.length = 0;
    for (const path of ['thumb/7/extra', '..%2f..%2fetc%2fpasswd', 'thumb/..%2fsecret', 'thumb', '', 'Thumb/7', 'thumb/7%00']) {
      assert.equal((await protocol.request(`pawprint-media://media/${path}`)).status, 404, path);
    }
    assert.deepEqual(mediaAsked, []);
    assert.equal((await protocol.request('pawprint-media://media/image/7')).status, 404);
    assert.deepEqual(mediaAsked, [['image', '7']]);
  });
});
