// auth.test.js - a server that requires keys, in a real browser: the web
// app signs in with a key, records and reads as before, signs out; and a
// page of another origin (a second local port, so the browser even sends
// the session cookie: ports do not separate sites) tries every attack the
// security review found, each of which must fail.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import {
  freePort, launch, openPage, root, screenshot, silence, speak, startServer, stopServer,
  writeWav,
} from './helpers.js';

const bin = process.env.VERBATIM_BIN || path.join(root, 'build/asan/verbatim');

function makeKey(db, name, scope) {
  return execFileSync(bin, ['keys', 'create', '--name', name, '--scope', scope, '--db', db],
                      { encoding: 'utf8' }).trim();
}

// The attacker's page, served from another port: it runs each attack
// against target and reports what it could do.
const attackPage = `<!doctype html><meta charset="utf-8"><title>cute cats</title>
<form id="f" method="POST" enctype="text/plain" target="sink"></form>
<iframe name="sink"></iframe>
<script>
window.attack = async (target, id) => {
  const out = {};
  const tryIt = async (name, fn) => {
    try { out[name] = await fn(); } catch (e) { out[name] = 'blocked: ' + e.name; }
  };
  await tryIt('create', () => fetch(target + '/api/transcriptions/', {
    method: 'POST', mode: 'no-cors', credentials: 'include',
    headers: { 'Content-Type': 'text/plain' }, body: '{"title":"pwned"}' }).then(() => 'sent'));
  await tryIt('upload', () => fetch(target + '/api/transcriptions/' + id + '/audio', {
    method: 'POST', mode: 'no-cors', credentials: 'include', body: new Uint8Array(32000) })
    .then(() => 'sent'));
  await tryIt('read', () => fetch(target + '/api/transcriptions/', { credentials: 'include' })
    .then((r) => r.text()));
  await tryIt('delete', () => fetch(target + '/api/transcriptions/' + id + '/', {
    method: 'DELETE', credentials: 'include' }).then((r) => 'status ' + r.status));
  const socket = (p) => new Promise((resolve) => {
    const ws = new WebSocket(target.replace('http', 'ws') + p);
    ws.onopen = () => { ws.send(new Uint8Array(3200)); resolve('opened'); };
    ws.onerror = () => resolve('refused');
    setTimeout(() => resolve('timeout'), 5000);
  });
  out.watch = await socket('/ws/watch/' + id);
  out.record = await socket('/ws/transcribe/' + id);
  const form = document.getElementById('f');
  form.action = target + '/api/transcriptions/';
  form.innerHTML = '<input name=\\'{"title":"pwned-form","x":"\\' value=\\'"}\\'>';
  form.submit();
  await new Promise((r) => setTimeout(r, 1000));
  return out;
};
</script>`;

test('with --auth required the app signs in, works, signs out; another origin gets nothing', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vbauth-'));
  const db = path.join(dir, 'db.sqlite');
  const writeKey = makeKey(db, 'laptop', 'write');
  const server = await startServer({ dir, args: ['--auth', 'required'] });
  const evilPort = await freePort();
  const evil = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end(attackPage);
  });
  await new Promise((r) => evil.listen(evilPort, '127.0.0.1', r));
  const wav = writeWav('signed-in.wav', [
    silence(1.0), speak('Please open the window.'), silence(3.0)]);
  const browser = await launch(wav);
  const errors = [];
  const auth = { Authorization: `Token ${writeKey}` };
  try {
    const page = await openPage(browser, errors);
    await page.goto(server.url);
    await page.getByLabel('API key').waitFor();
    await screenshot(page, 'auth-1-sign-in');
    await page.setViewportSize({ width: 360, height: 640 });
    await screenshot(page, 'auth-1-sign-in-360');
    await page.setViewportSize({ width: 1280, height: 720 });
    await page.getByLabel('API key').fill('vb_not-a-real-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('That key is not valid').waitFor();
    await page.getByLabel('API key').fill(writeKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('New transcript').waitFor();
    // The page's scripts cannot read the session: HttpOnly.
    assert.equal(await page.evaluate(() => document.cookie), '');
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === 'verbatim_session');
    assert.ok(session && session.httpOnly && session.sameSite === 'Strict', JSON.stringify(cookies));
    assert.equal(JSON.stringify(cookies).includes(writeKey), false);

    // Works as before: create, record (the WebSocket rides the cookie), read.
    await page.getByLabel('New transcript').fill('Signed in');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.waitForURL(/\/t\/\d+$/);
    const id = Number(page.url().match(/\/t\/(\d+)$/)[1]);
    await page.getByRole('button', { name: 'Record' }).click();
    await page.locator('.segment', { hasText: 'window' }).waitFor({ timeout: 30000 });
    await page.getByRole('button', { name: 'Stop' }).click();
    await page.locator('.state-text', { hasText: 'Saved' }).waitFor({ timeout: 20000 });
    await screenshot(page, 'auth-2-recorded');
    await page.setViewportSize({ width: 360, height: 640 });
    await screenshot(page, 'auth-2-recorded-360');
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 360));
    await page.setViewportSize({ width: 1280, height: 720 });
    await page.reload();
    await page.locator('.segment', { hasText: 'window' }).waitFor();

    // Another origin, in the same browser profile with the session live.
    const evilPage = await page.context().newPage();
    await evilPage.goto(`http://127.0.0.1:${evilPort}/`);
    const got = await evilPage.evaluate(([t, i]) => window.attack(t, i), [server.url, id]);
    assert.match(got.read, /^blocked/, JSON.stringify(got)); // CORS: unreadable
    assert.match(got.delete, /^blocked/, JSON.stringify(got));
    assert.equal(got.watch, 'refused', JSON.stringify(got));
    assert.equal(got.record, 'refused', JSON.stringify(got));
    await evilPage.close();
    // What the server says happened: nothing.
    const list = await (await fetch(`${server.url}/api/transcriptions/`, { headers: auth })).json();
    assert.deepEqual(list.map((t) => t.title), ['Signed in']);
    const jobs = await (await fetch(`${server.url}/api/transcriptions/${id}/audio`,
                                    { headers: auth })).json();
    assert.deepEqual(jobs, []);
    const log = fs.readFileSync(path.join(dir, 'server.log'), 'utf8');
    assert.match(log, /may not (change anything|open a WebSocket)/);
    assert.equal(log.includes(writeKey.slice(3)), false);

    // Sign out: the page asks again, and the cookie no longer opens anything.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').waitFor();
    const status = await page.evaluate(() => fetch('/api/transcriptions/').then((r) => r.status));
    assert.equal(status, 401);
    await screenshot(page, 'auth-3-signed-out');
    assert.deepEqual(errors.filter((e) => !/401|Unauthorized/.test(e)), []);
  } finally {
    await browser.close();
    evil.close();
    assert.equal(await stopServer(server), 0);
  }
});
