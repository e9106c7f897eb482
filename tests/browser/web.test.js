// web.test.js - the web app in a real browser: record through a fake
// microphone, watch the words arrive, reload, survive a server restart,
// name a speaker, correct a segment, export every format.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  createTranscription, launch, openPage, outDir, screenshot, segmentsOf, silence, sleep, speak,
  startRelay, startServer, stopServer, withRows, writeWav,
} from './helpers.js';

const count = (text, word) => (text.toLowerCase().match(new RegExp(`\\b${word}\\b`, 'g')) || []).length;

test('record, see interim then final words, stop, reload', async () => {
  const server = await startServer();
  const wav = writeWav('sentences.wav', [
    silence(1.0), speak('Please open the window.'), silence(1.5),
    speak('I would like a cup of coffee.'), silence(1.5),
    speak('It costs five dollars.'), silence(3.0)]);
  const browser = await launch(wav);
  const errors = [];
  try {
    const page = await openPage(browser, errors);
    await page.goto(server.url);
    await page.getByLabel('New transcript').fill('Morning notes');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.waitForURL(/\/t\/\d+$/);
    await screenshot(page, '1-empty-transcript');
    await page.getByRole('button', { name: 'Record' }).click();
    // Someone else opens the same transcript: they watch it live.
    const watcher = await openPage(browser, errors);
    await watcher.goto(page.url());
    // Interim words appear first, in the provisional style...
    const interim = page.locator('.interim');
    await interim.first().waitFor({ timeout: 20000 });
    assert.ok((await interim.first().textContent()).length > 0);
    await screenshot(page, '1-interim');
    // ...then the final sentences, in order.
    await page.locator('.segment', { hasText: 'coffee' }).waitFor({ timeout: 30000 });
    await watcher.locator('.segment', { hasText: 'coffee' }).waitFor({ timeout: 10000 });
    // The page asks for smart formatting: amounts as a reader writes them.
    await page.locator('.segment', { hasText: '$5' }).waitFor({ timeout: 30000 });
    assert.match(await watcher.locator('.state-text').textContent(), /Live/);
    assert.equal(await watcher.getByRole('button', { name: 'Record' }).isDisabled(), true);
    // ...and uploading there would put a file's words among theirs.
    assert.equal(await watcher.getByRole('button', { name: 'Upload audio' }).isDisabled(), true);
    assert.equal(count(await watcher.locator('.turns').innerText(), 'window'), 1);
    await screenshot(watcher, '1-watcher');
    await watcher.close();
    const level = await page.getByRole('meter').getAttribute('aria-valuenow');
    assert.ok(Number(level) >= 0);
    await page.getByRole('button', { name: 'Stop' }).click();
    await page.locator('.state-text', { hasText: 'Saved' }).waitFor({ timeout: 20000 });
    const live = await page.locator('.turns').innerText();
    assert.ok(live.indexOf('window') < live.indexOf('coffee'), live);
    assert.ok(live.indexOf('coffee') < live.indexOf('$5'), live);
    assert.equal(await page.locator('.interim').count(), 0);
    await screenshot(page, '1-saved');

    await page.reload();
    await page.locator('.segment', { hasText: 'coffee' }).waitFor();
    const stored = await page.locator('.turns').innerText();
    assert.equal(count(stored, 'window'), 1);
    assert.equal(count(stored, 'coffee'), 1);
    assert.match(await page.locator('h1').textContent(), /Morning notes/);

    // The home page lists it with its first words.
    await page.getByRole('link', { name: '← All transcripts' }).click();
    const row = page.locator('.item', { hasText: 'Morning notes' });
    await row.waitFor();
    assert.match(await row.innerText(), /window/i);
    await screenshot(page, '1-home');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    assert.equal(await stopServer(server), 0);
  }
});

test('two voices show as two turns in order, with two speakers, relabelled in place', async () => {
  const server = await startServer();
  const wav = writeWav('two-voices.wav', [
    silence(1.0), speak('The weather is nice today.', 'slt'), silence(1.5),
    speak('Please open the window.', 'rms'), silence(3.0)]);
  const browser = await launch(wav);
  const errors = [];
  try {
    const t = await createTranscription(server, 'Two voices');
    const page = await openPage(browser, errors, { viewport: { width: 360, height: 740 } });
    // Slow segment lists: the page's fetch of its live finals' ids then
    // comes after its watcher socket has sent the stored ones (which once
    // showed a sentence twice and kept it from being relabelled).
    await page.route('**/segments/', async (route) => {
      await sleep(1500);
      await route.continue();
    });
    await page.goto(`${server.url}/t/${t.id}`);
    await page.getByRole('button', { name: 'Record' }).click();
    await page.locator('.segment', { hasText: 'window' }).waitFor({ timeout: 40000 });
    await page.getByRole('button', { name: 'Stop' }).click();
    await page.locator('.state-text', { hasText: 'Saved' }).waitFor({ timeout: 20000 });
    const turns = await page.locator('.turn').allInnerTexts();
    assert.equal(turns.length, 2, turns.join('\n---\n'));
    assert.match(turns[0], /weather/i);
    assert.match(turns[1], /window/i);
    // Each turn is labelled with its own speaker.
    const names = await page.locator('.turn .speaker').allInnerTexts();
    assert.deepEqual(names, ['Speaker 0', 'Speaker 1']);
    await screenshot(page, '2-two-voices-360px');
    // Someone uploads more of the meeting saying there was one speaker: the
    // server re-clusters, and the open page relabels its turns in place.
    const wavBytes = fs.readFileSync(wav);
    const r = await fetch(`${server.url}/api/transcriptions/${t.id}/audio?max_speakers=1`,
                          { method: 'POST', body: wavBytes });
    assert.equal(r.status, 200);
    try {
      await page.waitForFunction(() => {
        const seen = [...document.querySelectorAll('.turn .speaker')].map((e) => e.textContent);
        return seen.length > 0 && new Set(seen).size === 1;
      }, null, { timeout: 20000 });
    } catch (err) {
      // Say what the page and the server held, not just that time ran out.
      const shown = await page.locator('.turn').allInnerTexts();
      const stored = (await segmentsOf(server, t.id)).map((s) => `${s.id} ${s.speaker}: ${s.text}`);
      const log = fs.readFileSync(path.join(server.dir, 'server.log'), 'utf8');
      assert.fail(`the turns were not relabelled to one speaker (${err.message})\n` +
                  `page:\n${shown.join('\n---\n')}\nstored:\n${stored.join('\n')}\n` +
                  `server log:\n${log}`);
    }
    await screenshot(page, '2-relabelled');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    assert.equal(await stopServer(server), 0);
  }
});

test('the page survives the server being killed mid-recording', async () => {
  let server = await startServer();
  const words = ['window', 'coffee', 'weather', 'morning', 'garden'];
  const wav = writeWav('restart.wav', [
    silence(1.0), speak('Please open the window.'), silence(1.5),
    speak('I would like a cup of coffee.'), silence(1.5),
    speak('The weather is nice today.'), silence(1.5),
    speak('Good morning everyone.'), silence(1.5),
    speak('Let us walk in the garden.'), silence(3.0)]);
  const browser = await launch(wav);
  const errors = [];
  try {
    const t = await createTranscription(server, 'Restart');
    const page = await openPage(browser, errors);
    await page.goto(`${server.url}/t/${t.id}`);
    await page.getByRole('button', { name: 'Record' }).click();
    await page.locator('.segment', { hasText: 'window' }).waitFor({ timeout: 30000 });
    // Kill the server without warning, in the middle of the recording.
    await stopServer(server, 'SIGKILL');
    await page.locator('.state-text', { hasText: 'Connection lost' }).waitFor({ timeout: 10000 });
    await screenshot(page, '3-connection-lost');
    await sleep(2500);
    server = await startServer({ port: server.port, dir: server.dir });
    await page.locator('.segment', { hasText: 'garden' }).waitFor({ timeout: 60000 });
    await page.getByRole('button', { name: 'Stop' }).click();
    await page.locator('.state-text', { hasText: 'Saved' }).waitFor({ timeout: 20000 });
    await screenshot(page, '3-recovered');
    const stored = (await segmentsOf(server, t.id)).map((s) => s.text).join(' ');
    for (const w of words) assert.equal(count(stored, w), 1, `"${w}" in: ${stored}`);
    // The browser logs the refused connections while the server is down.
    const unexpected = errors.filter((e) => !/WebSocket|ERR_CONNECTION_REFUSED|Failed to load resource/.test(e));
    assert.deepEqual(unexpected, []);
  } finally {
    await browser.close();
    assert.equal(await stopServer(server), 0);
  }
});

test('a page watching a transcript watches again after the server restarts', async () => {
  let server = await startServer();
  const browser = await launch(null);
  const errors = [];
  try {
    const t = await createTranscription(server, 'Watched');
    const page = await openPage(browser, errors);
    await page.goto(`${server.url}/t/${t.id}`);
    await page.waitForLoadState('networkidle'); // its watcher open
    // A restart: the watcher is closed (1012), the server is away for
    // 3 s (the page's attempts meanwhile are refused), then back.
    assert.equal(await stopServer(server), 0);
    await sleep(3000);
    server = await startServer({ port: server.port, dir: server.dir });
    // What is said now reaches the page without a reload.
    const wav = fs.readFileSync(writeWav('watched.wav', [
      silence(0.5), speak('Please open the window.'), silence(1.0)]));
    const up = await fetch(`${server.url}/api/transcriptions/${t.id}/audio?wait=30`,
      { method: 'POST', body: wav });
    assert.equal(up.status, 200);
    await page.locator('.segment', { hasText: 'window' }).waitFor({ timeout: 20000 });
    await screenshot(page, '3-watched-after-restart');
    assert.equal(count(await page.locator('.turns').innerText(), 'window'), 1);
    const unexpected = errors.filter((e) => !/WebSocket|ERR_CONNECTION_REFUSED|Failed to load resource/.test(e));
    assert.deepEqual(unexpected, []);
  } finally {
    await browser.close();
    assert.equal(await stopServer(server), 0);
  }
});

test('a dropped connection the server has not noticed resumes at once with the token', async () => {
  const server = await startServer();
  const relay = await startRelay(server);
  const words = ['window', 'coffee', 'weather'];
  const wav = writeWav('resume.wav', [
    silence(1.0), speak('Please open the window.'), silence(2.5),
    speak('I would like a cup of coffee.'), silence(1.5),
    speak('The weather is nice today.'), silence(3.0)]);
  const browser = await launch(wav);
  const errors = [];
  try {
    const t = await createTranscription(server, 'Resume');
    const page = await openPage(browser, errors);
    await page.goto(`${relay.url}/t/${t.id}`);
    await page.getByRole('button', { name: 'Record' }).click();
    await page.locator('.segment', { hasText: 'window' }).waitFor({ timeout: 30000 });
    // The network drops: the page sees it, the server does not (its
    // socket stays open until the idle timeout, 30 s away).
    relay.cut();
    await page.locator('.state-text', { hasText: 'Connection lost' }).waitFor({ timeout: 5000 });
    const lost = Date.now();
    // Without the token the server would refuse a second session (4409)
    // until it noticed; with it, the page is recording again at once.
    await page.locator('.state-text', { hasText: /^Recording$/ }).waitFor({ timeout: 5000 });
    const resumed = (Date.now() - lost) / 1000;
    assert.ok(resumed < 5, `resumed after ${resumed} s`);
    const again = relay.requests.filter((r) => r.includes(' /ws/transcribe/'));
    assert.equal(again.length, 2, again.join('\n'));
    assert.match(again[0], new RegExp(`/ws/transcribe/${t.id}\\?smart_format=true `));
    assert.match(again[1], new RegExp(`/ws/transcribe/${t.id}\\?smart_format=true&resume=[0-9a-f]{32} `));
    await page.locator('.segment', { hasText: 'weather' }).waitFor({ timeout: 40000 });
    await page.getByRole('button', { name: 'Stop' }).click();
    await page.locator('.state-text', { hasText: 'Saved' }).waitFor({ timeout: 20000 });
    await screenshot(page, '3-resumed');
    // Every sentence stored once, in order, none overlapping the next.
    const segs = await segmentsOf(server, t.id);
    const stored = segs.map((s) => s.text).join(' ');
    for (const w of words) assert.equal(count(stored, w), 1, `"${w}" in: ${stored}`);
    for (let i = 1; i < segs.length; i++) assert.ok(segs[i].start_time >= segs[i - 1].end_time, stored);
    const shown = await page.locator('.turns').innerText();
    for (const w of words) assert.equal(count(shown, w), 1, `"${w}" shown in: ${shown}`);
    const log = fs.readFileSync(path.join(server.dir, 'server.log'), 'utf8');
    assert.match(log, /resumed: taking the session over/);
    const unexpected = errors.filter((e) => !/WebSocket/.test(e));
    assert.deepEqual(unexpected, []);
  } finally {
    await browser.close();
    relay.close();
    assert.equal(await stopServer(server), 0);
  }
});

test('rename a speaker, correct a segment, export every format', async () => {
  const server = await startServer();
  const t = await createTranscription(server, 'Weekly sync');
  // Diarization has not landed: give two stored segments speaker labels by
  // hand, as it will.
  const restarted = await withRows(server,
    `INSERT INTO segments (transcription_id, text, speaker, start_time, end_time, is_final, words) VALUES
     (${t.id}, 'Hello everyone and welcome.', 'speaker_0', 1.0, 2.5, 1,
      '[{"word":"hello","start":1.0,"end":1.3,"confidence":0.9},{"word":"everyone","start":1.3,"end":1.9,"confidence":0.9},{"word":"and","start":1.9,"end":2.0,"confidence":0.9},{"word":"welcome","start":2.0,"end":2.5,"confidence":0.9}]'),
     (${t.id}, 'Thanks for having me.', 'speaker_1', 3.0, 4.2, 1, NULL)`);
  const browser = await launch(null);
  const errors = [];
  try {
    const page = await openPage(browser, errors);
    await page.goto(`${restarted.url}/t/${t.id}`);
    // A second page on the same transcript sees the edits as they are made.
    const other = await openPage(browser, errors);
    await other.goto(`${restarted.url}/t/${t.id}`);
    await other.locator('.segment', { hasText: 'Thanks for having me.' }).waitFor();
    await other.waitForLoadState('networkidle'); // its watcher open
    // Named in place, not in a browser prompt.
    await page.getByRole('button', { name: 'Speaker 0' }).click();
    await page.getByLabel('Name for Speaker 0').fill('Alice');
    await page.getByLabel('Name for Speaker 0').press('Enter');
    await page.getByRole('button', { name: 'Alice' }).waitFor();
    await page.locator('.saved', { hasText: 'Saved.' }).waitFor();
    const names = await (await fetch(`${restarted.url}/api/transcriptions/${t.id}/speakers/`)).json();
    assert.deepEqual(names, { speaker_0: 'Alice' });

    await page.locator('.segment', { hasText: 'Thanks for having me.' }).click();
    const editor = page.getByLabel('Corrected text');
    await editor.fill('Thank you for having me.');
    await editor.press('Enter');
    await page.locator('.segment', { hasText: 'Thank you for having me.' }).waitFor();
    let segs = await segmentsOf(restarted, t.id);
    assert.equal(segs[1].text, 'Thank you for having me.');
    await other.locator('.segment', { hasText: 'Thank you for having me.' }).waitFor({ timeout: 5000 });
    await other.getByRole('button', { name: 'Alice' }).waitFor({ timeout: 5000 });
    await other.close();
    // Saved, and undone on request.
    await page.locator('.saved', { hasText: 'Saved.' }).getByRole('button', { name: 'Undo' }).click();
    await page.locator('.segment', { hasText: 'Thanks for having me.' }).waitFor();
    assert.equal((await segmentsOf(restarted, t.id))[1].text, 'Thanks for having me.');
    await page.locator('.segment', { hasText: 'Thanks for having me.' }).click();
    await editor.fill('Thank you for having me.');
    await editor.press('Enter');
    await page.locator('.segment', { hasText: 'Thank you for having me.' }).waitFor();
    // Moved to the other speaker (one turn now), and back.
    await page.locator('.segment', { hasText: 'Thank you' }).click();
    await page.setViewportSize({ width: 360, height: 740 });
    await screenshot(page, '4-editing-360');
    await page.setViewportSize({ width: 1280, height: 720 });
    await page.getByLabel('Speaker', { exact: true }).selectOption({ label: 'Alice' });
    await page.getByLabel('Speaker', { exact: true }).press('Enter');
    // The correction's "Saved." is still shown: the move is saved when
    // the page has closed its editor and drawn the transcript again.
    await page.locator('.editing').waitFor({ state: 'detached', timeout: 10000 });
    await page.locator('.saved', { hasText: 'Saved.' }).waitFor();
    segs = await segmentsOf(restarted, t.id);
    assert.equal(segs[1].speaker, 'speaker_0');
    assert.equal(await page.locator('.turn').count(), 1, await page.locator('.turns').innerHTML());
    await screenshot(page, '4-moved');
    await page.locator('.saved').getByRole('button', { name: 'Undo' }).click();
    await page.locator('.saved', { hasText: 'Undone.' }).waitFor();
    segs = await segmentsOf(restarted, t.id);
    assert.equal(segs[1].speaker, 'speaker_1');
    assert.equal(segs[1].text, 'Thank you for having me.');
    await screenshot(page, '4-named-and-corrected');

    // Find in the transcript: the segment with the words, then none.
    await page.getByLabel('Find in this transcript').fill('HAVING');
    await page.locator('.find-count', { hasText: '1 of 1' }).waitFor();
    assert.match(await page.locator('.segment.current').innerText(), /having me/);
    await page.getByLabel('Find in this transcript').fill('zebra');
    await page.locator('.find-count', { hasText: 'Not found' }).waitFor();
    assert.equal(await page.locator('.segment.match').count(), 0);
    // No audio kept here: nothing to export of it.
    assert.equal(await page.locator('.exports a[data-format=ogg]').isHidden(), true);

    const files = {};
    for (const format of ['txt', 'srt', 'vtt', 'json']) {
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.locator(`.exports a[data-format=${format}]`).click(),
      ]);
      assert.equal(download.suggestedFilename(), `weekly-sync.${format}`);
      files[format] = fs.readFileSync(await download.path(), 'utf8');
    }
    assert.match(files.txt, /^Weekly sync\n\n\[0:00:01\] Alice: Hello everyone and welcome\.\n\n\[0:00:03\] Speaker 1: Thank you for having me\.\n$/);
    assert.equal(files.srt,
      '1\n00:00:01,000 --> 00:00:02,500\nAlice: Hello everyone and welcome.\n\n' +
      '2\n00:00:03,000 --> 00:00:04,200\nSpeaker 1: Thank you for having me.\n\n');
    assert.equal(files.vtt,
      'WEBVTT\n\n00:00:01.000 --> 00:00:02.500\n<v Alice>Hello everyone and welcome.\n\n' +
      '00:00:03.000 --> 00:00:04.200\n<v Speaker 1>Thank you for having me.\n\n');
    const json = JSON.parse(files.json);
    assert.equal(json.segments[0].speaker_name, 'Alice');
    assert.equal(json.segments[1].text, 'Thank you for having me.');
    assert.equal(json.segments[0].words.length, 4);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    assert.equal(await stopServer(restarted), 0);
  }
});

test('teach the page a name it cannot know, then record it: heard and written as taught', async () => {
  const server = await startServer();
  const t = await createTranscription(server, 'Product call');
  const wav = writeWav('taught.wav', [silence(1.0),
    speak('Please send the report to Zentrix by Friday morning.'), silence(2.5)]);
  const browser = await launch(wav);
  const errors = [];
  try {
    const page = await openPage(browser, errors);
    await page.goto(`${server.url}/t/${t.id}`);
    await page.getByText('Vocabulary').click();
    const box = page.getByLabel('Words to listen for');
    await box.fill('Zentrix\nTwo words');
    await page.getByRole('button', { name: 'Save words' }).click();
    await page.locator('.vocabulary-status.error', { hasText: 'not one word' }).waitFor();
    assert.match(await page.locator('.vocabulary-status').textContent(), /"Two words"/);
    await box.fill("Zentrix\nO'Brien:2");
    await page.getByRole('button', { name: 'Save words' }).click();
    await page.locator('.vocabulary-status', { hasText: 'Saved' }).waitFor();
    assert.equal(await page.locator('.vocabulary summary .count').textContent(), '(2)');
    const stored = await (await fetch(`${server.url}/api/transcriptions/${t.id}/vocabulary`)).json();
    assert.deepEqual(stored.keywords, [{ word: 'Zentrix', boost: 1 }, { word: "O'Brien", boost: 2 }]);
    await page.setViewportSize({ width: 360, height: 800 });
    await screenshot(page, '6-vocabulary-360');
    await page.setViewportSize({ width: 1280, height: 800 });
    await screenshot(page, '6-vocabulary-1280');

    await page.getByRole('button', { name: 'Record' }).click();
    await page.locator('.segment', { hasText: 'Zentrix' }).waitFor({ timeout: 30000 });
    await page.getByRole('button', { name: 'Stop' }).click();
    await page.locator('.state-text', { hasText: 'Saved' }).waitFor({ timeout: 20000 });
    const segs = await segmentsOf(server, t.id);
    assert.ok(segs.some((x) => /Zentrix by/.test(x.text)), JSON.stringify(segs));
    // The list is there after a reload, one word per line.
    await page.reload();
    await page.getByText('Vocabulary').click();
    assert.equal(await page.getByLabel('Words to listen for').inputValue(), "Zentrix\nO'Brien:2");
    // The browser logs the refused save's 422, which the page showed.
    assert.deepEqual(errors.filter((e) => !/status of 422/.test(e)), []);
  } finally {
    await browser.close();
    assert.equal(await stopServer(server), 0);
  }
});

test('API reference page renders from the OpenAPI document', async () => {
  const server = await startServer();
  const browser = await launch(null);
  const errors = [];
  try {
    const page = await openPage(browser, errors);
    await page.goto(`${server.url}/api/docs`);
    await page.locator('#list_transcriptions').waitFor();
    assert.ok(await page.locator('.op').count() >= 10);
    // One line per operation until opened; schemas as fields and types,
    // not raw JSON; the sockets with examples.
    await page.locator('#list_transcriptions > summary').click();
    const segment = page.locator('#schema-Segment');
    await segment.locator('summary').click();
    assert.match(await segment.locator('table.fields').innerText(), /start_time\s+number/);
    assert.equal(await segment.locator('pre').count(), 0);
    const ws = page.locator('.op', { hasText: '/ws/transcribe/{transcription_id}' });
    assert.match(await ws.innerText(), /"type": "transcript_segment"/);
    assert.match(await ws.innerText(), /4409/);
    await page.locator('#list_transcriptions a[href="#schema-Transcription"]').first().click();
    await page.locator('#schema-Transcription table.fields').waitFor(); // opened by the link
    await page.screenshot({ path: path.join(outDir, '5-api-docs-1280.png') });
    await screenshot(page, '5-api-docs');
    const height = await page.evaluate(() => document.documentElement.scrollHeight);
    console.log(`API docs page: ${height} px tall at 1280 px`);
    await page.setViewportSize({ width: 360, height: 740 });
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 360, `the docs page is ${width} px wide at 360`);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    assert.equal(await stopServer(server), 0);
  }
});

test('a refused microphone gets a message, not silence', async () => {
  const server = await startServer();
  const browser = await launch(null, { askPermission: true });
  const errors = [];
  try {
    const t = await createTranscription(server, 'No microphone');
    const page = await openPage(browser, errors);
    await page.context().clearPermissions(); // the microphone is not granted
    await page.goto(`${server.url}/t/${t.id}`);
    await page.getByRole('button', { name: 'Record' }).click();
    const alert = page.getByRole('alert');
    await alert.filter({ hasText: 'Microphone access was refused' }).waitFor({ timeout: 10000 });
    assert.equal(await page.locator('.state-text').textContent(), 'Ready to record');
    assert.equal(await page.getByRole('button', { name: 'Record' }).isEnabled(), true);
    await screenshot(page, '6-microphone-refused');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    assert.equal(await stopServer(server), 0);
  }
});

test('rename and delete from the list, with a confirmation, by keyboard; a page open on a transcript deleted elsewhere says so', async () => {
  const server = await startServer();
  const browser = await launch(null);
  const errors = [];
  try {
    await createTranscription(server, 'Old title');
    await createTranscription(server, 'Keep me');
    const page = await openPage(browser, errors);
    await page.goto(server.url);
    const row = page.locator('.item', { hasText: 'Old title' });
    await row.getByRole('button', { name: 'Rename Old title' }).focus();
    await page.keyboard.press('Enter');
    const input = page.getByLabel('New title');
    await input.fill('New title');
    await input.press('Enter');
    await page.locator('.item', { hasText: 'New title' }).waitFor();
    const list = await (await fetch(`${server.url}/api/transcriptions/`)).json();
    assert.deepEqual(list.map((t) => t.title), ['Keep me', 'New title']);

    // Dismissing the confirmation keeps it; accepting deletes it.
    page.once('dialog', (dialog) => dialog.dismiss());
    await page.getByRole('button', { name: 'Delete New title' }).click();
    assert.equal(await page.locator('.item', { hasText: 'New title' }).count(), 1);
    page.once('dialog', (dialog) => {
      assert.match(dialog.message(), /cannot be undone/);
      dialog.accept();
    });
    await page.getByRole('button', { name: 'Delete New title' }).click();
    await page.getByRole('status').filter({ hasText: 'Deleted "New title"' }).waitFor();
    const after = await (await fetch(`${server.url}/api/transcriptions/`)).json();
    assert.deepEqual(after.map((t) => t.title), ['Keep me']);
    await screenshot(page, '7-list-after-delete');

    // A transcript open in a page and deleted elsewhere: the page says so
    // and offers no recording into it.
    await page.locator('.item', { hasText: 'Keep me' }).getByRole('link').first().click();
    await page.waitForURL(/\/t\/\d+$/);
    await page.locator('.state-text', { hasText: 'Ready to record' }).waitFor();
    const id = page.url().match(/(\d+)$/)[1];
    // Once the page has loaded what it asks for (a request answered 404
    // after the deletion would be logged as an error).
    await page.waitForLoadState('networkidle');
    await fetch(`${server.url}/api/transcriptions/${id}/`, { method: 'DELETE' });
    // (Deleted before the page's watcher socket opened, the server says
    // it is not found: the same for the person.)
    await page.locator('.state-text', {
      hasText: /Stopped: (this transcription was deleted|Transcription \d+ not found)/,
    }).waitFor({ timeout: 10000 });
    assert.equal(await page.getByRole('button', { name: 'Record' }).isDisabled(), true);
    assert.equal(await page.getByRole('button', { name: 'Upload audio' }).isDisabled(), true);
    assert.equal(await page.getByRole('group', { name: 'Export' }).isVisible(), false);
    await page.getByText('This transcript no longer exists.').waitFor();
    await screenshot(page, '7-deleted-elsewhere');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    assert.equal(await stopServer(server), 0);
  }
});

test('a long list comes a page at a time, older pages on demand', async () => {
  const server = await startServer();
  const browser = await launch(null);
  const errors = [];
  try {
    for (let i = 1; i <= 120; i++) await createTranscription(server, `Meeting ${i}`);
    const page = await openPage(browser, errors);
    await page.goto(server.url);
    await page.locator('.item', { hasText: 'Meeting 120' }).waitFor();
    assert.equal(await page.locator('.item').count(), 50);
    const more = page.getByRole('button', { name: 'Show 50 more (70 older)' });
    await more.scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(outDir, '8-show-more.png') });
    await more.click();
    await page.locator('.item', { hasText: 'Meeting 21' }).waitFor();
    assert.equal(await page.locator('.item').count(), 100);
    await page.getByRole('button', { name: 'Show 20 more (20 older)' }).click();
    await page.locator('.item .title', { hasText: /^Meeting 1$/ }).waitFor();
    assert.equal(await page.locator('.item').count(), 120);
    assert.equal(await page.locator('.more').isVisible(), false);
    // Newest first, each once.
    const titles = await page.locator('.item .title').allTextContents();
    assert.deepEqual(titles, Array.from({ length: 120 }, (_, i) => `Meeting ${120 - i}`));
    await page.setViewportSize({ width: 360, height: 640 });
    await page.screenshot({ path: path.join(outDir, '8-long-list-360.png') });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    assert.equal(await stopServer(server), 0);
  }
});

test('5,000 transcripts: the list opens at once, pages on, and search finds one', async () => {
  const server = await startServer(); // filled behind its back, as years of use would
  const rows = [];
  for (let i = 1; i <= 5000; i++) {
    rows.push(`(${i}, 'Meeting ${i}${i === 1234 ? ' quarterly forecast' : ''}', ` +
              `'2026-01-01T00:00:00+00:00')`);
  }
  const long = 'averyveryverylongwordwithoutanyspaces'.repeat(8);
  const restarted = await withRows(server,
    `BEGIN; INSERT INTO transcriptions (id, title, created_at) VALUES ${rows.join(',')};
     INSERT INTO segments (transcription_id, text, start_time, end_time)
       VALUES (5000, '${long}', 0, 2), (4999, 'We agreed on the budget.', 0, 2); COMMIT;`);
  const browser = await launch(null);
  const errors = [];
  try {
    const page = await openPage(browser, errors, { viewport: { width: 360, height: 740 } });
    const started = Date.now();
    await page.goto(restarted.url);
    await page.locator('.item', { hasText: 'Meeting 5000' }).waitFor();
    const ms = Date.now() - started;
    console.log(`the list of 5,000 showed its first page in ${ms} ms`);
    assert.ok(ms < 5000, `${ms} ms`);
    assert.equal(await page.locator('.item').count(), 50);
    await page.getByRole('button', { name: 'Show 50 more (4950 older)' }).waitFor();
    // A preview with no spaces stays on its card at 360 px.
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 360, `the list is ${width} px wide at 360`);
    await page.screenshot({ path: path.join(outDir, '8-5000-360.png') });
    await page.getByRole('searchbox', { name: 'Search' }).fill('quarterly fore');
    await page.locator('.result', { hasText: 'Meeting 1234 quarterly forecast' }).waitFor();
    await page.getByRole('searchbox', { name: 'Search' }).fill('budget');
    await page.locator('.result', { hasText: 'Meeting 4999' }).waitFor();
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    assert.equal(await stopServer(restarted), 0);
  }
});

test('a run of segments moves to another speaker at once, and back with Undo', async () => {
  const server = await startServer();
  const t = await createTranscription(server, 'Panel');
  const restarted = await withRows(server,
    `INSERT INTO segments (transcription_id, text, speaker, start_time, end_time) VALUES
     (${t.id}, 'Welcome to the panel.', 'speaker_0', 0, 2),
     (${t.id}, 'Thanks for inviting me.', 'speaker_1', 2, 4),
     (${t.id}, 'It is good to be here.', 'speaker_1', 4, 6),
     (${t.id}, 'Let us begin.', 'speaker_1', 6, 8)`);
  const browser = await launch(null);
  const errors = [];
  try {
    const page = await openPage(browser, errors);
    await page.goto(`${restarted.url}/t/${t.id}`);
    await page.locator('.segment', { hasText: 'Thanks for inviting me.' }).click();
    await page.getByLabel('Speaker', { exact: true }).selectOption({ label: 'Speaker 0' });
    await page.getByLabel('and the 2 segments after it').check();
    await screenshot(page, '9-move-run');
    await page.getByLabel('Speaker', { exact: true }).press('Enter');
    await page.locator('.saved', { hasText: 'Saved (3 segments).' }).waitFor();
    let segs = await segmentsOf(restarted, t.id);
    assert.deepEqual(segs.map((s) => s.speaker), ['speaker_0', 'speaker_0', 'speaker_0', 'speaker_0']);
    assert.equal(await page.locator('.turn').count(), 1);
    await page.locator('.saved').getByRole('button', { name: 'Undo' }).click();
    await page.locator('.saved', { hasText: 'Undone.' }).waitFor();
    segs = await segmentsOf(restarted, t.id);
    assert.deepEqual(segs.map((s) => s.speaker), ['speaker_0', 'speaker_1', 'speaker_1', 'speaker_1']);
    assert.equal(await page.locator('.turn').count(), 2);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    assert.equal(await stopServer(restarted), 0);
  }
});
