// capture-worklet.js - runs on the audio thread: turns the microphone's
// samples (at the AudioContext's rate, usually 44.1 or 48 kHz) into 16 kHz
// mono 16-bit PCM, and posts it to the page in 50 ms chunks with their
// level.  A windowed-sinc low-pass filter runs before the rate change so
// that sound above 8 kHz does not fold back into the speech band.

const TARGET_RATE = 16000;
const CHUNK = 800; // samples: 50 ms at 16 kHz
const TAPS = 63;

function lowPass(rate) {
  const cutoff = Math.min(7600, rate / 2 - 100) / rate;
  const taps = new Float32Array(TAPS);
  const mid = (TAPS - 1) / 2;
  let sum = 0;
  for (let i = 0; i < TAPS; i++) {
    const x = i - mid;
    const sinc = x === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * x) / (Math.PI * x);
    const window = 0.54 - 0.46 * Math.cos((2 * Math.PI * i) / (TAPS - 1));
    taps[i] = sinc * window;
    sum += taps[i];
  }
  for (let i = 0; i < TAPS; i++) taps[i] /= sum;
  return taps;
}

class CaptureProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / TARGET_RATE; // input samples per output sample
    this.taps = this.step > 1 ? lowPass(sampleRate) : null;
    this.history = new Float32Array(TAPS); // last inputs, for the filter
    this.filtered = [];                    // filtered inputs not yet used
    this.position = 0;                     // next output, in filtered samples
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
    for (let i = 0; i < frames; i++) {
      let x = 0; // mix down every channel
      for (let c = 0; c < input.length; c++) x += input[c][i];
      x /= input.length;
      if (this.taps) {
        this.history.copyWithin(0, 1);
        this.history[TAPS - 1] = x;
        let y = 0;
        for (let k = 0; k < TAPS; k++) y += this.history[k] * this.taps[k];
        this.filtered.push(y);
      } else {
        this.filtered.push(x);
      }
    }
    // Linear interpolation between filtered samples at the output rate.
    while (this.position + 1 < this.filtered.length) {
      const i = Math.floor(this.position);
      const frac = this.position - i;
      this.push(this.filtered[i] * (1 - frac) + this.filtered[i + 1] * frac);
      this.position += this.step;
    }
    const used = Math.floor(this.position);
    this.filtered.splice(0, used);
    this.position -= used;
    return true;
  }
}

registerProcessor('verbatim-capture', CaptureProcessor);
