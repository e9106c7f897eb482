// app.js - the page router: "/" lists transcripts, "/t/{id}" shows one.
import { api, h } from './api.js';
import { showList } from './list.js';
import { showSignIn } from './signin.js';
import { setShortcuts } from './shortcuts.js';
import { showTranscript } from './transcript.js';

const app = document.getElementById('app');
const nav = document.querySelector('.topbar nav');
let current = null; // the view on screen, with an optional leave()
let signingIn = false;

// A sign-out button while this browser holds a session.
function showAccount(session) {
  const old = nav.querySelector('.account');
  if (old) old.remove();
  if (session.via !== 'session') return;
  nav.append(h('span', { class: 'account' },
    h('span', { class: 'muted' }, session.key),
    h('button', { type: 'button', onclick: signOut }, 'Sign out')));
}

async function signOut() {
  await api.signOut().catch(() => {});
  route();
}

function askForKey() {
  if (signingIn) return;
  signingIn = true;
  if (current && current.leave) current.leave();
  current = null;
  showAccount({});
  app.replaceChildren();
  showSignIn(app, () => { signingIn = false; route(); });
}
window.addEventListener('verbatim:signin', askForKey);

export function navigate(path) {
  history.pushState(null, '', path);
  route();
}

async function route() {
  if (current && current.leave) current.leave();
  current = null;
  setShortcuts([]); // each page sets its own
  app.replaceChildren();
  const match = location.pathname.match(/^\/t\/(\d+)\/?$/);
  try {
    const session = await api.session();
    if (session.auth === 'required' && !session.signed_in) {
      askForKey();
      return;
    }
    showAccount(session);
    current = match ? await showTranscript(app, Number(match[1]), navigate)
                    : await showList(app, navigate);
  } catch (err) {
    if (err.status === 401) return; // askForKey() has taken the page
    app.replaceChildren();
    if (err.status === 404 && match) {
      const back = document.createElement('a');
      back.href = '/';
      back.textContent = '← All transcripts';
      const h1 = document.createElement('h1');
      h1.textContent = 'Transcript not found';
      const p = document.createElement('p');
      p.textContent = `There is no transcript ${match[1]}: it may have been deleted.`;
      app.append(h1, p, back);
      return;
    }
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
    navigate(url.pathname + url.search); // ?at= opens a transcript at a time
  }
});
window.addEventListener('popstate', route);
route();
