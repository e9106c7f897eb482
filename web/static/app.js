// app.js - the page router: "/" lists transcripts, "/t/{id}" shows one.
import { showList } from './list.js';
import { showTranscript } from './transcript.js';

const app = document.getElementById('app');
let current = null; // the view on screen, with an optional leave()

export function navigate(path) {
  history.pushState(null, '', path);
  route();
}

async function route() {
  if (current && current.leave) current.leave();
  current = null;
  app.replaceChildren();
  const match = location.pathname.match(/^\/t\/(\d+)\/?$/);
  try {
    current = match ? await showTranscript(app, Number(match[1]), navigate)
                    : await showList(app, navigate);
  } catch (err) {
    app.replaceChildren();
    const p = document.createElement('p');
    p.className = 'error';
    p.setAttribute('role', 'alert');
    p.textContent = `Could not load this page: ${err.message}`;
    app.append(p);
  }
}

// Links inside the app navigate without reloading.
document.addEventListener('click', (event) => {
  const link = event.target.closest('a');
  if (!link || link.target || link.hasAttribute('download') || event.ctrlKey ||
      event.metaKey || event.shiftKey) return;
  const url = new URL(link.href);
  if (url.origin === location.origin && (url.pathname === '/' || url.pathname.startsWith('/t/'))) {
    event.preventDefault();
    navigate(url.pathname);
  }
});
window.addEventListener('popstate', route);
route();
