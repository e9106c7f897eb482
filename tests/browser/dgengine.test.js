// dgengine.test.js - the deepgram engine end to end: a Verbatim server
// (A) whose engine is a second Verbatim's /v1/listen (B), as it would be
// Deepgram's.  A client streams into A as into any Verbatim, with
// `verbatim stream`; what A stores is checked against the same audio
// streamed to B directly, and against B going away.
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { freePort, root, silence, sleep, speak, startServer, stopServer, writeWav }
  from './helpers.js';

const bin = process.env.VERBATIM_BIN || path.join(root, 'build/asan/verbatim');
const fixtures = process.env.VB_FIXTURES || path.join(root, 'build/fixtures');

const first = 'The meeting starts at nine with the budget review.';
const second = 'I will bring the numbers from last quarter.';
const third = 'The quick brown fox jumped over the lazy dog near the river bank.';

// Streams file into server (as a person with a microphone when realtime);
// resolves with the exit code, the messages and stderr.
function stream(server, file, { key, realtime = false, engine, keywords = [] } = {}) {
  const args = ['stream', '--json', '--url', server.url.replace('http', 'ws'), file];
  if (realtime) args.push('--realtime');
  for (const k of keywords) args.push('--keywords', k);
  if (key) args.push('--key', key);
  if (engine) args.push('--engine', engine);
  return new Promise((resolve) => {
    execFile(bin, args, { timeout: 120000 }, (err, stdout, stderr) => {
      const messages = stdout.split('\n').filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l));
      resolve({ code: err ? err.code : 0, messages, stderr });
    });
  });
}

const finals = (r) => r.messages.filter((m) => m.type === 'transcript_segment' &&
                                         m.payload.is_final).map((m) => m.payload);
const words = (text) => text.toLowerCase().replace(/[^a-z0-9' ]/g, ' ').split(/\s+/)
  .filter(Boolean);

// Word error rate of hyp against ref (word lists), by edit distance.
function wer(ref, hyp) {
  let prev = Array.from({ length: hyp.length + 1 }, (_, j) => j);
  for (let i = 1; i <= ref.length; i++) {
    const row = [i];
    for (let j = 1; j <= hyp.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1,
                        prev[j - 1] + (ref[i - 1] === hyp[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[hyp.length] / ref.length;
}

async function health(server) {
  return (await fetch(`${server.url}/api/health`)).json();
}

let upstream, engine, key, upstreamDir;

function startEngine(extra = []) {
  return startServer({ args: ['--engine', 'deepgram', '--deepgram-url',
                              upstream.url.replace('http', 'ws'), ...extra] });
}

before(async () => {
  upstreamDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vbdg-up-'));
  key = execFileSync(bin, ['keys', 'create', '--name', 'engine', '--scope', 'write',
                           '--db', path.join(upstreamDir, 'db.sqlite')],
                     { encoding: 'utf8' }).trim();
  upstream = await startServer({ dir: upstreamDir, args: ['--auth', 'required'] });
  engine = await startEngine(['--deepgram-key', key]);
});

after(async () => {
  if (engine) await stopServer(engine);
  if (upstream) await stopServer(upstream);
});

test('the same words and speakers as the upstream gives, and KeepAlive over a long silence',
     async () => {
  // Two voices, then 12 s of quiet (the upstream closes a stream that
  // hears nothing for 10 s), then the first voice again.
  const file = writeWav('dgengine-meeting.wav', [
    silence(0.5), speak(first, 'slt'), silence(1), speak(second, 'rms'), silence(12),
    speak(third, 'slt'), silence(1)]);
  const [through, direct] = await Promise.all([
    stream(engine, file, { realtime: true }),
    stream(upstream, file, { key }),
  ]);
  assert.equal(through.code, 0, through.stderr);
  assert.equal(direct.code, 0, direct.stderr);
  const truth = words(`${first} ${second} ${third}`);
  const viaEngine = finals(through);
  const viaUpstream = finals(direct);
  const werEngine = wer(truth, words(viaEngine.map((f) => f.text).join(' ')));
  const werDirect = wer(truth, words(viaUpstream.map((f) => f.text).join(' ')));
  console.log(`WER through the engine ${(werEngine * 100).toFixed(1)} %, ` +
              `upstream directly ${(werDirect * 100).toFixed(1)} %`);
  assert.ok(Math.abs(werEngine - werDirect) <= 0.02,
            `WER ${werEngine} through the engine, ${werDirect} directly`);
  // The speakers: A labels them itself, as it does for its own engine.
  const turns = (fs_) => fs_.map((f) => f.speaker).filter((s, i, a) => s !== a[i - 1]);
  assert.deepEqual(turns(viaEngine), turns(viaUpstream));
  assert.equal(new Set(viaEngine.map((f) => f.speaker)).size, 2);
  // The service's interim results show while each sentence is spoken.
  const interims = through.messages.filter((m) => m.type === 'transcript_segment' &&
                                               !m.payload.is_final);
  assert.ok(interims.length >= 10, `${interims.length} interims`);
  assert.ok(interims.some((m) => /budget/i.test(m.payload.text)));
  // Words with times on the transcription's timeline, in order.
  const all = viaEngine.flatMap((f) => f.words);
  for (let i = 1; i < all.length; i++) assert.ok(all[i].start >= all[i - 1].start - 0.01);
  assert.ok(viaEngine.at(-1).start > 14, `the last final starts at ${viaEngine.at(-1).start}`);
  // What the client saw is what A stored.
  const id = through.messages.find((m) => m.type === 'status') &&
             Number(/transcript (\d+)/.exec(through.stderr)[1]);
  const stored = await (await fetch(`${engine.url}/api/transcriptions/${id}/segments/`)).json();
  assert.deepEqual(stored.map((s) => s.text), viaEngine.map((f) => f.text));
  // The quiet did not cost the upstream connection: KeepAlive kept it.
  const h = await health(engine);
  assert.equal(h.engine, 'deepgram');
  assert.equal(h.upstream.failures, 0);
  assert.ok(h.upstream.latency_ms >= 0 && h.upstream.latency_ms < 3000, JSON.stringify(h));
  const log = fs.readFileSync(path.join(upstream.dir, 'server.log'), 'utf8');
  assert.doesNotMatch(log, /idle: closing/);
  assert.match(fs.readFileSync(path.join(engine.dir, 'server.log'), 'utf8'),
               /a stream ends: 3 utterances answered, \d+ ms from the end of one to its words/);
});

test("a session's keywords go to the service as its own keywords parameters", async () => {
  const file = writeWav('dgengine-keywords.wav', [silence(0.5),
    speak('Please send the report to Zentrix by Friday morning.'), silence(1)]);
  const failures = (await health(engine)).upstream.failures;
  const plain = await stream(engine, file);
  assert.equal(plain.code, 0, plain.stderr);
  assert.doesNotMatch(finals(plain).map((f) => f.text).join(' '), /zentrix/i);
  const taught = await stream(engine, file, { keywords: ["Zentrix:2", "O'Brien"] });
  assert.equal(taught.code, 0, taught.stderr);
  assert.match(finals(taught).map((f) => f.text).join(' '), /to Zentrix by/);
  // Opening the stream's connection again with them is no failure.
  assert.equal((await health(engine)).upstream.failures, failures);
});

test('the upstream killed mid-utterance and restarted: nothing lost, nothing doubled',
     async () => {
  const file = path.join(fixtures, 'long.mp3'); // seven sentences in 32 s
  const reference = await stream(upstream, file, { key });
  assert.equal(reference.code, 0, reference.stderr);
  const refWords = words(finals(reference).map((f) => f.text).join(' '));
  const failuresBefore = (await health(engine)).upstream.failures;
  const running = stream(engine, file, { realtime: true });
  await sleep(6500); // inside the second sentence (4.8 s - 8.3 s)
  await stopServer(upstream, 'SIGKILL');
  await sleep(1000);
  upstream = await startServer({ dir: upstreamDir, port: upstream.port,
                                 args: ['--auth', 'required'] });
  const through = await running;
  assert.equal(through.code, 0, through.stderr);
  const got = finals(through);
  const gotWords = words(got.map((f) => f.text).join(' '));
  console.log(`${gotWords.length} words through the engine, ${refWords.length} directly; ` +
              `WER between them ${(wer(refWords, gotWords) * 100).toFixed(1)} %`);
  assert.equal(got.length, 7, got.map((f) => f.text).join(' | '));
  assert.ok(Math.abs(gotWords.length - refWords.length) <= 2);
  assert.ok(wer(refWords, gotWords) <= 0.1);
  for (let i = 1; i < got.length; i++) assert.ok(got[i].start >= got[i - 1].end - 0.01);
  const h = await health(engine);
  assert.ok(h.upstream.failures > failuresBefore, 'the drop was seen');
  const log = fs.readFileSync(path.join(engine.dir, 'server.log'), 'utf8');
  assert.match(log, /lost the connection to 127\.0\.0\.1/);
  assert.match(log, /connected to 127\.0\.0\.1 again/);
  assert.doesNotMatch(log, new RegExp(key));
});

test('a key the upstream refuses: the client is told, with 1011, as soon as speech begins',
     async () => {
  const wrong = await startEngine(['--deepgram-key', 'not-a-key']);
  try {
    const started = Date.now();
    const r = await stream(wrong, path.join(fixtures, 'speech.wav'), { realtime: true });
    assert.notEqual(r.code, 0);
    const error = r.messages.find((m) => m.type === 'error');
    assert.ok(error, r.stderr);
    assert.match(error.payload ?? error.message ?? JSON.stringify(error),
                 /refused the Deepgram key \(HTTP 401\)/);
    assert.ok(r.messages.some((m) => m.type === 'close' && m.code === 1011));
    assert.ok(Date.now() - started < 3000, 'told within the first words');
    const log = fs.readFileSync(path.join(wrong.dir, 'server.log'), 'utf8');
    assert.doesNotMatch(log, /not-a-key/);
  } finally {
    await stopServer(wrong);
  }
});

test('an upstream that stays down: the client is told after 10 s, not left waiting',
     async () => {
  const down = await startServer({ args: ['--engine', 'deepgram', '--deepgram-key', key,
                                          '--deepgram-url', 'ws://127.0.0.1:9/v1/listen'] });
  try {
    const started = Date.now();
    const r = await stream(down, path.join(fixtures, 'speech.wav'));
    const error = r.messages.find((m) => m.type === 'error');
    assert.ok(error, r.stderr);
    assert.match(JSON.stringify(error), /has not answered for 10 s/);
    assert.ok(Date.now() - started < 20000);
    const h = await health(down);
    assert.equal(h.upstream.connections, 0);
    assert.ok(h.upstream.failures > 0);
  } finally {
    await stopServer(down);
  }
});

test('--engine-fallback: a service that stays down, and the session goes on with this ' +
     "server's own recogniser; a session may ask for either engine", async () => {
  const both = await startServer({ args: ['--engine', 'deepgram', '--deepgram-key', key,
                                          '--engine-fallback', 'pocketsphinx',
                                          '--deepgram-url', 'ws://127.0.0.1:9/v1/listen'] });
  try {
    const speech = path.join(fixtures, 'speech.wav');
    const r = await stream(both, speech);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.messages.some((m) => m.type === 'error'), JSON.stringify(r.messages));
    const status = r.messages.filter((m) => m.type === 'status').map((m) => m.payload);
    assert.match(status.join('\n'), /has not answered for 10 s .*; going on with this server's own recogniser \(pocketsphinx\)/);
    const got = finals(r);
    assert.equal(got.length, 1);
    // The words the local engine gives the same audio.
    const local = await stream(both, speech, { engine: 'pocketsphinx' });
    assert.equal(local.code, 0, local.stderr);
    assert.equal(got[0].text, finals(local)[0].text);
    assert.ok(!local.messages.some((m) => m.type === 'status' && /going on/.test(m.payload)));
    const h = await health(both);
    assert.equal(h.engine, 'deepgram');
    assert.equal(h.engine_fallback, 'pocketsphinx');
    // An engine the server does not have: refused before any audio.
    const vosk = await stream(both, speech, { engine: 'vosk' });
    assert.notEqual(vosk.code, 0);
    assert.match(vosk.stderr, /closed the stream with code 1003/);
    assert.match(JSON.stringify(vosk.messages),
                 /this server has no engine vosk \(it has deepgram and pocketsphinx\)/);
    const t = await (await fetch(`${both.url}/api/transcriptions/`, { method: 'POST',
      body: JSON.stringify({ title: 'upload' }) })).json();
    const up = await fetch(`${both.url}/api/transcriptions/${t.id}/audio?engine=vosk`,
                           { method: 'POST', body: fs.readFileSync(speech) });
    assert.equal(up.status, 422);
    assert.match((await up.json()).detail, /no engine/);
    const ok = await fetch(`${both.url}/api/transcriptions/${t.id}/audio?engine=pocketsphinx&wait=30`,
                           { method: 'POST', body: fs.readFileSync(speech) });
    assert.equal(ok.status, 200, await ok.clone().text());
    assert.equal((await ok.json()).segments, 1);
  } finally {
    await stopServer(both);
  }
});

// nginx on loopback with a certificate of its own, passing WebSockets
// to target: the wss:// a real service has.
async function tlsProxy(target) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vbdg-tls-'));
  const cert = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1',
                           '-keyout', keyFile, '-out', cert, '-subj', '/CN=127.0.0.1',
                           '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const port = await freePort();
  fs.mkdirSync(path.join(dir, 'tmp'));
  fs.writeFileSync(path.join(dir, 'nginx.conf'), `daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events {}
http {
  access_log off;
  client_body_temp_path ${dir}/tmp; proxy_temp_path ${dir}/tmp;
  fastcgi_temp_path ${dir}/tmp; uwsgi_temp_path ${dir}/tmp; scgi_temp_path ${dir}/tmp;
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${cert};
    ssl_certificate_key ${keyFile};
    location / {
      proxy_pass http://127.0.0.1:${target.port};
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_set_header Host $host;
      proxy_read_timeout 1h;
    }
  }
}
`);
  const proc = spawn('nginx', ['-p', dir, '-c', path.join(dir, 'nginx.conf')],
                     { stdio: 'ignore' });
  for (let i = 0; i < 50; i++) {
    try {
      execFileSync('openssl', ['s_client', '-connect', `127.0.0.1:${port}`],
                   { input: '', stdio: ['pipe', 'ignore', 'ignore'], timeout: 2000 });
      break;
    } catch { await sleep(100); }
  }
  return { proc, port, cert, dir };
}

test('wss://: the service behind TLS, its certificate checked', async () => {
  const proxy = await tlsProxy(upstream);
  const speech = path.join(fixtures, 'speech.wav');
  const url = `wss://127.0.0.1:${proxy.port}/v1/listen`;
  const trusted = await startServer({ args: ['--engine', 'deepgram', '--deepgram-key', key,
                                             '--deepgram-url', url,
                                             '--engine-option', `ca=${proxy.cert}`] });
  const untrusted = await startServer({ args: ['--engine', 'deepgram', '--deepgram-key', key,
                                               '--deepgram-url', url] });
  try {
    const direct = await stream(upstream, speech, { key });
    const r = await stream(trusted, speech);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(finals(r).map((f) => f.text).join(' '),
                 finals(direct).map((f) => f.text).join(' '));
    assert.equal((await health(trusted)).upstream.failures, 0);
    // Checked against the system's certificates, the proxy's own is
    // refused: nothing is sent to it.
    const before = fs.readFileSync(path.join(upstream.dir, 'server.log'), 'utf8').length;
    const refused = stream(untrusted, speech);
    await sleep(3000);
    assert.ok((await health(untrusted)).upstream.failures > 0);
    assert.match(fs.readFileSync(path.join(untrusted.dir, 'server.log'), 'utf8'),
                 /no connection to 127\.0\.0\.1: the TLS handshake failed \(is its certificate trusted/);
    const after = fs.readFileSync(path.join(upstream.dir, 'server.log'), 'utf8').slice(before);
    assert.equal((after.match(/v1\/listen/g) || []).length, 0, after);
    await stopServer(untrusted);
    await refused;
  } finally {
    await stopServer(trusted);
    await stopServer(untrusted);
    proxy.proc.kill();
  }
});

// The same checks against Deepgram itself, for whoever has a key and a
// network (neither is here): VB_DEEPGRAM_TEST_KEY=... make test, or just
// this file (docs/testing.md).
const realKey = process.env.VB_DEEPGRAM_TEST_KEY;
test('against Deepgram itself: its words, our speakers, a wrong key refused',
     { skip: !realKey && 'needs a Deepgram key in VB_DEEPGRAM_TEST_KEY' }, async () => {
  const file = writeWav('dgengine-real.wav', [
    silence(0.5), speak(first, 'slt'), silence(1), speak(second, 'rms'), silence(1)]);
  const url = process.env.VB_DEEPGRAM_TEST_URL || 'wss://api.deepgram.com/v1/listen';
  const real = await startServer({ args: ['--engine', 'deepgram', '--deepgram-key', realKey,
                                          '--deepgram-url', url] });
  const wrong = await startServer({ args: ['--engine', 'deepgram', '--deepgram-key', 'wrong',
                                           '--deepgram-url', url] });
  try {
    const r = await stream(real, file, { realtime: true });
    assert.equal(r.code, 0, r.stderr);
    const got = finals(r);
    const rate = wer(words(`${first} ${second}`), words(got.map((f) => f.text).join(' ')));
    console.log(`Deepgram's WER on the two sentences: ${(rate * 100).toFixed(1)} %`);
    assert.ok(rate <= 0.1);
    assert.equal(new Set(got.map((f) => f.speaker)).size, 2);
    const refused = await stream(wrong, file, { realtime: true });
    assert.match(JSON.stringify(refused.messages), /refused the Deepgram key \(HTTP 40[13]\)/);
  } finally {
    await stopServer(real);
    await stopServer(wrong);
  }
});
