// playback.test.js - the kept audio in the page: after a recording the
// player appears, a click on a word plays from that word's time, the
// word being heard is marked, and a double-click still edits; search
// finds the sentence and opens the transcript playing from its time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createTranscription, launch, openPage, screenshot, silence, speak, startServer, stopServer,
  writeWav,
} from './helpers.js';

test('record, then click a word: the audio plays from it and the word is marked', async () => {
  const server = await startServer();
  const t = await createTranscription(server, 'Playback');
  const wav = writeWav('playback.wav', [
    silence(1.0), speak('Please open the window.'), silence(1.5),
    speak('I would like a cup of coffee.'), silence(4.0)]);
  const browser = await launch(wav);
  const errors = [];
  try {
    const page = await openPage(browser, errors, { viewport: { width: 1280, height: 800 } });
    await page.goto(`${server.url}/t/${t.id}`);
    // Nothing kept yet: no player, and a click edits.
    assert.equal(await page.locator('.player').isHidden(), true);
    await page.getByRole('button', { name: 'Record' }).click();
    await page.locator('.segment', { hasText: 'coffee' }).waitFor({ timeout: 30000 });
    // The browser's microphones to choose from, named once one is in use.
    const mics = await page.evaluate(async () =>
      (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'audioinput').length);
    assert.ok(mics >= 2, `Chromium's fake devices: ${mics} microphones`);
    const picker = page.getByLabel('Microphone');
    await picker.waitFor();
    assert.equal(await picker.locator('option').count(), mics + 1); // and "Default"
    const second = await picker.locator('option').nth(2).getAttribute('value');
    await picker.selectOption(second);
    await page.getByRole('button', { name: 'Stop' }).click();
    await page.locator('.state-text', { hasText: 'Saved' }).waitFor({ timeout: 20000 });
    await page.locator('.player').waitFor({ state: 'visible', timeout: 10000 });
    await page.waitForFunction(() => document.querySelector('.player audio').readyState >= 1);

    // The stored words have their times once the page has the segments'
    // ids (a reload is what a later visit sees).
    await page.reload();
    // Remembered, once the page has listed the microphones again.
    await page.waitForFunction((id) => document.getElementById('microphone')?.value === id, second);
    const word = page.locator('.w', { hasText: 'coffee' });
    await word.waitFor();
    await page.locator('.player').waitFor({ state: 'visible' });
    const start = Number(await word.getAttribute('data-start'));
    const end = Number(await word.getAttribute('data-end'));
    assert.ok(start > 1 && end > start, `${start}-${end}`);
    await word.click();
    await page.waitForFunction(() => !document.querySelector('.player audio').paused);
    const at = await page.evaluate(() => document.querySelector('.player audio').currentTime);
    assert.ok(at >= start - 0.05 && at < start + 0.3, `playing at ${at}, the word starts at ${start}`);
    // The word being heard is marked while it plays.
    await page.locator('.w.playing', { hasText: 'coffee' }).waitFor({ timeout: 2000 });
    await screenshot(page, 'playback-1280');
    await page.evaluate(() => document.querySelector('.player audio').pause());

    // Space plays and pauses (outside text fields); "?" lists the keys.
    await page.locator('h1').click();
    await page.keyboard.press(' ');
    await page.waitForFunction(() => !document.querySelector('.player audio').paused);
    await page.keyboard.press(' ');
    await page.waitForFunction(() => document.querySelector('.player audio').paused);
    await page.keyboard.press('?');
    const keys = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
    await keys.waitFor();
    assert.match(await keys.innerText(), /Play or pause/);
    await screenshot(page, 'shortcuts-1280');
    await page.keyboard.press('Escape');
    await keys.waitFor({ state: 'detached' });

    // The audio can be exported.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('.exports a[data-format=ogg]').click(),
    ]);
    assert.equal(download.suggestedFilename(), 'Playback.ogg');

    // The audio is the recording: the server sends it in ranges.
    const head = await fetch(`${server.url}/api/transcriptions/${t.id}/audio.ogg`,
                             { headers: { Range: 'bytes=0-3' } });
    assert.equal(head.status, 206);
    assert.equal(Buffer.from(await head.arrayBuffer()).toString(), 'OggS');

    // A double-click edits, and leaves the audio paused there.
    await page.locator('.segment', { hasText: 'window' }).dblclick();
    await page.getByLabel('Corrected text').waitFor();
    assert.equal(await page.evaluate(() => document.querySelector('.player audio').paused), true);
    await page.keyboard.press('Escape');

    await page.setViewportSize({ width: 360, height: 740 });
    await screenshot(page, 'playback-360');
    let width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 360, `the page is ${width} px wide at 360`);
    // Dark, when the system is.
    await page.emulateMedia({ colorScheme: 'dark' });
    assert.notEqual(await page.evaluate(() => getComputedStyle(document.body).backgroundColor),
                    'rgb(247, 247, 245)');
    await screenshot(page, 'playback-dark-360');
    await page.setViewportSize({ width: 1280, height: 800 });
    await screenshot(page, 'playback-dark-1280');
    await page.emulateMedia({ colorScheme: 'light' });

    // Search from the list: the sentence spoken into the page is found,
    // and its result opens the transcript playing from its time.
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.locator('h1').click();
    await page.keyboard.press('/'); // to the list, its search box ready
    await page.waitForURL(/\/\?search$/);
    await page.waitForFunction(() => document.activeElement.id === 'search');
    await page.keyboard.type('cup of cof');
    const result = page.locator('.result', { hasText: 'Playback' });
    await result.waitFor({ timeout: 5000 });
    assert.match(await result.locator('.snippet').innerHTML(), /<mark>coffee<\/mark>/i);
    assert.equal(await page.locator('.transcripts').isHidden(), true);
    await screenshot(page, 'search-1280');
    await page.setViewportSize({ width: 360, height: 740 });
    await screenshot(page, 'search-360');
    width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 360, `the search page is ${width} px wide at 360`);
    await result.locator('a').click();
    await page.waitForURL(/\/t\/\d+\?at=/);
    const wanted = Number(new URL(page.url()).searchParams.get('at'));
    await page.waitForFunction(() => {
      const a = document.querySelector('.player audio');
      return a && !a.paused;
    }, null, { timeout: 10000 });
    const now = await page.evaluate(() => document.querySelector('.player audio').currentTime);
    assert.ok(now >= wanted - 0.05 && now < wanted + 0.5, `playing at ${now}, the result is at ${wanted}`);
    // Nothing found says so.
    await page.getByRole('link', { name: '← All transcripts' }).click();
    await page.getByRole('searchbox', { name: 'Search' }).fill('zebra');
    await page.getByText('Nothing found for "zebra".').waitFor();
    assert.deepEqual(errors, []);

    // Addresses that lead nowhere say so, with a way back (the browser
    // logs their 404s, so after the check above).
    const missing = await page.goto(`${server.url}/no/such/page`);
    assert.equal(missing.status(), 404);
    assert.equal(await page.locator('h1').textContent(), 'Not found');
    await page.getByRole('link', { name: '← All transcripts' }).waitFor();
    await page.goto(`${server.url}/t/999999`);
    await page.getByRole('heading', { name: 'Transcript not found' }).waitFor();
    await screenshot(page, 'not-found-360');
    const api404 = await fetch(`${server.url}/no/such/page`);
    assert.equal(api404.status, 404);
    assert.deepEqual(await api404.json(), { detail: 'Not Found' }); // programs: JSON
  } finally {
    await browser.close();
    assert.equal(await stopServer(server), 0);
  }
});
