// vocabulary.js - the words a transcript's recordings and uploads are
// taught: names, products and jargon the recogniser would not know.
// One per line, as "Zentrix" or "Zentrix:2" (a boost, -10 to 10).
import { api, h } from './api.js';

const asText = (keywords) =>
  keywords.map((k) => (k.boost === 1 ? k.word : `${k.word}:${k.boost}`)).join('\n');

export function vocabularyPanel(id) {
  const count = h('span', { class: 'count' });
  const box = h('textarea', {
    id: 'vocabulary-words', rows: '4', spellcheck: 'false', autocomplete: 'off',
    placeholder: 'Zentrix\nO\'Brien:2', 'aria-describedby': 'vocabulary-help' });
  const status = h('p', { class: 'vocabulary-status', role: 'status' });
  const save = h('button', { type: 'button', class: 'save' }, 'Save words');
  const panel = h('details', { class: 'vocabulary' },
    h('summary', {}, 'Vocabulary ', count),
    h('label', { for: 'vocabulary-words' }, 'Words to listen for'),
    h('p', { id: 'vocabulary-help', class: 'muted' },
      'Names, products or jargon, one per line, written as they should appear. ' +
      'Add ":2" to a word to make it more likely to be heard, ":3" for the most.'),
    box, h('div', { class: 'vocabulary-actions' }, save, status));

  function show(keywords) {
    box.value = asText(keywords);
    count.textContent = keywords.length ? `(${keywords.length})` : '';
  }

  save.addEventListener('click', async () => {
    const words = box.value.split(/[\n,]/).map((w) => w.trim()).filter(Boolean);
    save.disabled = true;
    status.className = 'vocabulary-status';
    status.textContent = 'Saving…';
    try {
      const { keywords } = await api.setVocabulary(id, words);
      show(keywords);
      status.textContent = 'Saved. Recordings and uploads started from now on listen for ' +
        'these words.';
    } catch (e) {
      status.className = 'vocabulary-status error';
      status.textContent = `Not saved: ${e.message}`;
    } finally {
      save.disabled = false;
    }
  });

  api.vocabulary(id).then(({ keywords }) => show(keywords)).catch((e) => { status.textContent = `The vocabulary could not be loaded: ${e.message}`; });
  return panel;
}
