// deepgram.test.js - /v1/listen driven by Deepgram's own JavaScript SDK,
// not a client of ours: the current major (v5) and the one before (v4),
// as their users write them with a self-hosted base URL.  Every field the
// SDK's types name for a live message is checked.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { DeepgramClient } from '@deepgram/sdk';
import { createClient, LiveTranscriptionEvents } from 'deepgram-sdk-v4';
import { launch, openPage, readWav, root, silence, sleep, speak, startServer, stopServer,
  writeWav } from './helpers.js';

const bin = process.env.VERBATIM_BIN || path.join(root, 'build/asan/verbatim');
const fixtures = process.env.VB_FIXTURES || path.join(root, 'build/fixtures');

// 16 kHz mono PCM of the fixture that says "the quick brown fox...".
function speechPcm() {
  const { samples } = readWav(path.join(fixtures, 'speech.wav'));
  return Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
}

// The status a /v1/listen handshake with this key gets (101 when it opens).
function handshakeStatus(port, apiKey) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/v1/listen', headers: {
      Authorization: `Token ${apiKey}`, Connection: 'Upgrade', Upgrade: 'websocket',
      'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' } });
    req.on('upgrade', (res, socket) => { socket.destroy(); resolve(101); });
    req.on('response', (res) => { res.resume(); resolve(res.statusCode); });
    req.on('error', reject);
  });
}

const environment = (port) => ({
  base: `http://127.0.0.1:${port}`, production: `ws://127.0.0.1:${port}`,
  agent: `ws://127.0.0.1:${port}`, agentRest: `http://127.0.0.1:${port}`,
});

const options = {
  model: 'nova-2', encoding: 'linear16', sample_rate: 16000, channels: 1,
  interim_results: 'true', punctuate: 'true', smart_format: 'true', diarize: 'true',
  vad_events: 'true', utterance_end_ms: 1000, endpointing: 300,
  keywords: 'Verbatim:2', numerals: 'true', tag: 'deepgram sdk v5', language: 'en-US',
};

// Streams the speech through a v5 connection made with args; resolves
// with every message and the close.
async function streamV5(port, apiKey, args, { finalize = true } = {}) {
  const client = new DeepgramClient({ apiKey, environment: environment(port) });
  const conn = await client.listen.v1.connect({ ...args, reconnectAttempts: 0 });
  const messages = [];
  const closed = new Promise((resolve) => conn.on('close', resolve));
  conn.on('message', (m) => messages.push(m));
  conn.on('error', () => {});
  conn.connect();
  await conn.waitForOpen();
  const pcm = speechPcm();
  for (let i = 0; i < pcm.length; i += 3200) {
    conn.sendMedia(pcm.subarray(i, i + 3200));
    await sleep(10);
  }
  conn.sendKeepAlive({ type: 'KeepAlive' });
  if (finalize) conn.sendFinalize({ type: 'Finalize' });
  await sleep(500);
  conn.sendCloseStream({ type: 'CloseStream' });
  const close = await closed;
  return { messages, close };
}

function checkResults(messages, { diarize }) {
  const results = messages.filter((m) => m.type === 'Results');
  const finals = results.filter((m) => m.is_final);
  assert.ok(finals.length >= 1, JSON.stringify(messages).slice(0, 500));
  assert.ok(results.some((m) => !m.is_final), 'interim results were asked for');
  const requestId = finals[0].metadata.request_id;
  assert.match(requestId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  for (const r of results) {
    assert.deepEqual(r.channel_index, [0, 1]);
    assert.equal(typeof r.start, 'number');
    assert.equal(typeof r.duration, 'number');
    assert.equal(typeof r.speech_final, 'boolean');
    assert.equal(typeof r.from_finalize, 'boolean');
    assert.equal(r.metadata.request_id, requestId);
    assert.equal(r.metadata.model_info.name, 'nova-2');
    assert.equal(typeof r.metadata.model_info.version, 'string');
    assert.equal(typeof r.metadata.model_info.arch, 'string');
    assert.equal(typeof r.metadata.model_uuid, 'string');
    const alt = r.channel.alternatives[0];
    assert.equal(typeof alt.transcript, 'string');
    assert.equal(typeof alt.confidence, 'number');
    assert.ok(Array.isArray(alt.words));
  }
  const text = finals.map((f) => f.channel.alternatives[0].transcript).join(' ');
  assert.match(text, /quick/i);
  assert.match(text, /fox/i);
  assert.match(text, /^[A-Z]/, 'punctuate: sentences begin with a capital');
  for (const f of finals) {
    for (const w of f.channel.alternatives[0].words) {
      assert.equal(typeof w.word, 'string');
      assert.ok(w.end >= w.start && w.start >= f.start - 0.01);
      assert.ok(w.confidence >= 0 && w.confidence <= 1);
      assert.equal(typeof w.punctuated_word, 'string');
      if (diarize) {
        assert.equal(w.speaker, 0);
        assert.equal(typeof w.speaker_confidence, 'number');
      }
    }
  }
  assert.ok(finals.some((f) => f.speech_final));
  return { requestId, text };
}

test('Deepgram SDK v5: live with every option, messages as Deepgram sends them, stored as a transcription', async () => {
  const server = await startServer();
  try {
    const { messages, close } = await streamV5(server.port, 'any key: auth is off', options);
    assert.equal(close.code, 1000);
    const { requestId, text } = checkResults(messages, { diarize: true });
    // The Finalize (sent after the last audio) is answered once, by the
    // last final: no words come after it.
    const answers = messages.filter((m) => m.type === 'Results' && m.from_finalize);
    assert.equal(answers.length, 1, JSON.stringify(answers));
    assert.equal(answers[0].is_final, true);
    const after = messages.slice(messages.indexOf(answers[0]) + 1);
    assert.ok(after.every((m) => m.type !== 'Results'), JSON.stringify(after));
    const started = messages.find((m) => m.type === 'SpeechStarted');
    assert.ok(started, 'vad_events');
    assert.deepEqual(started.channel, [0]);
    assert.equal(typeof started.timestamp, 'number');
    const end = messages.find((m) => m.type === 'UtteranceEnd');
    assert.ok(end, 'utterance_end_ms');
    assert.deepEqual(end.channel, [0, 1]);
    assert.ok(end.last_word_end > 1);
    // Metadata comes last, before the close.
    const meta = messages[messages.length - 1];
    assert.equal(meta.type, 'Metadata');
    assert.equal(meta.request_id, requestId);
    assert.equal(meta.channels, 1);
    assert.ok(meta.duration > 2 && meta.duration < 10, String(meta.duration));
    assert.equal(typeof meta.created, 'string');
    assert.equal(typeof meta.sha256, 'string');
    assert.equal(typeof meta.transaction_key, 'string');
    assert.deepEqual(meta.models, [requestId]);
    assert.equal(meta.model_info[requestId].name, 'nova-2');
    // Keywords are taught (no warning); numerals is not supported.
    assert.ok(meta.warnings.some((w) => /numerals/.test(w.message)), JSON.stringify(meta));
    assert.ok(!meta.warnings.some((w) => /keywords/.test(w.message)), JSON.stringify(meta));
    // The stream is a transcription like any other.
    const list = await (await fetch(`${server.url}/api/transcriptions/`)).json();
    const t = list.find((x) => x.title === 'deepgram sdk v5');
    assert.ok(t, JSON.stringify(list));
    const segs = await (await fetch(`${server.url}/api/transcriptions/${t.id}/segments/`)).json();
    assert.equal(segs.map((s) => s.text).join(' '), text);
  } finally {
    assert.equal(await stopServer(server), 0);
  }
});

test('Deepgram SDK v5: a Finalize when nothing is being said is answered by an empty final', async () => {
  const server = await startServer();
  try {
    const client = new DeepgramClient({ apiKey: 'k', environment: environment(server.port) });
    const conn = await client.listen.v1.connect({ encoding: 'linear16', sample_rate: 16000,
      reconnectAttempts: 0 });
    const messages = [];
    const closed = new Promise((resolve) => conn.on('close', resolve));
    conn.on('message', (m) => messages.push(m));
    conn.connect();
    await conn.waitForOpen();
    conn.sendMedia(new Int16Array(16000)); // a second of quiet
    conn.sendFinalize({ type: 'Finalize' });
    for (let i = 0; i < 50 && !messages.some((m) => m.type === 'Results'); i++) await sleep(100);
    conn.sendCloseStream({ type: 'CloseStream' });
    assert.equal((await closed).code, 1000);
    const results = messages.filter((m) => m.type === 'Results');
    assert.equal(results.length, 1, JSON.stringify(messages));
    assert.equal(results[0].is_final, true);
    assert.equal(results[0].from_finalize, true);
    assert.equal(results[0].channel.alternatives[0].transcript, '');
    assert.deepEqual(results[0].channel.alternatives[0].words, []);
    assert.ok(results[0].start >= 0.9, String(results[0].start));
  } finally {
    assert.equal(await stopServer(server), 0);
  }
});

test("Deepgram SDK v5: Deepgram's defaults (no interims, punctuation or speakers unless asked)", async () => {
  const server = await startServer();
  try {
    const { messages, close } = await streamV5(server.port, 'k', { encoding: 'linear16',
      sample_rate: 16000 }, { finalize: false });
    assert.equal(close.code, 1000);
    const results = messages.filter((m) => m.type === 'Results');
    assert.ok(results.length >= 1);
    assert.ok(results.every((m) => m.is_final));
    assert.ok(results.every((m) => !m.from_finalize));
    assert.equal(messages.filter((m) => m.type === 'SpeechStarted' || m.type === 'UtteranceEnd').length, 0);
    const words = results.flatMap((r) => r.channel.alternatives[0].words);
    assert.ok(words.length > 3);
    assert.ok(words.every((w) => w.speaker === undefined));
    assert.match(results[0].channel.alternatives[0].transcript, /^[a-z]/);
  } finally {
    assert.equal(await stopServer(server), 0);
  }
});

test('Deepgram SDK v4: live transcription events and a clean close', async () => {
  const server = await startServer();
  try {
    const dg = createClient('any key', { global: { websocket: { options: {
      url: `ws://127.0.0.1:${server.port}` } } } });
    const conn = dg.listen.live({ model: 'nova-2', encoding: 'linear16', sample_rate: 16000,
      channels: 1, interim_results: true, punctuate: true, diarize: true, vad_events: true,
      utterance_end_ms: 1000, tag: 'deepgram sdk v4' });
    const messages = [];
    for (const ev of [LiveTranscriptionEvents.Transcript, LiveTranscriptionEvents.Metadata,
      LiveTranscriptionEvents.UtteranceEnd, LiveTranscriptionEvents.SpeechStarted]) {
      conn.on(ev, (m) => messages.push(m));
    }
    const unhandled = [];
    conn.on(LiveTranscriptionEvents.Unhandled, (m) => unhandled.push(m));
    conn.on(LiveTranscriptionEvents.Error, () => {});
    const closed = new Promise((resolve) => conn.on(LiveTranscriptionEvents.Close, resolve));
    await new Promise((resolve) => conn.on(LiveTranscriptionEvents.Open, resolve));
    const pcm = speechPcm();
    for (let i = 0; i < pcm.length; i += 3200) {
      conn.send(pcm.subarray(i, i + 3200));
      await sleep(10);
    }
    conn.keepAlive();
    conn.finalize();
    await sleep(500);
    conn.requestClose();
    const close = await closed;
    assert.equal(close.code, 1000);
    assert.deepEqual(unhandled, []);
    checkResults(messages, { diarize: true });
    assert.equal(messages[messages.length - 1].type, 'Metadata');
    assert.ok(messages.some((m) => m.type === 'UtteranceEnd'));
  } finally {
    assert.equal(await stopServer(server), 0);
  }
});

test('keys: the header or the browser\'s token subprotocol; wrong or read-only keys are refused before the upgrade', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vbdg-'));
  const db = path.join(dir, 'db.sqlite');
  const key = (name, scope) => execFileSync(bin, ['keys', 'create', '--name', name, '--scope',
    scope, '--db', db], { encoding: 'utf8' }).trim();
  const writeKey = key('dg-write', 'write');
  const readKey = key('dg-read', 'read');
  const server = await startServer({ dir, args: ['--auth', 'required'] });
  const browser = await launch(null);
  try {
    const { close, messages } = await streamV5(server.port, writeKey,
      { encoding: 'linear16', sample_rate: 16000 });
    assert.equal(close.code, 1000);
    assert.ok(messages.some((m) => m.type === 'Results' && m.is_final));
    // Refused keys: the handshake gets 401/403 and the SDK never opens.
    for (const [apiKey, status] of [['vb_wrong', 401], [readKey, 403]]) {
      assert.equal(await handshakeStatus(server.port, apiKey), status);
      const client = new DeepgramClient({ apiKey, environment: environment(server.port) });
      const conn = await client.listen.v1.connect({ encoding: 'linear16', sample_rate: 16000,
        reconnectAttempts: 0 });
      const outcome = new Promise((resolve) => {
        conn.on('open', () => resolve('opened'));
        conn.on('error', () => resolve('refused'));
        conn.on('close', () => resolve('refused'));
      });
      conn.connect();
      assert.equal(await outcome, 'refused');
      conn.close();
    }
    // A browser cannot set headers: it offers ["token", KEY], as Deepgram's
    // SDK does there, and the server answers with "token".
    const page = await openPage(browser, []);
    await page.goto(server.url);
    const got = await page.evaluate(([url, k]) => new Promise((resolve) => {
      const ws = new WebSocket(url, ['token', k]);
      ws.onopen = () => { resolve(ws.protocol); ws.close(); };
      ws.onerror = () => resolve('refused');
    }), [`ws://127.0.0.1:${server.port}/v1/listen?encoding=linear16&sample_rate=16000`, writeKey]);
    assert.equal(got, 'token');
  } finally {
    await browser.close();
    assert.equal(await stopServer(server), 0);
  }
});

test('Deepgram\'s closes: a bad option 1008, NET-0001 after 10 s without audio or KeepAlive', async () => {
  const server = await startServer();
  try {
    const client = new DeepgramClient({ apiKey: 'k', environment: environment(server.port) });
    let conn = await client.listen.v1.connect({ encoding: 'linear16', sample_rate: 16000,
      utterance_end_ms: 5, reconnectAttempts: 0 });
    let closed = new Promise((resolve) => conn.on('close', resolve));
    conn.on('error', () => {});
    conn.connect();
    let close = await closed;
    assert.equal(close.code, 1008);
    assert.match(close.reason, /utterance_end_ms/);
    conn = await client.listen.v1.connect({ encoding: 'linear16', sample_rate: 16000,
      reconnectAttempts: 0 });
    closed = new Promise((resolve) => conn.on('close', resolve));
    conn.on('error', () => {});
    const opened = Date.now();
    conn.connect();
    await conn.waitForOpen();
    close = await closed;
    assert.equal(close.code, 1011);
    assert.match(close.reason, /NET-0001/);
    const waited = (Date.now() - opened) / 1000;
    assert.ok(waited > 9 && waited < 13, String(waited));
  } finally {
    assert.equal(await stopServer(server), 0);
  }
});

// Prerecorded: a recording in, Deepgram's JSON out.
function checkPrerecorded(res, { diarize, utterances, paragraphs }) {
  const meta = res.metadata;
  assert.match(meta.request_id, /^[0-9a-f-]{36}$/);
  assert.match(meta.sha256, /^[0-9a-f]{64}$/);
  assert.ok(meta.duration > 3 && meta.duration < 5, String(meta.duration));
  assert.equal(meta.channels, 1);
  assert.deepEqual(meta.models, [meta.request_id]);
  assert.equal(typeof meta.created, 'string');
  const alt = res.results.channels[0].alternatives[0];
  assert.match(alt.transcript, /quick brown fox/i);
  assert.ok(alt.confidence > 0 && alt.confidence <= 1);
  assert.ok(alt.words.length >= 8);
  for (const w of alt.words) {
    assert.equal(typeof w.word, 'string');
    assert.equal(typeof w.punctuated_word, 'string');
    assert.ok(w.end >= w.start);
    if (diarize) assert.equal(w.speaker, 0);
  }
  if (paragraphs) {
    assert.match(alt.paragraphs.transcript, /^\n(Speaker 0: )?The quick/);
    const p = alt.paragraphs.paragraphs[0];
    assert.ok(p.num_words >= 8 && p.end > p.start);
    assert.match(p.sentences[0].text, /^The quick.*\.$/);
  } else {
    assert.equal(alt.paragraphs, undefined);
  }
  if (utterances) {
    const u = res.results.utterances[0];
    assert.equal(u.channel, 0);
    assert.match(u.transcript, /quick/);
    assert.match(u.id, /^[0-9a-f-]{36}$/);
    assert.ok(Array.isArray(u.words) && u.end > u.start && u.confidence > 0);
  } else {
    assert.equal(res.results.utterances, undefined);
  }
}

test('Deepgram SDK v5 and v4: prerecorded WAV, MP3 and WebM; a URL body is refused; stored as transcriptions', async () => {
  const server = await startServer();
  try {
    const client = new DeepgramClient({ apiKey: 'k', environment: environment(server.port),
      maxRetries: 0 });
    for (const file of ['speech.wav', 'speech.mp3', 'speech.webm']) {
      const res = await client.listen.v1.media.transcribeFile(
        fs.readFileSync(path.join(fixtures, file)), { model: 'nova-2', smart_format: true,
          diarize: true, utterances: true, tag: [`prerecorded ${file}`] });
      checkPrerecorded(res, { diarize: true, utterances: true, paragraphs: true });
    }
    // Deepgram's defaults: no speakers, no utterances, no paragraphs.
    const plain = await client.listen.v1.media.transcribeFile(
      fs.readFileSync(path.join(fixtures, 'speech.wav')), { model: 'nova-2',
        tag: ['first tag', 'second'] });
    checkPrerecorded(plain, { diarize: false, utterances: false, paragraphs: false });
    const v4 = createClient('k', { global: { fetch: { options: {
      url: `http://127.0.0.1:${server.port}` } } } });
    const { result, error } = await v4.listen.prerecorded.transcribeFile(
      fs.readFileSync(path.join(fixtures, 'speech.mp3')), { model: 'nova-2', punctuate: true,
        paragraphs: true, utterances: true });
    assert.equal(error, null);
    checkPrerecorded(result, { diarize: false, utterances: true, paragraphs: true });
    // A URL to fetch: this server fetches nothing, and says so.
    const { error: urlError } = await v4.listen.prerecorded.transcribeUrl(
      { url: 'https://example.com/a.wav' }, { model: 'nova-2' });
    assert.ok(urlError);
    assert.equal(urlError.status, 400);
    // Audio that is not audio: Deepgram's error shape.
    let failed = null;
    try {
      await client.listen.v1.media.transcribeFile(Buffer.from('not a recording at all'), {});
    } catch (e) {
      failed = e;
    }
    assert.ok(failed && failed.statusCode === 415, String(failed));
    assert.match(failed.body.err_msg, /not recognised|format/);
    assert.match(failed.body.request_id, /^[0-9a-f-]{36}$/);
    const list = await (await fetch(`${server.url}/api/transcriptions/`)).json();
    for (const file of ['speech.wav', 'speech.mp3', 'speech.webm'])
      assert.ok(list.some((t) => t.title === `prerecorded ${file}`), file);
    assert.ok(list.some((t) => t.title === 'first tag, second'), 'tags joined');
  } finally {
    assert.equal(await stopServer(server), 0);
  }
});

test('Deepgram SDK v5: prerecorded with callback=, the answer POSTed there; refused unless --callback-hosts allows it', async () => {
  const got = [];
  const receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      got.push({ method: req.method, type: req.headers['content-type'], body: JSON.parse(body) });
      res.end('ok');
    });
  });
  await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const callback = `http://127.0.0.1:${receiver.address().port}/hook?job=7`;
  const server = await startServer({ args: ['--callback-hosts', 'example.org,127.0.0.1'] });
  const closed = await startServer();
  try {
    const client = new DeepgramClient({ apiKey: 'k', environment: environment(server.port),
      maxRetries: 0 });
    const audio = fs.readFileSync(path.join(fixtures, 'speech.wav'));
    const accepted = await client.listen.v1.media.transcribeFile(audio, { callback,
      smart_format: true });
    assert.deepEqual(Object.keys(accepted), ['request_id']);
    for (let i = 0; i < 100 && got.length === 0; i++) await sleep(100);
    assert.equal(got.length, 1);
    assert.equal(got[0].method, 'POST');
    assert.equal(got[0].type, 'application/json');
    assert.equal(got[0].body.metadata.request_id, accepted.request_id);
    checkPrerecorded(got[0].body, { diarize: false, utterances: false, paragraphs: true });
    await client.listen.v1.media.transcribeFile(audio, { callback, callback_method: 'put' });
    for (let i = 0; i < 100 && got.length === 1; i++) await sleep(100);
    assert.equal(got[1].method, 'PUT');
    // Refused, saying why: a host not allowed, TLS, a server allowing none.
    const refusal = async (port, url) => {
      const r = await fetch(`http://127.0.0.1:${port}/v1/listen?callback=${encodeURIComponent(url)}`,
                            { method: 'POST', headers: { Authorization: 'Token k' }, body: audio });
      return { status: r.status, text: await r.text() };
    };
    let r = await refusal(server.port, 'http://10.0.0.1/hook');
    assert.equal(r.status, 400);
    assert.match(r.text, /callback host 10\.0\.0\.1 is not one this server may send to/);
    r = await refusal(server.port, 'https://127.0.0.1/hook');
    assert.equal(r.status, 400);
    assert.match(r.text, /callback must be an http:\/\/ URL/);
    r = await refusal(closed.port, callback);
    assert.equal(r.status, 400);
    assert.match(r.text, /this server sends no callbacks: its operator may allow hosts with --callback-hosts/);
    assert.equal(got.length, 2);
  } finally {
    receiver.close();
    assert.equal(await stopServer(server), 0);
    assert.equal(await stopServer(closed), 0);
  }
});

test('Deepgram SDK v5: smart_format writes amounts, with one word entry for each written form', async () => {
  const server = await startServer();
  try {
    const client = new DeepgramClient({ apiKey: 'k', environment: environment(server.port),
      maxRetries: 0 });
    const file = writeWav('dg-smart.wav', [silence(0.5), speak('It costs five dollars.'),
                                           silence(0.5)]);
    const res = await client.listen.v1.media.transcribeFile(fs.readFileSync(file),
                                                            { smart_format: true });
    const alt = res.results.channels[0].alternatives[0];
    assert.match(alt.transcript, /\$5\b/, alt.transcript);
    const amount = alt.words.find((w) => w.punctuated_word.startsWith('$5'));
    assert.ok(amount, JSON.stringify(alt.words));
    assert.ok(amount.end - amount.start > 0.4, 'the times of both spoken words');
    assert.equal(alt.words.map((w) => w.punctuated_word).join(' '), alt.transcript);
    // Without it, the words as they were said.
    const plain = await client.listen.v1.media.transcribeFile(fs.readFileSync(file),
                                                              { punctuate: true });
    assert.match(plain.results.channels[0].alternatives[0].transcript, /five dollars/i);
  } finally {
    assert.equal(await stopServer(server), 0);
  }
});

test('Deepgram SDK v5: keywords teach a name the recogniser lacks, spelled as given', async () => {
  const server = await startServer();
  try {
    const client = new DeepgramClient({ apiKey: 'k', environment: environment(server.port),
      maxRetries: 0 });
    const file = writeWav('dg-keywords.wav', [silence(0.5),
      speak('Please send the report to Zentrix by Friday morning.'), silence(0.5)]);
    const audio = fs.readFileSync(file);
    const before = await client.listen.v1.media.transcribeFile(audio, { punctuate: true });
    assert.doesNotMatch(before.results.channels[0].alternatives[0].transcript, /zentrix/i);
    const res = await client.listen.v1.media.transcribeFile(audio, { punctuate: true,
      keywords: ['Zentrix:2', 'Qorvex'] });
    const alt = res.results.channels[0].alternatives[0];
    assert.match(alt.transcript, /to Zentrix by/, alt.transcript);
    assert.ok(alt.words.some((w) => w.punctuated_word === 'Zentrix'), JSON.stringify(alt.words));
    // A keyword that is not one word: 400 with the reason, as a bad option.
    await assert.rejects(client.listen.v1.media.transcribeFile(audio,
      { keywords: ['two words'] }), (e) => e.statusCode === 400 &&
      /not one word/.test(JSON.stringify(e.body)));
  } finally {
    assert.equal(await stopServer(server), 0);
  }
});

test('--dg-store false: answered as before, nothing kept', async () => {
  const server = await startServer({ args: ['--dg-store', 'false'] });
  try {
    const { messages, close } = await streamV5(server.port, 'k', { encoding: 'linear16',
      sample_rate: 16000, punctuate: 'true' });
    assert.equal(close.code, 1000);
    assert.ok(messages.some((m) => m.type === 'Results' && /quick/i.test(
      m.channel.alternatives[0].transcript)));
    const client = new DeepgramClient({ apiKey: 'k', environment: environment(server.port),
      maxRetries: 0 });
    const res = await client.listen.v1.media.transcribeFile(
      fs.readFileSync(path.join(fixtures, 'speech.mp3')), { punctuate: true });
    assert.match(res.results.channels[0].alternatives[0].transcript, /quick brown fox/i);
    let list = [];
    for (let i = 0; i < 20; i++) {
      list = await (await fetch(`${server.url}/api/transcriptions/`)).json();
      if (list.length === 0) break;
      await sleep(100);
    }
    assert.deepEqual(list, []);
  } finally {
    assert.equal(await stopServer(server), 0);
  }
});
