import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCli } from '../../../electron/cli/main';
import { tempDir } from '../../support/temp';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (text: string) => out.push(text), stderr: (text: string) => err.push(text) }, out, err };
}

test('--help lists the commands', async () => {
  const { io, out } = capture();
  assert.equal(await runCli(['--help'], io), 0);
  assert.match(out.join('\n'), /Usage: pawprint <command>/);
  assert.match(out.join('\n'), /\bserve\b/);
});

test('unknown commands and bad flags exit non-zero with one clear line', async () => {
  const unknown = capture();
  assert.equal(await runCli(['frobnicate'], unknown.io), 2);
  assert.equal(unknown.err.length, 1);
  assert.match(unknown.err[0]!, /unknown command "frobnicate"/);

  const badFlag = capture();
  assert.equal(await runCli(['serve', '--colour', 'red'], badFlag.io), 2);
  assert.equal(badFlag.err.length, 1);
  assert.match(badFlag.err[0]!, /Unknown option '--colour'/);

  const badPort = capture();
  assert.equal(await runCli(['serve', '--port', 'eighty'], badPort.io), 2);
  assert.match(badPort.err[0]!, /--port must be/);
});

test('serve --json prints the launch URL with its token, then stops on abort', async () => {
  const dir = tempDir();
  try {
    const { io, out } = capture();
    const controller = new AbortController();
    const running = runCli(['serve', '--port', '0', '--json', '--db', join(dir.path, 'c.db')], io, controller.signal);
    for (let i = 0; i < 100 && out.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    const { url } = JSON.parse(out[0]!) as { url: string };
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/[0-9a-f]{24}\/\?token=[0-9a-f]{48}$/, 'a per-launch path, then the token');
    const denied = await fetch(url.replace(/\?.*$/, ''));
    assert.equal(denied.status, 401);
    controller.abort();
    assert.equal(await running, 0);
  } finally {
    dir.cleanup();
  }
});
