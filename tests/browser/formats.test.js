// formats.test.js - audio the way other clients send it: a page that
// records with MediaRecorder (default type, 100 ms chunks) and sends each
// chunk to /ws/transcribe/{id}, exactly as the reference front end did;
// and a recording uploaded with the web app's "Upload audio" button, or
// dropped on the list.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  createTranscription, launch, openPage, outDir, root, screenshot, segmentsOf, silence, speak,
  startServer, stopServer, writeWav,
} from './helpers.js';

const count = (text, word) => (text.toLowerCase().match(new RegExp(`\\b${word}\\b`, 'g')) || []).length;

test('a MediaRecorder client, as the reference front end was, gets a live transcript', async () => {
  const server = await startServer();
  const parts = [silence(1.0), speak('Please open the window.'), silence(1.5),
                 speak('I would like a cup of coffee.'), silence(2.0)];
  const seconds = parts.reduce((n, p) => n + p.length, 0) / 16000;
  const wav = writeWav('mediarecorder.wav', parts);
  const browser = await launch(wav);
  const errors = [];
  try {
    const page = await openPage(browser, errors);
    await page.goto(server.url);
    const { id } = await createTranscription(server, 'MediaRecorder');
    const result = await page.evaluate(async ({ id, ms }) => {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      const recorder = new MediaRecorder(stream); // the browser's default type
      const ws = new WebSocket(`ws://${location.host}/ws/transcribe/${id}`);
      const got = [];
      const t0 = performance.now();
      ws.onmessage = (e) => got.push({ at: performance.now() - t0, msg: JSON.parse(e.data) });
      await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
      let chunks = 0;
      recorder.ondataavailable = (e) => {
        if (e.data.size > 0) { ws.send(e.data); chunks++; }
      };
      recorder.start(100);
      await new Promise((r) => setTimeout(r, ms));
      const stopped = new Promise((r) => { recorder.onstop = r; });
      recorder.stop();
      await stopped;
      const stopAt = performance.now() - t0;
      ws.send(JSON.stringify({ type: 'CloseStream' }));
      const code = await new Promise((r) => { ws.onclose = (e) => r(e.code); });
      return { got, chunks, code, stopAt, mimeType: recorder.mimeType };
    }, { id, ms: Math.round(seconds * 1000) + 500 });

    assert.match(result.mimeType, /webm/i);
    assert.match(result.mimeType, /opus/i);
    assert.ok(result.chunks >= seconds * 5, `only ${result.chunks} chunks`);
    assert.equal(result.code, 1000);
    const segments = result.got.filter((m) => m.msg.type === 'transcript_segment');
    const finals = segments.filter((m) => m.msg.payload.is_final);
    const interims = segments.filter((m) => !m.msg.payload.is_final);
    assert.ok(interims.length >= 3, 'interim results while speaking');
    assert.ok(interims[0].at < finals[0].at, 'interim words come before the final');
    const text = finals.map((m) => m.msg.payload.text).join(' ');
    assert.equal(count(text, 'window'), 1, text);
    assert.equal(count(text, 'coffee'), 1, text);
    // Live: the first sentence was final while the microphone still ran.
    const windowFinal = finals.find((m) => /window/i.test(m.msg.payload.text));
    assert.ok(windowFinal.at < result.stopAt, 'the first final arrived while recording');
    const stored = (await segmentsOf(server, id)).map((s) => s.text).join(' ');
    assert.equal(stored, text);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    assert.equal(await stopServer(server), 0);
  }
});

test('upload a recording with the web app and watch it become a transcript', async () => {
  const server = await startServer();
  const wav = writeWav('upload-source.wav', [
    silence(0.5), speak('The meeting starts at nine.'), silence(1.0),
    speak('Please bring the quarterly report.'), silence(1.0),
    speak('We will finish before lunch.'), silence(0.5)]);
  const mp3 = path.join(outDir, 'upload.mp3');
  execFileSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', '-i', wav, '-b:a', '64k', mp3]);
  const browser = await launch(null);
  const errors = [];
  try {
    const page = await openPage(browser, errors);
    const { id } = await createTranscription(server, 'Uploaded meeting');
    await page.goto(`${server.url}/t/${id}`);
    await page.locator('.empty').waitFor();
    const [chooser] = await Promise.all([
      page.waitForEvent('filechooser'),
      page.getByRole('button', { name: 'Upload audio' }).click(),
    ]);
    await chooser.setFiles(mp3);
    const bar = page.getByRole('progressbar', { name: 'Upload progress' });
    await bar.waitFor({ timeout: 10000 });
    await screenshot(page, '8-uploading');
    await page.locator('.notice', { hasText: 'Transcribed upload.mp3' }).waitFor({ timeout: 60000 });
    assert.match(await page.locator('.notice').textContent(), /3 segments/);
    assert.equal(await bar.isVisible(), false);
    const shown = await page.locator('.turns').innerText();
    for (const word of ['nine', 'quarterly', 'lunch']) assert.equal(count(shown, word), 1, shown);
    assert.ok(shown.indexOf('nine') < shown.indexOf('lunch'));
    assert.equal(await page.getByRole('button', { name: 'Record', exact: true }).isDisabled(), false);
    await screenshot(page, '8-uploaded');
    const stored = await segmentsOf(server, id);
    assert.equal(stored.length, 3);

    // A file that is not audio: a message naming the problem.
    const [again] = await Promise.all([
      page.waitForEvent('filechooser'),
      page.getByRole('button', { name: 'Upload audio' }).click(),
    ]);
    await again.setFiles({ name: 'notes.txt', mimeType: 'text/plain',
                           buffer: Buffer.from('these are my notes, not a recording') });
    await page.locator('.message', { hasText: 'Could not transcribe notes.txt' }).waitFor();
    assert.match(await page.locator('.message').textContent(), /not recognised/);
    await screenshot(page, '8-upload-refused');
    // 415 is logged by the browser as a failed resource load; nothing else.
    assert.deepEqual(errors.filter((e) => !/status of 415/.test(e)), []);
  } finally {
    await browser.close();
    assert.equal(await stopServer(server), 0);
  }
});

test('drop a recording on the list: a new transcript named after the file transcribes it', async () => {
  const server = await startServer();
  const browser = await launch(null);
  const errors = [];
  try {
    const page = await openPage(browser, errors);
    await page.goto(server.url);
    await page.getByText('Or drop a recording here').waitFor();
    const bytes = fs.readFileSync(path.join(root, 'build', 'fixtures', 'speech.wav'));
    // What the browser hands the page when a file is dropped on it.
    const drop = await page.evaluateHandle((b64) => {
      const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([data], 'team_standup.wav', { type: 'audio/wav' }));
      return dt;
    }, bytes.toString('base64'));
    await page.dispatchEvent('#app', 'dragenter', { dataTransfer: drop });
    assert.equal(await page.locator('#app.dropping').count(), 1);
    await page.dispatchEvent('#app', 'drop', { dataTransfer: drop });
    await page.waitForURL(/\/t\/\d+$/);
    assert.match(await page.locator('h1').textContent(), /team standup/);
    await page.locator('.notice', { hasText: 'Transcribed team_standup.wav' }).waitFor({ timeout: 60000 });
    assert.match(await page.locator('.turns').innerText(), /lazy dog/i);
    assert.equal(await page.locator('#app.dropping').count(), 0);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    assert.equal(await stopServer(server), 0);
  }
});
