// docs.js - a readable API reference, rendered from /api/openapi.json:
// the operations grouped by what they work on, each schema as a table of
// its fields and types, and the two WebSocket conversations with
// examples (the document lists their URLs only).
import { h } from './api.js';

const root = document.getElementById('docs');

const refName = (ref) => ref.split('/').pop();
const schemaLink = (name) => h('a', { href: `#schema-${name}` }, name);

// A schema's type, with links to the named ones.
function typeOf(schema) {
  if (!schema) return [''];
  if (schema.$ref) return [schemaLink(refName(schema.$ref))];
  if (schema.type === 'array') return ['array of ', ...typeOf(schema.items)];
  if (schema.type === 'object' && schema.additionalProperties)
    return ['object: name → ', ...typeOf(schema.additionalProperties)];
  let t = schema.type || 'any';
  if (schema.format) t += ` (${schema.format})`;
  if (schema.enum) t += `: ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}`;
  if (schema.nullable) t += ' or null';
  return [t];
}

function limits(p) {
  const out = [];
  if (p.minimum !== undefined || p.maximum !== undefined)
    out.push(`${p.minimum ?? '…'} to ${p.maximum ?? '…'}`);
  if (p.maxLength !== undefined) out.push(`at most ${p.maxLength} characters`);
  if (p.maxItems !== undefined) out.push(`at most ${p.maxItems} items`);
  if (p.pattern) out.push(`matches ${p.pattern}`);
  if (p.default !== undefined) out.push(`default ${JSON.stringify(p.default)}`);
  return out.join('; ');
}

// A schema as a table of its fields (one level; named ones are linked).
function fieldsTable(schema) {
  const props = schema.properties || {};
  const required = new Set(schema.required || []);
  const rows = Object.entries(props).map(([name, p]) => {
    const target = p.type === 'array' && p.items && p.items.properties ? p.items : null;
    return [
      h('tr', {}, h('td', {}, h('code', {}, name)), h('td', {}, ...typeOf(p)),
        h('td', {}, required.has(name) ? 'yes' : ''),
        h('td', {}, [p.description, limits(p)].filter(Boolean).join('. '))),
      // An array of objects described in place: its items' fields.
      target ? h('tr', { class: 'nested' }, h('td', {}, ''),
                 h('td', { colspan: '3' }, fieldsTable(target))) : null,
    ];
  });
  if (rows.length === 0) return h('p', {}, ...typeOf(schema));
  return h('table', { class: 'fields' },
    h('tr', {}, h('th', {}, 'Field'), h('th', {}, 'Type'), h('th', {}, 'Required'),
      h('th', {}, 'Meaning')), ...rows.flat());
}

function operation(path, method, op) {
  const rows = (op.parameters || []).map((p) =>
    h('tr', {}, h('td', {}, h('code', {}, p.name)), h('td', {}, p.in),
      h('td', {}, ...typeOf(p.schema)),
      h('td', {}, [p.required ? 'required' : '', p.description].filter(Boolean).join('. '))));
  const bodies = op.requestBody ? Object.entries(op.requestBody.content) : [];
  const responses = Object.entries(op.responses).map(([code, r]) => {
    const [type, content] = r.content ? Object.entries(r.content)[0] : ['', null];
    return h('tr', {}, h('td', {}, code), h('td', {}, r.description),
      h('td', {}, ...(content && content.schema && (content.schema.$ref || content.schema.type)
        ? typeOf(content.schema) : [type])));
  });
  // Folded to one line each, so that the page reads as a list of what
  // can be done; opened on a click, or when a link leads into it.
  return h('details', { class: 'op', id: op.operationId },
    h('summary', {}, h('span', { class: `method ${method}` }, method.toUpperCase()), ' ',
      h('code', { class: 'path' }, path), ' ', h('span', { class: 'muted' }, op.summary)),
    op['x-verbatim-scope'] ? h('p', { class: 'muted' },
      `With keys required: a key of scope ${op['x-verbatim-scope']} or more.`) : null,
    rows.length ? h('table', {}, h('tr', {}, h('th', {}, 'Parameter'), h('th', {}, 'In'),
      h('th', {}, 'Type'), h('th', {}, 'Meaning')), ...rows) : null,
    ...bodies.map(([type, c]) => h('p', {}, h('strong', {}, 'Body '), h('code', {}, type), ': ',
      ...typeOf(c.schema), c.schema.description ? ` (${c.schema.description})` : '')),
    h('table', {}, h('tr', {}, h('th', {}, 'Status'), h('th', {}, 'Meaning'),
      h('th', {}, 'Returns')), ...responses));
}

// What happens on the two sockets, with the messages as they look.
const example = (value) => h('pre', {}, JSON.stringify(value, null, 2));
function sockets() {
  return [
    h('h2', { id: 'websockets' }, 'WebSockets'),
    h('section', { class: 'op' },
      h('h3', {}, h('span', { class: 'method get' }, 'WS'), ' /ws/transcribe/{transcription_id}'),
      h('p', {}, 'Streams one audio source into a transcription. The query takes the ' +
        'same options as an upload (punctuate, diarize, smart_format, keywords, encoding, ' +
        'sample_rate, channels, min_speakers, max_speakers) and resume=TOKEN to take ' +
        'over a dropped session.'),
      h('p', {}, h('strong', {}, 'The client sends'), ' audio as binary messages, cut ' +
        'anywhere: WebM or Ogg with Opus (what MediaRecorder makes), WAV, or raw ' +
        '16-bit mono PCM at 16 kHz; and these text messages:'),
      example({ type: 'Finalize' }),
      h('p', {}, 'ends the current utterance now; ', h('code', {}, '{"type": "KeepAlive"}'),
        ' keeps an idle socket open; ', h('code', {}, '{"type": "CloseStream"}'),
        ' sends the last finals and closes with 1000.'),
      h('p', {}, h('strong', {}, 'The server sends'), ' first, once it is ready:'),
      example({ type: 'status', payload: 'Ready: transcribing into "Weekly sync"',
                time_offset: 12.5, resume_token: '3f9c0d…' }),
      h('p', {}, 'then interim results while someone speaks, growing as words come:'),
      example({ type: 'transcript_segment', payload: { text: 'please open', is_final: false,
                speech_final: false, speaker: 'speaker_0', start: 13.02, end: 13.9 } }),
      h('p', {}, 'and the final, stored before it is sent (speech_final: the speaker ' +
        'paused), with its words:'),
      example({ type: 'transcript_segment', payload: { text: 'Please open the window.',
                is_final: true, speech_final: true, speaker: 'speaker_0', start: 13.02,
                end: 14.6, words: [{ word: 'please', start: 13.02, end: 13.31,
                                     confidence: 0.97 }, '…'] } }),
      h('p', {}, 'events when speech starts, when an utterance has ended, and when ' +
        'speakers were relabelled at the end of a session:'),
      example({ type: 'event', payload: { type: 'utterance_end', end: 15.1 } }),
      example({ type: 'event', payload: { type: 'speakers_updated',
                segments: [{ id: 12, speaker: 'speaker_1' }] } }),
      h('p', {}, 'and, before closing on an error, a sentence saying why:'),
      example({ type: 'error', payload: 'Transcription 99 not found' }),
      h('table', {}, h('tr', {}, h('th', {}, 'Close code'), h('th', {}, 'When')),
        ...[[1000, 'after CloseStream, once the last finals are sent'],
            [1003, 'audio or options the server cannot take (the error says which)'],
            [1008, 'idle for --idle-timeout, or not reading what is sent'],
            [1009, 'a message over --max-frame'],
            [1011, "the server's own fault, or it is shutting down"],
            [1013, 'the server is full or behind: try again later'],
            [4001, 'a malformed id'], [4004, 'no such transcription, or it was deleted'],
            [4409, 'another live session holds the transcription']]
          .map(([c, w]) => h('tr', {}, h('td', {}, String(c)), h('td', {}, w))))),
    h('section', { class: 'op' },
      h('h3', {}, h('span', { class: 'method get' }, 'WS'), ' /ws/watch/{transcription_id}'),
      h('p', {}, 'Read-only: the status, then every stored final (with its "id"), then ' +
        'whatever a live session or an upload on the transcription sends, as it ' +
        'happens. Each final comes once.'),
      example({ type: 'status', payload: 'Watching "Weekly sync"' })),
  ];
}

async function main() {
  const doc = await (await fetch('/api/openapi.json')).json();
  // Operations grouped by what they work on (the path's first words).
  const groups = new Map();
  for (const [path, item] of Object.entries(doc.paths)) {
    if (path.startsWith('/ws/')) continue; // described below, with examples
    const key = path.replace(/^\/api\//, '').split('/').slice(0, 3)
      .filter((p) => !p.startsWith('{')).join(' ') || 'general';
    for (const [method, op] of Object.entries(item)) {
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(operation(path, method, op));
    }
  }
  const toc = h('nav', { class: 'toc', 'aria-label': 'Contents' },
    h('ul', {}, ...[...groups.keys()].map((k) => h('li', {}, h('a', { href: `#group-${k}` }, k))),
      h('li', {}, h('a', { href: '#websockets' }, 'WebSockets')),
      h('li', {}, h('a', { href: '#schemas' }, 'Schemas'))));
  const parts = [h('h1', {}, `${doc.info.title} API `, h('small', { class: 'muted' }, doc.info.version)),
                 h('p', {}, doc.info.description), toc];
  for (const [key, ops] of groups)
    parts.push(h('h2', { id: `group-${key}` }, key), ...ops);
  parts.push(...sockets());
  parts.push(h('h2', { id: 'schemas' }, 'Schemas'));
  for (const [name, schema] of Object.entries(doc.components.schemas))
    parts.push(h('details', { class: 'op', id: `schema-${name}` },
      h('summary', {}, h('code', {}, name),
        schema.description ? h('span', { class: 'muted' }, ` ${schema.description}`) : null),
      fieldsTable(schema)));
  root.replaceChildren(...parts);
  openTarget();
}

// The part a link (#id) leads to is opened and shown.
function openTarget() {
  const target = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
  if (!target) return;
  for (let el = target; el; el = el.parentElement)
    if (el.tagName === 'DETAILS') el.open = true;
  target.scrollIntoView();
}
window.addEventListener('hashchange', openTarget);

main().catch((err) => {
  root.replaceChildren(h('p', { class: 'error', role: 'alert' },
                         `Could not load the API description: ${err.message}`));
});
