// transcript.js - one transcript: record, watch the words arrive, read it
// as a conversation, name speakers, correct text, export.
import { api, clock, h, socketUrl } from './api.js';
import { Recorder, browserSupport, micErrorMessage, microphones } from './recorder.js';
import { audioPlayer } from './player.js';
import { setShortcuts } from './shortcuts.js';
import { dropTarget, takeHandedOver, uploadRecording } from './upload.js';
import { vocabularyPanel } from './vocabulary.js';

const STATES = {
  idle: 'Ready to record',
  connecting: 'Connecting…',
  recording: 'Recording',
  reconnecting: 'Reconnecting…',
  disconnected: 'Connection lost',
  saving: 'Saving the last words…',
  saved: 'Saved',
  failed: 'Stopped',
  watching: 'Live: someone is recording',
};

export async function showTranscript(root, id, navigate) {
  const [transcription, stored, names] = await Promise.all([
    api.get(id), api.segments(id), api.speakers(id)]);
  let segments = stored.map(fromStored);
  let interim = null;      // {text, start, speaker} of the utterance in progress
  let recorder = null;
  let watcher = null;
  let watchAttempts = 0;   // connections lost in a row, for the backoff
  let follow = true;
  let tick = null;
  let quiet = null;        // timer: the watched recording went quiet
  let uploading = false;   // our own upload is being transcribed

  // ---- layout ----
  const heading = h('h1', {}, transcription.title);
  const stateText = h('span', { class: 'state-text' }, STATES.idle);
  const stateDot = h('span', { class: 'dot', 'aria-hidden': 'true' });
  const state = h('p', { class: 'state', role: 'status', 'aria-live': 'polite' },
                  stateDot, stateText);
  const elapsed = h('span', { class: 'elapsed', 'aria-label': 'Elapsed time' }, '0:00');
  const meterBar = h('span', { class: 'bar' });
  const meter = h('span', { class: 'meter', role: 'meter', 'aria-label': 'Input level',
                            'aria-valuemin': '0', 'aria-valuemax': '100',
                            'aria-valuenow': '0' }, meterBar);
  const record = h('button', { type: 'button', class: 'record', onclick: toggle,
                               'aria-pressed': 'false' }, 'Record');
  // The browser's noise suppression, off unless asked for (recorder.js).
  const quietBox = h('input', { type: 'checkbox', id: 'noise-suppression',
    onchange: () => localStorage.setItem('verbatim.noiseSuppression',
                                         quietBox.checked ? '1' : '0') });
  quietBox.checked = localStorage.getItem('verbatim.noiseSuppression') === '1';
  const noiseLabel = h('label', { class: 'noise', for: 'noise-suppression',
    title: 'The browser filters background noise out of the microphone. ' +
           'Helps in a noisy room; in a quiet one it can cost words.' },
    quietBox, ' Reduce background noise');
  // Which microphone, when the browser offers more than one (remembered).
  const micPick = h('select', { id: 'microphone', 'aria-label': 'Microphone',
    onchange: () => localStorage.setItem('verbatim.microphone', micPick.value) });
  const micLabel = h('label', { class: 'mic', for: 'microphone', hidden: true },
    'Microphone ', micPick);
  async function listMicrophones() {
    const mics = await microphones().catch(() => []);
    const chosen = localStorage.getItem('verbatim.microphone') || '';
    micPick.replaceChildren(h('option', { value: '' }, 'Default'),
      ...mics.map((m) => h('option', { value: m.deviceId, selected: m.deviceId === chosen },
                           m.label)));
    micLabel.hidden = mics.length < 2;
  }
  listMicrophones();
  if (navigator.mediaDevices && navigator.mediaDevices.addEventListener)
    navigator.mediaDevices.addEventListener('devicechange', listMicrophones);
  const message = h('p', { class: 'message', role: 'alert' });
  const notice = h('p', { class: 'notice', role: 'status' });
  // Every edit says whether it was saved, with a way to take it back.
  const savedText = h('span', {});
  const undoButton = h('button', { type: 'button', class: 'undo', hidden: true }, 'Undo');
  const saved = h('p', { class: 'saved', role: 'status', hidden: true }, savedText, undoButton);
  let savedTimer = null;
  function feedback(text, { failed = false, undo = null } = {}) {
    clearTimeout(savedTimer);
    saved.hidden = false;
    saved.classList.toggle('failed', failed);
    savedText.textContent = text;
    undoButton.hidden = !undo;
    undoButton.onclick = undo && (async () => {
      undoButton.hidden = true;
      try {
        await undo();
        feedback('Undone.');
      } catch (err) {
        feedback(`Could not undo: ${err.message}`, { failed: true });
      }
    });
    savedTimer = setTimeout(() => { saved.hidden = true; }, failed ? 15000 : 10000);
  }
  // Each segment's time, on demand (remembered).
  const timesBox = h('input', { type: 'checkbox', id: 'show-times',
    onchange: () => { localStorage.setItem('verbatim.showTimes', timesBox.checked ? '1' : '0');
                      render(); } });
  timesBox.checked = localStorage.getItem('verbatim.showTimes') === '1';
  const timesLabel = h('label', { class: 'noise', for: 'show-times' }, timesBox, ' Show times');
  // Find in this transcript: the segments with the words, one at a time
  // (Enter: the next, Shift+Enter: the one before).
  const findBox = h('input', { type: 'search', id: 'find', placeholder: 'Find in this transcript',
                               'aria-label': 'Find in this transcript', autocomplete: 'off' });
  const findCount = h('span', { class: 'find-count', role: 'status' });
  const findBar = h('div', { class: 'find' }, findBox, findCount);
  let findAt = -1;
  function findMatches() {
    const q = findBox.value.trim().toLowerCase();
    if (!q) return [];
    return [...turns.querySelectorAll('.segment')]
      .filter((el) => el.textContent.toLowerCase().includes(q));
  }
  function showFound(step) {
    for (const el of turns.querySelectorAll('.match')) el.classList.remove('match', 'current');
    const found = findMatches();
    for (const el of found) el.classList.add('match');
    if (found.length === 0) {
      findAt = -1;
      findCount.textContent = findBox.value.trim() ? 'Not found' : '';
      return;
    }
    findAt = ((findAt + step) % found.length + found.length) % found.length;
    const here = found[findAt];
    here.classList.add('current');
    follow = false;
    here.scrollIntoView({ block: 'center' });
    findCount.textContent = `${findAt + 1} of ${found.length}`;
  }
  findBox.addEventListener('input', () => { findAt = -1; showFound(1); });
  findBox.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') { e.preventDefault(); showFound(e.shiftKey ? -1 : 1); }
    if (e.key === 'Escape') { findBox.value = ''; showFound(0); findBox.blur(); }
  });
  const fileInput = h('input', {
    type: 'file', hidden: true, onchange: () => upload(fileInput.files[0]),
    accept: 'audio/*,video/webm,.wav,.flac,.mp3,.m4a,.aac,.ogg,.opus,.webm' });
  const uploadButton = h('button', { type: 'button', class: 'upload',
                                     onclick: () => fileInput.click() },
                         'Upload audio');
  const uploadBar = h('progress', { max: '100', value: '0', 'aria-label': 'Upload progress' });
  const uploadText = h('span', { class: 'upload-text' });
  const uploadStatus = h('p', { class: 'upload-status', hidden: true }, uploadBar, uploadText);
  const exports = h('div', { class: 'exports', role: 'group', 'aria-label': 'Export' },
    'Export:',
    ...['txt', 'srt', 'vtt', 'json'].map((f) =>
      h('a', { href: api.exportUrl(id, f), download: '', class: 'button',
               'data-format': f }, f.toUpperCase())));
  // The kept audio too, once there is some.
  const audioExport = h('a', { href: `/api/transcriptions/${id}/audio.ogg`, class: 'button',
                               download: `${transcription.title || 'recording'}.ogg`,
                               'data-format': 'ogg', hidden: true }, 'Audio');
  exports.append(audioExport);
  const turns = h('div', { class: 'turns', 'aria-live': 'off' });
  const empty = h('p', { class: 'muted empty' },
                  'Nothing yet. Press Record and start speaking, or upload a recording.');
  const scroller = h('section', { class: 'transcript', 'aria-label': 'Transcript',
                                  tabindex: '0' }, empty, turns);
  const jump = h('button', { type: 'button', class: 'jump', hidden: true,
                             onclick: () => { follow = true; scrollToEnd(); } },
                 'Jump to live ↓');
  const player = audioPlayer(id, markPlaying, (kept) => { audioExport.hidden = !kept; });
  root.append(
    h('p', {}, h('a', { href: '/' }, '← All transcripts')),
    heading,
    h('div', { class: 'controls' }, record, state, elapsed, meter, uploadButton, fileInput,
      noiseLabel, micLabel),
    player.element, uploadStatus, message, notice, saved,
    h('div', { class: 'view' }, findBar, timesLabel), scroller, jump,
    exports, vocabularyPanel(id));

  const unsupported = browserSupport();
  if (unsupported) {
    record.disabled = true;
    message.textContent = unsupported;
  }

  scroller.addEventListener('scroll', () => {
    follow = scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - 40;
    jump.hidden = follow;
  });

  // ---- the transcript as turns ----
  function fromStored(s) {
    return { id: s.id, text: s.text, speaker: s.speaker, start: s.start_time, end: s.end_time,
             words: s.words };
  }

  function speakerName(label) {
    return label ? names[label] || label.replace('speaker_', 'Speaker ') : null;
  }

  // Consecutive segments of one known speaker form a turn; while speakers
  // are unknown every utterance is its own turn.
  function groupTurns(list) {
    const out = [];
    for (const s of list) {
      const last = out[out.length - 1];
      if (last && s.speaker && last.speaker === s.speaker && !last.interim) last.items.push(s);
      else out.push({ speaker: s.speaker, start: s.start, items: [s], interim: s.interim });
    }
    return out;
  }

  // While a person edits a segment or a name, the transcript is not
  // redrawn under them (new finals, a refresh): it is once they are done.
  let editing = false;
  function render() {
    if (editing) return;
    const list = [...segments].sort((a, b) => a.start - b.start);
    if (interim && interim.text) list.push({ ...interim, interim: true });
    empty.hidden = list.length > 0;
    turns.replaceChildren(...groupTurns(list).map(renderTurn));
    listTimed();
    if (findBox.value.trim()) for (const el of findMatches()) el.classList.add('match');
    if (follow) scrollToEnd();
  }

  function renderTurn(turn) {
    const name = speakerName(turn.speaker);
    const who = turn.speaker
      ? h('button', { type: 'button', class: 'speaker', title: 'Rename this speaker',
                      onclick: (e) => renameSpeaker(turn.speaker, e.currentTarget) }, name)
      : h('span', { class: 'speaker unknown' }, 'Speaker');
    return h('article', { class: 'turn' },
      h('header', {}, who, h('time', { class: 'at' }, clock(turn.start))),
      h('p', { class: 'words' }, ...turn.items.map(renderSegment)));
  }

  // A final's words, each with its time when the text has one entry of
  // words for each written word (not where smart formatting joined some:
  // then the segment's time).
  function renderSegment(s) {
    if (s.interim)
      return h('span', { class: 'interim', 'aria-label': 'Not final yet' }, s.text);
    const written = s.text.split(/\s+/).filter(Boolean);
    const timed = Array.isArray(s.words) && s.words.length === written.length;
    const content = timed ? written.map((word, i) => [wordSpan(word, s.words[i]), ' '])
      : [s.text, ' '];
    if (timesBox.checked)
      content.unshift(h('time', { class: 'seg-at' }, clock(s.start)), ' ');
    return h('span', { class: 'segment', tabindex: '0', 'data-id': s.id ?? '',
                       'data-start': s.start, 'data-end': s.end,
                       title: player.available
                         ? 'Play from here; double-click or Enter to edit'
                         : 'Edit this text (Enter)',
                       onclick: (e) => {
                         const word = e.target.closest('.w');
                         if (!player.playFrom(word ? Number(word.dataset.start) : s.start)) edit(s);
                       },
                       // The double-click's first click started playing.
                       ondblclick: () => { player.audio.pause(); edit(s); },
                       onkeydown: (e) => {
                         if (e.key === 'Enter') { e.preventDefault(); edit(s); }
                       } }, ...content);
  }

  // A word the recogniser was unsure of is marked, with why on hover.
  const UNSURE = 0.5;
  function wordSpan(word, w) {
    const unsure = typeof w.confidence === 'number' && w.confidence < UNSURE;
    return h('span', { class: unsure ? 'w unsure' : 'w', 'data-start': w.start,
                       'data-end': w.end,
                       title: unsure ? `The recogniser was unsure of this word (confidence ` +
                         `${w.confidence.toFixed(2)}; words under ${UNSURE} are underlined)` : null },
             word);
  }

  // The word (or, without word times, the segment) being heard is marked;
  // what can be marked is listed at each render, in time order.
  let timedEls = [];
  let playing = null;
  function listTimed() {
    timedEls = [...turns.querySelectorAll('.w, .segment')]
      .filter((el) => !(el.classList.contains('segment') && el.querySelector('.w')))
      .map((el) => ({ el, start: Number(el.dataset.start), end: Number(el.dataset.end) }))
      .sort((a, b) => a.start - b.start);
    playing = null;
  }
  function markPlaying(seconds) {
    let lo = 0;
    let hi = timedEls.length;
    while (lo < hi) { // the first that starts after `seconds`
      const mid = (lo + hi) >> 1;
      if (timedEls[mid].start <= seconds) lo = mid + 1; else hi = mid;
    }
    const it = timedEls[lo - 1];
    const found = it && seconds < it.end ? it.el : null;
    if (found === playing) return;
    if (playing) playing.classList.remove('playing');
    if (found) found.classList.add('playing');
    playing = found;
  }

  function scrollToEnd() {
    scroller.scrollTop = scroller.scrollHeight;
    jump.hidden = true;
  }

  // The labels of the transcript's speakers, for moving a segment.
  function speakerLabels() {
    const labels = new Set(segments.map((x) => x.speaker).filter(Boolean));
    return [...labels].sort((a, b) => Number(a.slice(8)) - Number(b.slice(8)));
  }

  // The page's own copy of segment s (a refresh may have replaced it).
  const current = (s) => segments.find((x) => x.id === s.id) || s;
  // Applies edits ([segment, {text?, speaker?}] pairs: one segment, or a
  // run moved to another speaker), saved or said why; what they were
  // comes back with Undo.
  async function saveSegments(pairs) {
    const undo = [];
    changes++;
    try {
      for (const [seg, edit] of pairs) {
        const before = { text: seg.text, speaker: seg.speaker ?? null };
        await applyEdit(seg, edit);
        const back = {};
        for (const key of Object.keys(edit)) back[key] = before[key];
        undo.push([seg, back]);
      }
      message.textContent = '';
      feedback(pairs.length > 1 ? `Saved (${pairs.length} segments).` : 'Saved.', {
        undo: async () => { changes++; for (const [seg, back] of undo) await applyEdit(seg, back); },
      });
    } catch (err) {
      feedback(`Could not save the change: ${err.message}` +
               (undo.length ? ` (${undo.length} of ${pairs.length} saved)` : ''),
               { failed: true });
    }
    render();
  }
  // This page's own edits come back through its watcher too, before or
  // after the PATCH's answer: an echo may hold an older state of the
  // segment than a later edit (a correction's echo after the move that
  // followed it), so echoes are counted off, not applied.
  const echoes = new Map(); // segment id -> own edits not yet echoed
  async function applyEdit(seg, edit) {
    echoes.set(seg.id, (echoes.get(seg.id) || 0) + 1); // before: it may come first
    let updated;
    try {
      updated = await api.editSegment(id, seg.id, edit);
    } catch (err) {
      echoes.set(seg.id, echoes.get(seg.id) - 1); // no edit, no echo
      throw err;
    }
    const s = current(seg);
    s.text = updated.text;
    s.speaker = updated.speaker;
    if ('text' in edit) s.words = null; // realigned by the server: fetched below
    refreshIds();
    render();
  }

  function edit(s) {
    if (!s.id) return;
    const span = turns.querySelector(`.segment[data-id="${s.id}"]`);
    const input = h('textarea', { class: 'edit', 'aria-label': 'Corrected text', rows: '2' });
    input.value = s.text;
    // Who said it: one of the transcript's speakers, or a new one.
    const labels = speakerLabels();
    const next = `speaker_${labels.reduce((m, l) => Math.max(m, Number(l.slice(8)) + 1), 0)}`;
    const who = h('select', { class: 'edit-speaker', 'aria-label': 'Speaker' },
      ...labels.map((l) => h('option', { value: l, selected: l === s.speaker }, speakerName(l))),
      h('option', { value: next }, 'New speaker'));
    if (!s.speaker) who.prepend(h('option', { value: '', selected: true }, 'Unknown'));
    // The segments after it in its turn can move with it.
    const turn = groupTurns([...segments].sort((a, b) => a.start - b.start))
      .find((tn) => tn.items.includes(s));
    const after = turn ? turn.items.slice(turn.items.indexOf(s) + 1).filter((x) => x.id) : [];
    const withRest = h('input', { type: 'checkbox', id: `rest-${s.id}` });
    const restLabel = after.length ? h('label', { class: 'noise', for: withRest.id }, withRest,
      ` and the ${after.length === 1 ? 'segment' : `${after.length} segments`} after it`) : null;
    const box = h('span', { class: 'editing' }, input, who, restLabel);
    let done = false;
    const save = () => {
      if (done) return;
      done = true;
      editing = false;
      const wanted = {};
      const text = input.value.trim();
      if (text && text !== s.text) wanted.text = text;
      if (who.value && who.value !== (s.speaker ?? '')) wanted.speaker = who.value;
      if (Object.keys(wanted).length === 0) return render();
      const pairs = [[s, wanted]];
      if (wanted.speaker && withRest.checked)
        for (const x of after) pairs.push([x, { speaker: wanted.speaker }]);
      saveSegments(pairs);
    };
    const cancel = () => { done = true; editing = false; render(); };
    for (const el of [input, who, withRest])
      el.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); save(); }
        if (e.key === 'Escape') cancel();
      });
    who.addEventListener('change', () => input.focus());
    // Leaving both fields saves (moving from the text to the picker does not).
    box.addEventListener('focusout', (e) => {
      if (!box.contains(e.relatedTarget)) save();
    });
    span.replaceWith(box);
    editing = true;
    input.focus();
  }

  // A speaker's name, typed in place (the names already given offered).
  function renameSpeaker(label, button) {
    const current = speakerName(label);
    const list = h('datalist', { id: `names-${label}` },
      ...[...new Set(Object.values(names))].map((n) => h('option', { value: n })));
    const input = h('input', { type: 'text', class: 'rename-speaker', maxlength: '100',
                               list: list.id, 'aria-label': `Name for ${current}`,
                               value: names[label] || '' });
    let done = false;
    const save = async () => {
      if (done) return;
      done = true;
      editing = false;
      const name = input.value.trim();
      const before = names[label] || '';
      if (name === before) return render();
      try {
        await applyName(label, name);
        feedback('Saved.', { undo: () => applyName(label, before) });
      } catch (err) {
        feedback(`Could not rename the speaker: ${err.message}`, { failed: true });
        render();
      }
    };
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') { e.preventDefault(); save(); }
      if (e.key === 'Escape') { done = true; editing = false; render(); }
    });
    input.addEventListener('blur', save);
    button.replaceWith(input, list);
    editing = true;
    input.focus();
    input.select();
  }
  async function applyName(label, name) {
    const updated = await api.nameSpeaker(id, label, name);
    for (const key of Object.keys(names)) delete names[key];
    Object.assign(names, updated);
    render();
  }

  // ---- live messages (own recording or watching) ----
  function onMessage(msg) {
    if (msg.type === 'resync') {
      segments = msg.segments.map(fromStored);
      interim = null;
      render();
    } else if (msg.type === 'transcript_segment') {
      const p = msg.payload;
      if (p.is_final) {
        interim = null;
        addFinal({ id: p.id, text: p.text, speaker: p.speaker, start: p.start, end: p.end,
                   words: p.words });
        if (p.id === undefined) refreshIds();
      } else {
        interim = { text: p.text, speaker: p.speaker, start: p.start };
      }
      render();
    } else if (msg.type === 'event' && msg.payload.type === 'utterance_end') {
      interim = null;
      render();
    } else if (msg.type === 'event' && msg.payload.type === 'speakers_updated') {
      // The server re-clustered the speakers: relabel the turns in place
      // (live finals may not have their ids yet: fetch them too).
      for (const u of msg.payload.segments) {
        const s = segments.find((x) => x.id === u.id);
        if (s) s.speaker = u.speaker;
      }
      render();
      refreshIds();
    } else if (msg.type === 'event' && msg.payload.type === 'segment_updated') {
      // Someone (perhaps this page) corrected a segment or moved it.
      const u = msg.payload.segment;
      const mine = echoes.get(u.id) || 0;
      if (mine > 0) {
        echoes.set(u.id, mine - 1);
        return;
      }
      const s = segments.find((x) => x.id === u.id);
      if (s) Object.assign(s, { text: u.text, speaker: u.speaker, words: u.words });
      render();
    } else if (msg.type === 'event' && msg.payload.type === 'speakers_named') {
      for (const key of Object.keys(names)) delete names[key];
      Object.assign(names, msg.payload.names);
      render();
    } else if (msg.type === 'error') {
      message.textContent = msg.payload;
    }
  }

  // A live final has no id; once stored, the same segment can arrive
  // again with its id (a watcher socket sends the stored ones when it
  // opens) and is then the one the page has, not another.
  function sameSegment(a, b) {
    return a.text === b.text && Math.abs(a.start - b.start) < 0.002;
  }

  function addFinal(seg) {
    if (seg.id !== undefined) {
      if (segments.some((s) => s.id === seg.id)) return;
      const pending = segments.find((s) => s.id === undefined && sameSegment(s, seg));
      if (pending) {
        Object.assign(pending, seg);
        return;
      }
    }
    segments.push(seg);
  }

  // Live finals carry no segment id; fetch them so that they can be edited
  // and relabelled.  Finals the answer does not hold yet (stored or
  // arrived meanwhile) stay.
  let refreshing = null;
  let changes = 0; // edits made on this page, so that no older answer undoes one
  function refreshIds() {
    clearTimeout(refreshing);
    refreshing = setTimeout(async () => {
      const asked = changes;
      try {
        const fresh = (await api.segments(id)).map(fromStored);
        if (asked !== changes) return; // an edit since: its own refresh follows
        const missing = segments.filter((s) => (s.id === undefined
          ? !fresh.some((f) => sameSegment(f, s)) : !fresh.some((f) => f.id === s.id)));
        segments = fresh.concat(missing);
        render();
      } catch { /* the next final tries again */ }
    }, 400);
  }

  function setState(name, detail) {
    let text = STATES[name] || name;
    if (name === 'disconnected' && detail) {
      text = `Connection lost${detail.why ? ` (${detail.why})` : ''}; still recording, ` +
             `${detail.buffered.toFixed(1)} s kept. Retrying in ${detail.seconds} s…`;
    }
    if (name === 'failed' && detail) text = `Stopped: ${detail}`;
    stateText.textContent = text;
    root.dataset.state = name;
    const live = ['connecting', 'recording', 'reconnecting', 'disconnected', 'saving'].includes(name);
    record.textContent = live ? 'Stop' : 'Record';
    record.setAttribute('aria-pressed', String(live && name !== 'saving'));
    record.disabled = name === 'saving' || Boolean(unsupported);
    uploadButton.disabled = live;
    if (!live) {
      clearInterval(tick);
      meterBar.style.width = '0';
      recorder = null;
      if (name === 'saved' || name === 'failed') {
        watch();
        player.refresh();
      }
    }
  }

  async function toggle() {
    if (recorder) {
      recorder.stop();
      return;
    }
    message.textContent = '';
    unwatch();
    recorder = new Recorder(id, {
      message: onMessage,
      state: setState,
      level: (rms) => {
        const pct = Math.min(100, Math.round(Math.sqrt(rms) * 180));
        meterBar.style.width = `${pct}%`;
        meter.setAttribute('aria-valuenow', String(pct));
      },
    }, { noiseSuppression: quietBox.checked, deviceId: micPick.value });
    setState('connecting');
    try {
      await recorder.start();
    } catch (err) {
      recorder.cleanup();
      setState('idle');
      message.textContent = micErrorMessage(err);
      return;
    }
    listMicrophones(); // their names, now that the page may use one
    const started = recorder;
    tick = setInterval(() => { elapsed.textContent = clock(started.elapsed()); }, 250);
  }

  // ---- uploading a recording: its words arrive through the watcher ----
  async function upload(file) {
    fileInput.value = '';
    if (!file || uploading || recorder) return;
    uploading = true;
    message.textContent = '';
    notice.textContent = '';
    record.disabled = true;
    uploadButton.disabled = true;
    uploadStatus.hidden = false;
    const show = (phase, fraction) => {
      const pct = Math.round(fraction * 100);
      uploadBar.value = pct;
      uploadBar.setAttribute('aria-valuetext', `${phase} ${pct}%`);
      uploadText.textContent = phase === 'uploading'
        ? `Uploading ${file.name}: ${pct}%` : `Transcribing ${file.name}: ${pct}%`;
    };
    try {
      const job = await uploadRecording(id, file, show);
      notice.textContent = `Transcribed ${file.name}: ${clock(job.audio_seconds)} of audio, ` +
        `${job.segments} ${job.segments === 1 ? 'segment' : 'segments'}.`;
    } catch (err) {
      message.textContent = `Could not transcribe ${file.name}: ${err.message}` +
        (err.job && err.job.segments ? ` (the ${err.job.segments} segments before ` +
         'the problem were kept)' : '');
    }
    try {
      segments = (await api.segments(id)).map(fromStored);
    } catch { /* the watcher has them */ }
    interim = null;
    uploading = false;
    player.refresh();
    uploadStatus.hidden = true;
    uploadButton.disabled = false;
    record.disabled = Boolean(unsupported);
    render();
  }

  // ---- watching someone else's recording ----
  function watch() {
    unwatch();
    const ws = new WebSocket(socketUrl(`/ws/watch/${id}`));
    watcher = ws;
    let error = null; // the server's reason; the close code says what it means
    ws.onopen = () => { watchAttempts = 0; };
    ws.onclose = (event) => {
      if (ws !== watcher) return; // this page closed it
      if (event.code === 1012 || error === null) {
        // The server restarts (1012), its message bus lost live messages
        // (1012, with a reason), or the connection dropped: watch again,
        // and the stored finals (every one missed meanwhile) come first.
        // Sooner the first time, then backing off while it stays away.
        const delay = watchAttempts === 0 ? 500
          : Math.min(8000, 1000 * 2 ** Math.min(watchAttempts - 1, 3));
        watchAttempts++;
        setTimeout(() => { if (ws === watcher) watch(); }, delay);
        return;
      }
      // The transcript is gone (deleted elsewhere): say so, and offer
      // nothing that would need it.
      clearTimeout(quiet);
      stateText.textContent = `Stopped: ${error}`;
      root.dataset.state = 'failed';
      record.disabled = true;
      uploadButton.disabled = true;
      exports.hidden = true;  // the server has nothing left to export
      empty.textContent = 'This transcript no longer exists.';
    };
    ws.onmessage = (event) => {
      const msg = JSON.parse(event.data);
      const edited = msg.type === 'event' &&
        ['segment_updated', 'speakers_named'].includes(msg.payload.type);
      if (msg.type === 'status' || (recorder && !edited)) return;
      if (msg.type === 'error') {
        error = msg.payload;
        return;
      }
      // Stored finals (with an id) fill in what the page may have missed
      // while it loaded; everything else is someone recording right now.
      const stored = msg.type === 'transcript_segment' && msg.payload.id !== undefined;
      const relabel = msg.type === 'event' && msg.payload.type === 'speakers_updated';
      if (!stored && !relabel && !edited && !uploading &&
          (msg.type === 'transcript_segment' || msg.type === 'event')) {
        // Read-only while someone else records into this transcript.
        stateText.textContent = STATES.watching;
        root.dataset.state = 'watching';
        record.disabled = true;
        record.title = 'Someone is recording this transcript right now';
        uploadButton.disabled = true; // its words would land among theirs
        uploadButton.title = record.title;
        // Back to idle once the other recording has been quiet a while.
        clearTimeout(quiet);
        quiet = setTimeout(() => {
          if (recorder) return;
          stateText.textContent = STATES.idle;
          root.dataset.state = 'idle';
          record.disabled = Boolean(unsupported);
          record.removeAttribute('title');
          uploadButton.disabled = false;
          uploadButton.removeAttribute('title');
          player.refresh(); // what they said is kept too
          interim = null;
          render();
        }, 15000);
      }
      onMessage(msg);
    };
  }

  function unwatch() {
    if (watcher) watcher.close();
    watcher = null;
  }

  setShortcuts([
    { key: 'r', label: 'Record, or stop recording',
      run: () => { if (!record.disabled) record.click(); } },
    { key: ' ', name: 'Space', label: 'Play or pause the recording',
      run: () => { if (player.available) player.toggle(); } },
    { key: '/', label: 'Search all transcripts', run: () => navigate('/?search') },
    { key: 'f', label: 'Find in this transcript', run: () => findBox.focus() },
  ]);

  // A recording dropped anywhere on the page is uploaded into it, as the
  // Upload button would (not while that is disabled); one dropped on the
  // list came here with its new transcript.
  const undrop = dropTarget(root, upload, () => !uploadButton.disabled);
  const handed = takeHandedOver(id);
  if (handed) upload(handed);

  // Opened at a time (a search result's ?at=): that segment in view and
  // marked, and the audio playing from there.
  const params = new URLSearchParams(location.search);
  const at = params.has('at') ? Number(params.get('at')) : null;
  if (at !== null) follow = false;
  render();
  watch();
  player.refresh().then(() => {
    render(); // the segments' titles say what a click does
    if (at === null || Number.isNaN(at)) return;
    const hit = [...turns.querySelectorAll('.segment')]
      .find((el) => at >= Number(el.dataset.start) - 0.01 && at <= Number(el.dataset.end));
    if (hit) {
      hit.classList.add('found');
      hit.scrollIntoView({ block: 'center' });
    }
    player.playFrom(at);
  });
  return {
    leave() {
      undrop();
      clearTimeout(quiet);
      unwatch();
      if (recorder) recorder.stop();
      clearInterval(tick);
    },
  };
}
