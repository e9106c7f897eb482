// instances.test.js - the web app in front of two servers behind nginx
// (deploy/nginx.conf, run by tests/lib/nginx.sh) sharing a PostgreSQL
// database (tests/browser.sh starts a throwaway one: VERBATIM_TEST_PG)
// and a Redis (started here).  The server a recording page is streaming
// to is killed (SIGKILL) in the middle of an utterance: the page's own
// reconnect goes through nginx to the other server, which takes the
// session over when the dead one's lease lapses, and every sentence is
// stored and shown once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, launch, openPage, root, screenshot, silence, sleep, speak, startServer,
  stopServer, writeWav } from './helpers.js';

const count = (text, word) => text.toLowerCase().split(word).length - 1;

async function startRedis() {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vbredis-'));
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1',
    '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    try {
      execFileSync('redis-cli', ['-p', String(port), 'ping'], { stdio: 'ignore' });
      return { proc, dir, url: `redis://127.0.0.1:${port}` };
    } catch { await sleep(50); }
  }
  throw new Error('redis-server did not start');
}

async function startNginx(ports) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vbnginx-'));
  const [plain, tls, redirect] = [await freePort(), await freePort(), await freePort()];
  execFileSync(path.join(root, 'tests/lib/nginx.sh'),
    ['start', dir, String(plain), String(tls), String(redirect), ...ports.map(String)],
    { stdio: 'inherit' });
  return { dir, port: plain, url: `http://127.0.0.1:${plain}` };
}

async function sessionsOn(server) {
  return (await (await fetch(`${server.url}/api/health`)).json()).sessions;
}

test('a server killed mid-utterance: the page reconnects through nginx to the other', async (t) => {
  const pg = process.env.VERBATIM_TEST_PG;
  assert.ok(pg, 'VERBATIM_TEST_PG is not set: tests/browser.sh starts PostgreSQL for this test');
  const dbName = `vbweb_${process.pid}`;
  execFileSync('psql', [`${pg}/postgres`, '-qc', `CREATE DATABASE ${dbName}`]);
  const db = `${pg}/${dbName}`;
  const redis = await startRedis();
  const args = ['--bus', redis.url, '--trusted-proxy', '127.0.0.1'];
  const servers = [await startServer({ db, args }), await startServer({ db, args })];
  const nginx = await startNginx(servers.map((s) => s.port));
  const words = ['window', 'coffee', 'weather'];
  const wav = writeWav('instances.wav', [
    silence(1.0), speak('Please open the window.'), silence(1.5),
    speak('I would like a cup of coffee.'), silence(1.5),
    speak('The weather is nice today.'), silence(3.0)]);
  const browser = await launch(wav);
  const errors = [];
  try {
    const r = await fetch(`${nginx.url}/api/transcriptions/`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ title: 'Behind nginx' }) });
    const tr = await r.json();
    const page = await openPage(browser, errors);
    await page.goto(`${nginx.url}/t/${tr.id}`);
    await page.getByRole('button', { name: 'Record' }).click();
    await page.locator('.segment', { hasText: 'window' }).waitFor({ timeout: 30000 });
    // The next utterance under way (its interim words shown), its server
    // dies.
    await page.locator('.interim').filter({ hasText: /\w/ }).waitFor({ timeout: 10000 });
    const counts = await Promise.all(servers.map(sessionsOn));
    const holder = counts[0] === 1 ? servers[0] : servers[1];
    assert.deepEqual(counts.slice().sort(), [0, 1]);
    holder.proc.kill('SIGKILL');
    const killed = Date.now();
    await page.locator('.state-text', { hasText: /^Recording$/ })
      .waitFor({ state: 'hidden', timeout: 5000 });
    await page.locator('.state-text', { hasText: /^Recording$/ }).waitFor({ timeout: 15000 });
    t.diagnostic(`recording again ${(Date.now() - killed) / 1000} s after the kill`);
    const other = servers.find((s) => s !== holder);
    assert.equal(await sessionsOn(other), 1);
    await page.locator('.segment', { hasText: 'weather' }).waitFor({ timeout: 40000 });
    await page.getByRole('button', { name: 'Stop' }).click();
    await page.locator('.state-text', { hasText: 'Saved' }).waitFor({ timeout: 20000 });
    await screenshot(page, 'instances-resumed');
    const segs = await (await fetch(`${other.url}/api/transcriptions/${tr.id}/segments/`)).json();
    const stored = segs.map((s) => s.text).join(' ');
    for (const w of words) assert.equal(count(stored, w), 1, `"${w}" in: ${stored}`);
    for (let i = 1; i < segs.length; i++) assert.ok(segs[i].start_time >= segs[i - 1].end_time, stored);
    const shown = await page.locator('.turns').innerText();
    for (const w of words) assert.equal(count(shown, w), 1, `"${w}" shown in: ${shown}`);
    const unexpected = errors.filter((e) => !/WebSocket/.test(e));
    assert.deepEqual(unexpected, []);
  } finally {
    await browser.close();
    execFileSync(path.join(root, 'tests/lib/nginx.sh'), ['stop', nginx.dir]);
    for (const s of servers) await stopServer(s);
    redis.proc.kill('SIGKILL');
    fs.rmSync(redis.dir, { recursive: true, force: true });
  }
});
