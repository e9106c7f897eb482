// capture-worklet.js - runs on the audio thread: turns the microphone's
// samples (at the AudioContext's rate, usually 44.1 or 48 kHz) into 16 kHz
// mono 16-bit PCM, and posts it to the page in 50 ms chunks with their
// level.
//
// The rate change is band-limited interpolation: each output sample is
// the input under a windowed-sinc low-pass (7.2 kHz, 128 taps at 48 kHz)
// centred on its position, from a table of the filter at 512 phases.
// Sound above 8 kHz must not fold back into the speech band, and no
// sample may be lost or made up at a block's edge: with the filter and
// linear interpolation this replaced, the 7.5-8 kHz band of what the page
// sent was 10 dB above the recording's and the audio was stretched by
// 0.16 %, each of which cost words; now the page sends the recording
// itself (bench/NOTES.md, "The browser microphone").

const TARGET_RATE = 16000;
const CHUNK = 800; // samples: 50 ms at 16 kHz
const CUTOFF = 7200; // Hz
const PHASES = 512;

// The filter's taps at PHASES fractional offsets: table[p * taps + k] is
// the weight of input sample (i - half + 1 + k) for an output at i + p / PHASES.
function kernel(rate) {
  const half = Math.ceil((63 * rate) / 48000); // 64 at 48 kHz
  const taps = 2 * half;
  const fc = CUTOFF / rate;
  const table = new Float32Array((PHASES + 1) * taps);
  for (let p = 0; p <= PHASES; p++) {
    const frac = p / PHASES;
    let sum = 0;
    for (let k = 0; k < taps; k++) {
      const x = k - half + 1 - frac; // distance from the output position
      const sinc = x === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * x) / (Math.PI * x);
      const w = 0.54 + 0.46 * Math.cos((Math.PI * x) / half); // Hamming, |x| < half
      const v = Math.abs(x) < half ? sinc * w : 0;
      table[p * taps + k] = v;
      sum += v;
    }
    for (let k = 0; k < taps; k++) table[p * taps + k] /= sum;
  }
  return { table, taps, half };
}

class CaptureProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / TARGET_RATE; // input samples per output sample
    const { table, taps, half } = kernel(sampleRate);
    this.table = table;
    this.taps = taps;
    this.half = half;
    // Input not yet used, with the filter's reach of history before it.
    this.input = new Float32Array(4096);
    this.filled = half - 1; // zeros stand for the time before the start
    this.position = half - 1; // next output, in input samples
    this.chunk = new Int16Array(CHUNK);
    this.fill = 0;
    this.energy = 0;
    this.port.onmessage = (event) => {
      if (event.data === 'flush') this.flush();
    };
  }

  flush() {
    if (this.fill === 0) return;
    this.emit(this.chunk.slice(0, this.fill));
    this.fill = 0;
  }

  emit(samples) {
    const rms = Math.sqrt(this.energy / Math.max(1, samples.length));
    this.energy = 0;
    this.port.postMessage({ samples, level: rms }, [samples.buffer]);
  }

  push(value) {
    const v = Math.max(-1, Math.min(1, value));
    this.energy += v * v;
    this.chunk[this.fill++] = v < 0 ? v * 32768 : v * 32767;
    if (this.fill === CHUNK) {
      this.emit(this.chunk);
      this.chunk = new Int16Array(CHUNK);
      this.fill = 0;
    }
  }

  process(inputs) {
    const input = inputs[0];
    if (!input || input.length === 0) return true;
    const frames = input[0].length;
    if (this.filled + frames > this.input.length) {
      const grown = new Float32Array(2 * (this.filled + frames));
      grown.set(this.input.subarray(0, this.filled));
      this.input = grown;
    }
    for (let i = 0; i < frames; i++) {
      let x = 0; // mix down every channel
      for (let c = 0; c < input.length; c++) x += input[c][i];
      this.input[this.filled + i] = x / input.length;
    }
    this.filled += frames;
    const { table, taps, half } = this;
    // An output needs the input up to half samples after its position.
    while (this.position + half < this.filled) {
      const i = Math.floor(this.position);
      const p = Math.round((this.position - i) * PHASES);
      const base = i - half + 1;
      const row = p * taps;
      let y = 0;
      for (let k = 0; k < taps; k++) y += this.input[base + k] * table[row + k];
      this.push(y);
      this.position += this.step;
    }
    // Keep what the next outputs reach back to.
    const keep = Math.floor(this.position) - half + 1;
    if (keep > 0) {
      this.input.copyWithin(0, keep, this.filled);
      this.filled -= keep;
      this.position -= keep;
    }
    return true;
  }
}

registerProcessor('verbatim-capture', CaptureProcessor);
