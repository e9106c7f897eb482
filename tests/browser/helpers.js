// helpers.js - what the browser tests share: a real server on a free port,
// speech from flite, and headless Debian chromium with a fake microphone.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

// (import.meta.dirname needs Node 20.11; Debian 12 ships Node 18.)
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const outDir = path.join(root, 'build', 'test-output', 'browser');
fs.mkdirSync(outDir, { recursive: true });

export function freePort() {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// args: more flags for `verbatim serve` (e.g. ['--auth', 'required']).
// db: another --db than a SQLite file in dir (a postgresql:// URL).
export async function startServer({ port, dir, db, args = [] } = {}) {
  port = port || await freePort();
  dir = dir || fs.mkdtempSync(path.join(os.tmpdir(), 'vbweb-'));
  const bin = process.env.VERBATIM_BIN || path.join(root, 'build/asan/verbatim');
  const log = fs.openSync(path.join(dir, 'server.log'), 'a');
  const proc = spawn(bin, ['serve', '--port', String(port), '--db', db || path.join(dir, 'db.sqlite'),
                           '--workers', '2', ...args], { stdio: ['ignore', log, log] });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    try {
      const r = await fetch(`${url}/api/health`);
      if (r.ok) return { proc, port, dir, url };
    } catch { /* not yet */ }
    if (proc.exitCode !== null) break;
    await sleep(100);
  }
  throw new Error(`server did not start:\n${fs.readFileSync(path.join(dir, 'server.log'), 'utf8')}`);
}

export async function stopServer(server, signal = 'SIGTERM') {
  if (server.proc.exitCode !== null) return server.proc.exitCode;
  if (server.proc.signalCode !== null) return server.proc.signalCode; // killed
  const done = new Promise((resolve) => server.proc.on('exit', (code, sig) => resolve(code ?? sig)));
  server.proc.kill(signal);
  return done;
}

// Stops server, runs sql on its database (rows a test needs that no API
// makes, or too many to make through one), and starts it again on the
// same port and folder; resolves with the restarted server.
export async function withRows(server, sql) {
  await stopServer(server);
  execFileSync('sqlite3', [path.join(server.dir, 'db.sqlite')], { input: sql });
  return startServer({ port: server.port, dir: server.dir });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A 16-bit PCM WAV file: its rate, channels and samples (interleaved).
export function readWav(file) {
  const wav = fs.readFileSync(file);
  let rate = 16000;
  let channels = 1;
  let pos = 12;
  while (pos + 8 <= wav.length) {
    const id = wav.toString('ascii', pos, pos + 4);
    const size = wav.readUInt32LE(pos + 4);
    if (id === 'fmt ') {
      channels = wav.readUInt16LE(pos + 10);
      rate = wav.readUInt32LE(pos + 12);
    }
    if (id === 'data') {
      return { rate, channels, samples: new Int16Array(wav.buffer.slice(
        wav.byteOffset + pos + 8, wav.byteOffset + pos + 8 + size)) };
    }
    pos += 8 + size + (size & 1);
  }
  throw new Error(`${file}: no audio in it`);
}

// 16 kHz mono samples of text spoken by a flite voice.
export function speak(text, voice = 'slt') {
  const file = path.join(os.tmpdir(), `vbflite-${process.pid}-${Date.now()}.wav`);
  execFileSync('flite', ['-voice', voice, '-t', text, '-o', file]);
  try {
    return readWav(file).samples;
  } finally {
    fs.unlinkSync(file);
  }
}

export function silence(seconds) {
  return new Int16Array(Math.round(seconds * 16000));
}

// Writes the parts (sample arrays) as one 16 kHz mono WAV file.
export function writeWav(name, parts) {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const buf = Buffer.alloc(44 + total * 2);
  buf.write('RIFF', 0); buf.writeUInt32LE(36 + total * 2, 4); buf.write('WAVE', 8);
  buf.write('fmt ', 12); buf.writeUInt32LE(16, 16); buf.writeUInt16LE(1, 20);
  buf.writeUInt16LE(1, 22); buf.writeUInt32LE(16000, 24); buf.writeUInt32LE(32000, 28);
  buf.writeUInt16LE(2, 32); buf.writeUInt16LE(16, 34);
  buf.write('data', 36); buf.writeUInt32LE(total * 2, 40);
  let offset = 44;
  for (const p of parts) {
    for (let i = 0; i < p.length; i++, offset += 2) buf.writeInt16LE(p[i], offset);
  }
  const file = path.join(outDir, name);
  fs.writeFileSync(file, buf);
  return file;
}

// Headless chromium whose microphone plays wavFile once.  With
// { askPermission: true } the browser asks before giving the microphone,
// and the test's context decides.
export async function launch(wavFile, { askPermission = false } = {}) {
  const args = ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
                '--disable-component-update', '--no-first-run', '--disable-sync',
                '--use-fake-device-for-media-stream',
                '--autoplay-policy=no-user-gesture-required'];
  if (!askPermission) args.push('--use-fake-ui-for-media-stream');
  if (wavFile) args.push(`--use-file-for-fake-audio-capture=${wavFile}%noloop`);
  return chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args });
}

// A page that fails the test on console errors (unless allowed).
export async function openPage(browser, errors, options = {}) {
  const context = await browser.newContext({ acceptDownloads: true, ...options });
  const page = await context.newPage();
  page.on('console', (msg) => { if (msg.type() === 'error') errors.push(msg.text()); });
  page.on('pageerror', (err) => errors.push(String(err)));
  return page;
}

export async function screenshot(page, name) {
  await page.screenshot({ path: path.join(outDir, `${name}.png`), fullPage: true });
}

export async function segmentsOf(server, id) {
  return (await fetch(`${server.url}/api/transcriptions/${id}/segments/`)).json();
}

export async function createTranscription(server, title) {
  const r = await fetch(`${server.url}/api/transcriptions/`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ title }),
  });
  return r.json();
}

// A TCP relay in front of server, to lose a connection the way a network
// does: cut() closes the browser's side of every live socket and leaves
// the server's side open and silent, so the server does not notice.  The
// request lines that came through are kept in `requests`.
export async function startRelay(server) {
  const port = await freePort();
  const live = [];
  const requests = [];
  const relay = net.createServer((client) => {
    const upstream = net.connect(server.port, '127.0.0.1');
    let tracked = false;
    client.on('data', (chunk) => {
      // A connection may carry several requests before it upgrades.
      for (const line of chunk.toString('latin1').split('\r\n')) {
        if (!/^(GET|POST|PATCH|DELETE|PUT) \//.test(line)) continue;
        requests.push(line);
        if (line.includes(' /ws/transcribe/') && !tracked) {
          tracked = true;
          live.push({ client, upstream });
        }
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => client.write(chunk));
    client.on('error', () => {});
    upstream.on('error', () => {});
    upstream.on('close', () => client.destroy());
    client.on('close', () => { if (!client.cut) upstream.destroy(); });
  });
  await new Promise((resolve) => relay.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    cut() {
      for (const { client, upstream } of live.splice(0)) {
        client.cut = true;
        upstream.removeAllListeners('data');
        upstream.on('data', () => {}); // whatever the server says is lost
        client.destroy();
      }
    },
    close() {
      relay.close();
    },
  };
}
