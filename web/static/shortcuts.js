// shortcuts.js - keys that work anywhere on a page except while typing:
// each page sets its own (setShortcuts), "?" lists them in a dialog.
import { h } from './api.js';

let current = [];   // [{ key, label, run }]
let dialog = null;

// keys: [{ key: ' ', name: 'Space', label: 'Play or pause', run }]
export function setShortcuts(keys) {
  current = keys;
}

function typing(target) {
  return target.closest('input, textarea, select, [contenteditable], audio, button') !== null;
}

function showHelp() {
  if (dialog) dialog.remove();
  const rows = [...current, { name: '?', label: 'This list' }].map((k) =>
    h('tr', {}, h('th', {}, h('kbd', {}, k.name || k.key)), h('td', {}, k.label)));
  dialog = h('dialog', { class: 'shortcuts', 'aria-label': 'Keyboard shortcuts' },
    h('h2', {}, 'Keyboard shortcuts'), h('table', {}, ...rows),
    h('form', { method: 'dialog' }, h('button', { type: 'submit' }, 'Close')));
  document.body.append(dialog);
  dialog.addEventListener('close', () => { dialog.remove(); dialog = null; });
  dialog.showModal();
}

document.addEventListener('keydown', (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
  if (dialog) return; // the dialog has the keys (Escape closes it)
  if (e.key === '?') {
    e.preventDefault();
    showHelp();
    return;
  }
  // Space on a button presses it, as the browser does; elsewhere it is ours.
  if (typing(e.target)) return;
  const k = current.find((s) => s.key === e.key);
  if (k) {
    e.preventDefault();
    k.run();
  }
});
