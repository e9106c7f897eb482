// api.js - the REST API of the server this page came from.

// The answer's JSON, and the response for its headers.
async function send(method, path, body, headers = {}) {
  const options = { method, headers };
  if (body !== undefined) {
    options.headers['Content-Type'] = 'application/json';
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  if (response.status === 204) return { data: null, response };
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const detail = data && data.detail;
    const message = Array.isArray(detail)
      ? detail.map((d) => d.msg).join('; ')
      : detail || `HTTP ${response.status}`;
    const error = new Error(message);
    error.status = response.status;
    // The server wants a key and this page has none (or its session
    // ended): the app asks for one (app.js).
    if (response.status === 401) window.dispatchEvent(new Event('verbatim:signin'));
    throw error;
  }
  return { data, response };
}

async function request(method, path, body, headers) {
  return (await send(method, path, body, headers)).data;
}

export const PAGE = 50;

export const api = {
  session: () => request('GET', '/api/session'),
  // The key goes to the server once; the page keeps only the HttpOnly
  // session cookie the answer sets, which its scripts cannot read.
  signIn: (key) => request('POST', '/api/session', undefined,
                           { Authorization: `Token ${key}` }),
  signOut: () => request('DELETE', '/api/session'),
  // A page of the list, newest first, and how many there are in all.
  list: async (offset = 0) => {
    const { data, response } = await send(
      'GET', `/api/transcriptions/?summary=true&limit=${PAGE}&offset=${offset}`);
    return { items: data, total: Number(response.headers.get('X-Total-Count')) };
  },
  create: (title) => request('POST', '/api/transcriptions/', { title }),
  get: (id) => request('GET', `/api/transcriptions/${id}/`),
  rename: (id, title) => request('PATCH', `/api/transcriptions/${id}/`, { title }),
  remove: (id) => request('DELETE', `/api/transcriptions/${id}/`),
  segments: (id) => request('GET', `/api/transcriptions/${id}/segments/?words=true`),
  search: (q, limit = 20) =>
    request('GET', `/api/search?q=${encodeURIComponent(q)}&limit=${limit}`),
  editSegment: (id, segmentId, changes) =>
    request('PATCH', `/api/transcriptions/${id}/segments/${segmentId}/`, changes),
  keepAudio: (id) => request('GET', `/api/transcriptions/${id}/keep-audio/`),
  correct: (id, segmentId, text) =>
    request('PATCH', `/api/transcriptions/${id}/segments/${segmentId}/`, { text }),
  speakers: (id) => request('GET', `/api/transcriptions/${id}/speakers/`),
  nameSpeaker: (id, label, name) =>
    request('PATCH', `/api/transcriptions/${id}/speakers/`, { [label]: name || null }),
  vocabulary: (id) => request('GET', `/api/transcriptions/${id}/vocabulary/`),
  setVocabulary: (id, keywords) =>
    request('PUT', `/api/transcriptions/${id}/vocabulary/`, { keywords }),
  exportUrl: (id, format) => `/api/transcriptions/${id}/export.${format}`,
};

export function socketUrl(path) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${path}`;
}

// "1:05" or "1:02:05"
export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

// Builds an element: h('p', {class: 'x'}, 'text', child...)
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false)
      el.append(child instanceof Node ? child : String(child));
  }
  return el;
}
