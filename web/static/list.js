// list.js - the home page: every transcript, newest first; create, rename,
// delete; search what was said in all of them.
import { PAGE, api, clock, h } from './api.js';
import { setShortcuts } from './shortcuts.js';
import { dropTarget, handOver } from './upload.js';

export async function showList(root, navigate) {
  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
  const title = h('input', { id: 'new-title', type: 'text', maxlength: '255',
                             placeholder: 'Weekly sync', required: true });
  const form = h('form', { class: 'create', onsubmit: create },
    h('label', { for: 'new-title' }, 'New transcript'), title,
    h('button', { type: 'submit' }, 'Create'));
  const list = h('ul', { class: 'transcripts', 'aria-label': 'Transcripts' });
  const query = h('input', { id: 'search', type: 'search', placeholder: 'Words said, or a title',
                             autocomplete: 'off', oninput: () => searchSoon() });
  const found = h('ul', { class: 'results', 'aria-label': 'Search results', hidden: true });
  const foundStatus = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
  const search = h('form', { class: 'search', role: 'search',
                             onsubmit: (e) => { e.preventDefault(); searchNow(); } },
    h('label', { for: 'search' }, 'Search'), query);
  root.append(h('h1', {}, 'Transcripts'), form, search, foundStatus, found, status, list);

  // A recording dropped on the page becomes a new transcript, titled from
  // the file's name, which opens and transcribes it.
  const dropHint = h('p', { class: 'drop-hint' }, 'Or drop a recording here to transcribe it.');
  form.after(dropHint);
  const undrop = dropTarget(root, async (file) => {
    const name = file.name.replace(/\.[^.]+$/, '').replace(/[_-]+/g, ' ').trim() || 'Untitled';
    try {
      const t = await api.create(name.slice(0, 255));
      handOver(t.id, file);
      navigate(`/t/${t.id}`);
    } catch (err) {
      status.textContent = `Could not create a transcript for ${file.name}: ${err.message}`;
    }
  });

  // Results as the words are typed (a quarter second after the last
  // key); each opens its transcript at the time it was said.
  let timer = null;
  let asked = 0;
  function searchSoon() {
    clearTimeout(timer);
    timer = setTimeout(searchNow, 250);
  }
  async function searchNow() {
    clearTimeout(timer);
    const q = query.value.trim();
    const mine = ++asked;
    const searching = q.length > 0;
    list.hidden = searching;
    more.hidden = searching || more.dataset.left === '0';
    found.hidden = !searching;
    if (!searching) {
      foundStatus.textContent = '';
      found.replaceChildren();
      return;
    }
    let answer;
    try {
      answer = await api.search(q);
    } catch (err) {
      if (mine === asked) foundStatus.textContent = `Could not search: ${err.message}`;
      return;
    }
    if (mine !== asked) return; // a newer search is on its way
    foundStatus.textContent = answer.total === 0 ? `Nothing found for "${q}".`
      : `${answer.total} ${answer.total === 1 ? 'result' : 'results'}` +
        (answer.total > answer.results.length ? ` (the first ${answer.results.length})` : '');
    found.replaceChildren(...answer.results.map(resultRow));
  }
  function resultRow(r) {
    const at = r.start_time === null ? '' : `?at=${r.start_time}`;
    const snippet = h('p', { class: 'snippet' });
    snippet.innerHTML = r.snippet_html; // escaped by the server, words in <mark>
    return h('li', { class: 'result' },
      h('a', { href: `/t/${r.transcription_id}${at}`, class: 'title' }, r.title || 'Untitled'),
      h('span', { class: 'at' }, r.start_time === null ? 'title' : clock(r.start_time)),
      snippet);
  }

  async function create(event) {
    event.preventDefault();
    const name = title.value.trim() || 'Untitled';
    try {
      const t = await api.create(name);
      navigate(`/t/${t.id}`);
    } catch (err) {
      status.textContent = `Could not create it: ${err.message}`;
    }
  }

  function row(t) {
    const date = new Date(t.created_at);
    const speakers = t.speaker_count === 1 ? '1 speaker'
                   : t.speaker_count > 1 ? `${t.speaker_count} speakers` : '';
    const name = h('a', { href: `/t/${t.id}`, class: 'title' }, t.title || 'Untitled');
    const item = h('li', { class: 'item', 'data-id': t.id },
      h('div', { class: 'main' }, name,
        h('p', { class: 'preview' }, t.preview || 'Nothing recorded yet.')),
      h('div', { class: 'meta' },
        h('time', { datetime: t.created_at }, date.toLocaleString()),
        h('span', {}, t.duration ? clock(t.duration) : ''),
        h('span', {}, speakers)),
      h('div', { class: 'actions' },
        h('button', { type: 'button', onclick: () => rename(t, item),
                      'aria-label': `Rename ${t.title}` }, 'Rename'),
        h('button', { type: 'button', class: 'danger', onclick: () => remove(t, item),
                      'aria-label': `Delete ${t.title}` }, 'Delete')));
    return item;
  }

  function rename(t, item) {
    const input = h('input', { type: 'text', value: t.title, maxlength: '255',
                               'aria-label': 'New title' });
    const editor = h('form', { class: 'rename', onsubmit: async (event) => {
      event.preventDefault();
      try {
        const updated = await api.rename(t.id, input.value.trim() || t.title);
        item.replaceWith(row(Object.assign(t, { title: updated.title })));
      } catch (err) {
        status.textContent = `Could not rename it: ${err.message}`;
      }
    } }, input, h('button', { type: 'submit' }, 'Save'),
      h('button', { type: 'button', onclick: () => item.replaceWith(row(t)) }, 'Cancel'));
    item.querySelector('.main').replaceWith(editor);
    input.focus();
    input.select();
  }

  async function remove(t, item) {
    if (!confirm(`Delete "${t.title}" and everything said in it? This cannot be undone.`))
      return;
    try {
      await api.remove(t.id);
      item.remove();
      status.textContent = `Deleted "${t.title}".`;
    } catch (err) {
      status.textContent = `Could not delete it: ${err.message}`;
    }
  }

  // Pages of the list, the next on demand: thousands of transcripts do
  // not all load at once.
  const more = h('button', { type: 'button', class: 'more', hidden: true,
                             onclick: () => showPage().catch((err) => {
                               status.textContent = `Could not load more: ${err.message}`;
                             }) });
  root.append(more);
  async function showPage() {
    const shown = list.querySelectorAll('.item').length;
    const { items, total } = await api.list(shown);
    for (const t of items) list.append(row(t));
    const left = total - shown - items.length;
    more.hidden = left <= 0;
    more.dataset.left = String(Math.max(left, 0));
    more.textContent = `Show ${Math.min(left, PAGE)} more (${left} older)`;
    return total;
  }
  if (await showPage() === 0)
    list.append(h('li', { class: 'empty' }, 'No transcripts yet. Create one to start recording.'));
  setShortcuts([
    { key: '/', label: 'Search', run: () => query.focus() },
    { key: 'n', label: 'Name a new transcript', run: () => title.focus() },
  ]);
  if (new URLSearchParams(location.search).has('search')) query.focus();
  else title.focus();
  return { leave: undrop };
}
