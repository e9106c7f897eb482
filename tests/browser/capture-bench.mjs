// capture-bench.mjs - what the browser's capture settings do to what the
// recogniser hears (bench/capture.sh runs it).  Each set is played as the
// web app's microphone under each choice of getUserMedia's echo
// cancellation (aec), noise suppression (ns) and automatic gain control
// (agc), and streamed as a file; the word error rate (sclite), the
// number of finals, and the word error rate of the PCM the page sent,
// transcribed offline (the capture path without live timing), are
// printed per set and choice.
//
// usage: node capture-bench.mjs [--quick] [--only NAME,...]
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileRun, joinWavs, librivoxSet, micRun, sclite } from './capture.js';
import { root, startServer, stopServer, writeWav } from './helpers.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? args[onlyAt + 1].split(',') : null;
const bin = process.env.VERBATIM_BIN || path.join(root, 'build/verbatim');
const setDir = process.env.VB_FLITE_SET;

// The choices: what the page asks for, and each processing step alone.
const choices = {
  page: null,
  none: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
  all: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
  aec: { echoCancellation: true, noiseSuppression: false, autoGainControl: false },
  ns: { echoCancellation: false, noiseSuppression: true, autoGainControl: false },
  agc: { echoCancellation: false, noiseSuppression: false, autoGainControl: true },
};

function forced(constraints) {
  if (constraints === null) return undefined;
  return (page) => page.addInitScript((c) => {
    const md = navigator.mediaDevices;
    const gum = md.getUserMedia.bind(md);
    md.getUserMedia = () => gum({ audio: { channelCount: 1, ...c } });
  }, constraints);
}

// The sets: LibriVox's five read recordings, and flite sentences, each
// joined into one recording with a second of silence between files.
function sets() {
  const out = [librivoxSet('cap-librivox.wav')];
  const trn = fs.readFileSync(path.join(setDir, 'ref.trn'), 'utf8').split('\n').filter(Boolean)
    .map((l) => /^(.*) \((.*)\)$/.exec(l)).slice(0, quick ? 8 : 24);
  out.push({ name: 'flite', wav: joinWavs('cap-flite.wav',
    trn.map((m) => path.join(setDir, `${m[2]}.wav`))), ref: trn.map((m) => m[1]).join(' ') });
  return out;
}

// `verbatim transcribe` of a file, its text (asynchronously: see fileRun).
function transcribe(wav) {
  return new Promise((resolve, reject) => execFile(bin, ['transcribe', '--no-diarize', wav],
    { encoding: 'utf8', maxBuffer: 1 << 24 }, (err, out) => (err ? reject(err)
      : resolve(out.replace(/^\[[^\]]*\] /gm, '')))));
}

const server = await startServer();
try {
  const rows = [];
  for (const set of sets()) {
    const file = await fileRun(server, set.wav);
    rows.push({ set: set.name, how: 'file', wer: sclite(set.ref, file.text), finals: file.finals });
    for (const [name, constraints] of Object.entries(choices)) {
      if (only && !only.includes(name)) continue;
      const mic = await micRun(server, set.wav, { setup: forced(constraints), label: name });
      const sentWav = writeWav(`cap-${set.name}-${name}-sent.wav`, [mic.sent]);
      const offline = await transcribe(sentWav);
      const fileOffline = await transcribe(set.wav);
      rows.push({ set: set.name, how: `mic:${name}`, wer: sclite(set.ref, mic.text),
                  finals: mic.finals, sentWer: sclite(set.ref, offline),
                  fileOfflineWer: sclite(set.ref, fileOffline),
                  sentSeconds: (mic.sent.length / 16000).toFixed(1) });
      console.log(JSON.stringify(rows.at(-1)));
    }
  }
  console.log('\nset       how          WER %  finals  sent-offline WER %  (file offline WER %)');
  for (const r of rows) {
    console.log(`${r.set.padEnd(9)} ${r.how.padEnd(12)} ${String(r.wer).padStart(5)}  ` +
                `${String(r.finals).padStart(6)}  ${r.sentWer === undefined ? '' :
                  String(r.sentWer).padStart(18)}  ${r.fileOfflineWer ?? ''}`);
  }
} finally {
  await stopServer(server);
}
