// recorder.js - records the microphone into a transcript over the live
// socket, and survives the connection dropping.
//
// Audio is kept from the end of the last final result the page received:
// if the socket drops (the network, or the server restarting), capture goes
// on into that buffer and the page reconnects with backoff.  It brings the
// session's resume token, so that a server which has not yet noticed the
// drop hands the session over at once instead of refusing a second one
// (4409).  The new session's status says where the stored transcript ends
// (after the old session's last finals); the page skips the audio the
// server already turned into stored text and sends the rest.  Nothing said
// is lost, and nothing is transcribed twice.
import { api, socketUrl } from './api.js';

const RATE = 16000;

export function browserSupport() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia)
    return 'This browser cannot record audio here (it needs a secure page: https or localhost).';
  if (typeof AudioWorkletNode === 'undefined')
    return 'This browser does not support AudioWorklet, which recording needs. Use a current Chrome, Edge, Firefox or Safari.';
  if (typeof WebSocket === 'undefined')
    return 'This browser does not support WebSockets.';
  return null;
}

export function micErrorMessage(err) {
  switch (err && err.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'Microphone access was refused. Allow the microphone for this site in the browser settings, then press Record again.';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'No microphone was found. Connect one and press Record again.';
    case 'NotReadableError':
      return 'The microphone is in use by another program or could not be opened.';
    default:
      return `Could not start recording: ${err && err.message ? err.message : err}`;
  }
}

// What the page asks of the browser's capture.  Its echo cancellation,
// noise suppression and gain control, which getUserMedia turns on unless
// told otherwise, change what the recogniser hears: measured with the
// same recordings played as the microphone and sent as files
// (bench/capture.sh, bench/NOTES.md "The browser microphone"), the
// recording goes through untouched unless the person turns noise
// suppression back on for a noisy room.
export function captureConstraints({ noiseSuppression = false, deviceId = '' } = {}) {
  const c = { channelCount: 1, echoCancellation: false, noiseSuppression,
              autoGainControl: false };
  if (deviceId) c.deviceId = { exact: deviceId }; // the microphone picked
  return c;
}

// The microphones the browser offers ({deviceId, label}); labels come only
// once the page has been allowed a microphone.
export async function microphones() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return [];
  const all = await navigator.mediaDevices.enumerateDevices();
  return all.filter((d) => d.kind === 'audioinput' && d.deviceId !== '')
    .map((d, i) => ({ deviceId: d.deviceId, label: d.label || `Microphone ${i + 1}` }));
}

export class Recorder {
  // handlers: { message(msg), state(name, detail), level(rms) }
  // options: { noiseSuppression, deviceId } (captureConstraints)
  constructor(transcriptionId, handlers, options = {}) {
    this.id = transcriptionId;
    this.on = handlers;
    this.options = options;
    this.chunks = [];        // Int16Array chunks kept (not yet settled)
    this.keptFrom = 0;       // capture sample index of chunks[0]
    this.captured = 0;       // samples captured in all
    this.sentUpTo = 0;       // capture sample index sent to the current socket
    this.sessionStart = 0;   // capture sample index where the session began
    this.offset = 0;         // server time of sessionStart
    this.socket = null;
    this.resumeToken = null; // from the status: takes our session over
    this.stopping = false;
    this.attempt = 0;
  }

  async start() {
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({
        audio: captureConstraints(this.options),
      });
    } catch (err) {
      // The microphone picked is gone (unplugged): the default one.
      if (err.name !== 'OverconstrainedError' || !this.options.deviceId) throw err;
      this.stream = await navigator.mediaDevices.getUserMedia({
        audio: captureConstraints({ ...this.options, deviceId: '' }),
      });
    }
    this.context = new AudioContext();
    await this.context.audioWorklet.addModule('/static/capture-worklet.js');
    this.source = this.context.createMediaStreamSource(this.stream);
    this.node = new AudioWorkletNode(this.context, 'verbatim-capture');
    this.node.port.onmessage = (event) => this.onChunk(event.data);
    this.source.connect(this.node);
    this.startedAt = performance.now();
    this.connect();
  }

  onChunk({ samples, level }) {
    this.on.level(level);
    this.chunks.push(samples);
    this.captured += samples.length;
    this.pump();
  }

  // Sends what the socket has not had yet.
  pump() {
    const ws = this.socket;
    if (!ws || ws.readyState !== WebSocket.OPEN || !this.ready) return;
    let index = this.keptFrom;
    for (const chunk of this.chunks) {
      const end = index + chunk.length;
      if (end > this.sentUpTo) {
        const from = Math.max(0, this.sentUpTo - index);
        ws.send(from === 0 ? chunk : chunk.subarray(from));
        this.sentUpTo = end;
      }
      index = end;
    }
  }

  // Drops kept audio that ends before capture sample `upTo`.
  settle(upTo) {
    while (this.chunks.length && this.keptFrom + this.chunks[0].length <= upTo) {
      this.keptFrom += this.chunks[0].length;
      this.chunks.shift();
    }
  }

  // Server time -> capture sample index, for the current session.
  sampleAt(serverTime) {
    return this.sessionStart + Math.round((serverTime - this.offset) * RATE);
  }

  bufferedSeconds() {
    return (this.captured - this.keptFrom) / RATE;
  }

  elapsed() {
    return this.startedAt ? (performance.now() - this.startedAt) / 1000 : 0;
  }

  connect() {
    this.on.state(this.attempt ? 'reconnecting' : 'connecting');
    this.ready = false;
    this.opening = false;
    // Numbers, dates and times written as a reader expects, as the
    // application this replaces asked Deepgram for (smart_format).
    const resume = this.resumeToken ? `&resume=${this.resumeToken}` : '';
    const ws = new WebSocket(socketUrl(`/ws/transcribe/${this.id}?smart_format=true${resume}`));
    ws.binaryType = 'arraybuffer';
    this.socket = ws;
    ws.onmessage = (event) => this.onMessage(ws, event);
    ws.onclose = (event) => this.onClose(ws, event);
  }

  onMessage(ws, event) {
    if (ws !== this.socket || typeof event.data !== 'string') return;
    let msg;
    try { msg = JSON.parse(event.data); } catch { return; }
    if (msg.type === 'status' && !this.ready && !this.opening) {
      this.opening = true;
      this.begin(ws, msg);
    }
    if (msg.type === 'transcript_segment' && msg.payload && msg.payload.is_final) {
      this.lastFinalEnd = msg.payload.end;
      this.settle(this.sampleAt(msg.payload.end));
    }
    this.on.message(msg);
  }

  // A new session opened.  Its time_offset is where the stored transcript
  // ends: after a drop, finals this page never received (the old session
  // settled its last words as it ended) may end later than ours did.
  async begin(ws, msg) {
    if (typeof msg.resume_token === 'string') this.resumeToken = msg.resume_token;
    const storedEnd = typeof msg.time_offset === 'number' ? msg.time_offset : 0;
    if (this.hadSession && storedEnd > (this.lastFinalEnd ?? 0) + 0.0005) {
      // Their audio is not sent again (on the old session's clock), and
      // the page shows them before the new session's words arrive.
      this.settle(this.sampleAt(storedEnd));
      this.lastFinalEnd = storedEnd;
      try {
        const segments = await api.segments(this.id);
        if (ws === this.socket) this.on.message({ type: 'resync', segments });
      } catch { /* the next final's id refresh fetches them */ }
      if (ws !== this.socket) return;
    }
    // The session's times start at storedEnd, at the first sample not yet
    // settled.
    this.ready = true;
    this.opening = false;
    this.hadSession = true;
    this.attempt = 0;
    this.offset = storedEnd;
    this.sessionStart = this.keptFrom;
    this.sentUpTo = this.keptFrom;
    this.on.state('recording');
    this.pump();
    if (this.stopping) this.sendClose();
  }

  onClose(ws, event) {
    if (ws !== this.socket) return;
    this.socket = null;
    this.ready = false;
    this.opening = false;
    if (this.stopping && event.code === 1000) {
      this.cleanup();
      this.on.state('saved');
      return;
    }
    if (event.code === 4004 || event.code === 1003 || event.code === 1008) {
      this.cleanup();
      this.on.state('failed', event.reason || `closed with code ${event.code}`);
      return;
    }
    // 4409: another session holds the transcript (not ours: our token
    // would have taken it over); it is admitted once that one ends.
    this.retry(event.code === 1013 ? 'the server is busy'
      : event.code === 4409 ? 'someone else is recording into this transcript' : null);
  }

  retry(why) {
    this.attempt++;
    const delay = Math.min(8000, 500 * 2 ** Math.min(this.attempt - 1, 4));
    this.on.state('disconnected', { seconds: delay / 1000, why, buffered: this.bufferedSeconds() });
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  sendClose() {
    if (this.socket && this.socket.readyState === WebSocket.OPEN)
      this.socket.send(JSON.stringify({ type: 'CloseStream' }));
  }

  // Stops capturing; the last words become final before 'saved'.
  async stop() {
    this.stopping = true;
    this.on.state('saving');
    if (this.node) this.node.port.postMessage('flush');
    await new Promise((r) => setTimeout(r, 100)); // the flushed chunk arrives
    this.stopCapture();
    if (this.ready) {
      this.pump();
      this.sendClose();
    }
    // If disconnected, the reconnect sends what is kept and then closes.
  }

  stopCapture() {
    if (this.source) this.source.disconnect();
    if (this.node) this.node.port.onmessage = null;
    if (this.stream) this.stream.getTracks().forEach((t) => t.stop());
    if (this.context) this.context.close().catch(() => {});
    this.source = this.node = this.stream = this.context = null;
  }

  cleanup() {
    clearTimeout(this.timer);
    this.stopCapture();
    if (this.socket) this.socket.close();
    this.socket = null;
  }
}
