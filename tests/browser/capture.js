// capture.js - the same recording through the web app's microphone path
// and sent as a file, for comparing what the recogniser hears each way
// (capture.test.js asserts it; bench/capture.sh measures the choices).
//
// The microphone: Chromium plays the WAV as its fake capture device
// (once: %noloop) into the page, which records it into a transcription
// exactly as a person would (Record, wait, Stop).  What the page sent
// over its socket is kept too, so that the capture path can be told
// apart from live timing: it can be transcribed offline like the file.
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createTranscription, launch, openPage, outDir, readWav, root, segmentsOf, silence,
  writeWav } from './helpers.js';

const bin = process.env.VERBATIM_BIN || path.join(root, 'build/asan/verbatim');

// files (WAVs at 16 kHz mono) joined into one, each after gapSeconds of
// silence, with tailSeconds after the last.
export function joinWavs(name, files, gapSeconds = 1.0, tailSeconds = 2.0) {
  const parts = [];
  for (const f of files) parts.push(silence(gapSeconds), readWav(f).samples);
  parts.push(silence(tailSeconds));
  return writeWav(name, parts);
}

// LibriVox's five read recordings (Debian's pocketsphinx-testdata) joined
// into one as `name`, and their reference transcript.
export function librivoxSet(name) {
  const dir = '/usr/share/pocketsphinx/test/data/librivox';
  const ids = fs.readFileSync(path.join(dir, 'fileids'), 'utf8').split('\n').filter(Boolean);
  const refs = Object.fromEntries(fs.readFileSync(path.join(dir, 'transcription'), 'utf8')
    .split('\n').filter(Boolean).map((l) => {
      const m = /^(?:<s> )?(.*?)(?: <\/s>)? \((.*)\)$/.exec(l);
      return [m[2], m[1]];
    }));
  return { name: 'librivox', ref: ids.map((id) => refs[id]).join(' '),
           wav: joinWavs(name, ids.map((id) => path.join(dir, `${id}.wav`))) };
}

// Words as sclite and our comparisons take them: lower case, no marks.
export const words = (text) => text.toLowerCase().replace(/[^a-z0-9' ]/g, ' ')
  .split(/\s+/).filter(Boolean);

// Word error rate (%) of hyp against ref, both texts, by NIST sclite.
export function sclite(ref, hyp, tag = 'x') {
  const dir = fs.mkdtempSync(path.join(outDir, 'sclite-'));
  try {
    fs.writeFileSync(path.join(dir, 'ref.trn'), `${words(ref).join(' ')} (${tag})\n`);
    fs.writeFileSync(path.join(dir, 'hyp.trn'), `${words(hyp).join(' ')} (${tag})\n`);
    const out = execFileSync('sctk', ['sclite', '-r', path.join(dir, 'ref.trn'), 'trn',
      '-h', path.join(dir, 'hyp.trn'), 'trn', '-i', 'wsj', '-o', 'sum', 'stdout'],
    { encoding: 'utf8' });
    const line = out.split('\n').find((l) => l.includes('Sum/Avg'));
    const cols = line.split('|').map((c) => c.trim()).filter(Boolean);
    // | Sum/Avg | #Snt #Wrd | Corr Sub Del Ins Err S.Err |
    return Number(cols[2].split(/\s+/)[4]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// The file: `verbatim stream` of the WAV into a new transcription of
// server, as fast as it goes; its finals.
export async function fileRun(server, wav, query = []) {
  const t = await createTranscription(server, `file ${path.basename(wav)}`);
  // Not execFileSync: a blocked event loop misses the server closing an
  // idle kept-alive connection, and the next fetch would reuse it.
  await new Promise((resolve, reject) => execFile(bin, ['stream', '--url',
    server.url.replace('http', 'ws'), '--id', String(t.id), ...query, wav],
  { timeout: 300000 }, (err) => (err ? reject(err) : resolve())));
  const segs = await segmentsOf(server, t.id);
  return { text: segs.map((s) => s.text).join(' '), finals: segs.length, segments: segs };
}

// The microphone: the WAV as Chromium's fake capture device, recorded by
// the web app into a new transcription.  setup(page) runs before the
// page's scripts (to choose capture settings, say).  Answers the finals
// and the PCM the page sent (16 kHz samples, its resends left out).
export async function micRun(server, wav, { setup, label = 'mic' } = {}) {
  const { rate, channels, samples } = readWav(wav);
  const seconds = samples.length / channels / rate;
  const t = await createTranscription(server, `${label} ${path.basename(wav)}`);
  const browser = await launch(wav);
  const errors = [];
  try {
    const page = await openPage(browser, errors);
    // Every binary message the page sends, for an offline look at it.
    await page.addInitScript(() => {
      window.__sent = [];
      const send = WebSocket.prototype.send;
      WebSocket.prototype.send = function (data) {
        if (typeof data !== 'string') window.__sent.push(Array.from(new Int16Array(
          data instanceof ArrayBuffer ? data : data.buffer.slice(data.byteOffset,
            data.byteOffset + data.byteLength))));
        return send.call(this, data);
      };
    });
    if (setup) await setup(page);
    await page.goto(`${server.url}/t/${t.id}`);
    await page.getByRole('button', { name: 'Record' }).click();
    await page.locator('.state-text', { hasText: 'Recording' }).waitFor({ timeout: 20000 });
    // The device plays the file once, from when the page asked for it.
    await page.waitForTimeout(seconds * 1000 + 500);
    await page.getByRole('button', { name: 'Stop' }).click();
    await page.locator('.state-text', { hasText: 'Saved' }).waitFor({ timeout: 60000 });
    const sent = await page.evaluate(() => window.__sent.flat());
    const segs = await segmentsOf(server, t.id);
    return { text: segs.map((s) => s.text).join(' '), finals: segs.length, segments: segs,
             sent: Int16Array.from(sent), errors };
  } finally {
    await browser.close();
  }
}

// How closely sent reproduces orig (16 kHz samples).  The lag (samples,
// -8000 to 8000: sent[i + lag] is orig[i]) that best lines them up is
// found on the loudest second of orig; then each second of orig with
// sound in it is lined up again near the previous one's lag (within 160
// samples: a render block the browser's audio thread missed under load
// shifts what follows; a second not found there is looked for within
// 3 s, as after a reconnect the page sends again what the server may not
// have had) and judged by its signal-to-error ratio (dB) at its best
// gain.  Answers the overall lag, and the median gain and ratio
// of the seconds, and how many seconds came below 30 dB.
export function likeness(orig, sent) {
  const W = 16000;
  let loud = 8000;
  let best = -1;
  for (let s = 8000; s + W <= orig.length; s += 4000) {
    let e = 0;
    for (let i = s; i < s + W; i++) e += orig[i] * orig[i];
    if (e > best) { best = e; loud = s; }
  }
  const bestLag = (at, from, to) => {
    let lag = from;
    let top = -Infinity;
    for (let l = from; l <= to; l++) {
      if (at + l < 0 || at + l + W > sent.length) continue;
      let c = 0;
      for (let i = at; i < at + W; i++) c += orig[i] * sent[i + l];
      if (c > top) { top = c; lag = l; }
    }
    return lag;
  };
  const lag = bestLag(loud, -8000, 8000);
  const gains = [];
  const ratios = [];
  let near = lag;
  for (let at = 0; at + W <= orig.length; at += W) {
    let oo = 0;
    for (let i = at; i < at + W; i++) oo += orig[i] * orig[i];
    if (oo < W * 100 * 100) continue; /* quiet: below 100 RMS */
    const judge = (l) => {
      if (at + l < 0 || at + l + W > sent.length) return null;
      let os = 0;
      for (let i = at; i < at + W; i++) os += orig[i] * sent[i + l];
      const gain = os / oo;
      let err = 0;
      for (let i = at; i < at + W; i++) {
        const d = sent[i + l] - gain * orig[i];
        err += d * d;
      }
      return { gain, ratio: 10 * Math.log10((gain * gain * oo) / Math.max(err, 1e-9)) };
    };
    near = bestLag(at, near - 160, near + 160);
    let j = judge(near);
    if (j === null) continue;
    if (j.ratio < 30) {
      // Lost sight of it: the page sent audio again after a reconnect (the
      // server drops what it already has), or more than a block went
      // missing.  Look for this second anywhere within 3 s, coarsely (every
      // 8th sample of every 4th lag), then exactly around the best.
      let coarse = near;
      let top = -Infinity;
      for (let l = near - 48000; l <= near + 48000; l += 4) {
        if (at + l < 0 || at + l + W > sent.length) continue;
        let c = 0;
        for (let i = at; i < at + W; i += 8) c += orig[i] * sent[i + l];
        if (c > top) { top = c; coarse = l; }
      }
      const again = bestLag(at, coarse - 8, coarse + 8);
      const k = judge(again);
      if (k !== null && k.ratio > j.ratio) {
        near = again;
        j = k;
      }
    }
    gains.push(j.gain);
    ratios.push(j.ratio);
  }
  const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  return { lag, gain: median(gains), snr: median(ratios), seconds: ratios.length,
           poor: ratios.filter((r) => r < 30).length };
}
