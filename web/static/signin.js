// signin.js - the sign-in page, shown when the server requires API keys
// and this browser has no session: a key in, a session cookie out.
import { api, h } from './api.js';

export function showSignIn(root, done) {
  const key = h('input', { id: 'api-key', type: 'password', required: true,
                           autocomplete: 'current-password', spellcheck: 'false',
                           placeholder: 'vb_…' });
  const message = h('p', { class: 'message', role: 'alert' });
  const button = h('button', { type: 'submit' }, 'Sign in');
  const form = h('form', { class: 'signin', onsubmit: submit },
    h('label', { for: 'api-key' }, 'API key'), key, button);
  root.append(
    h('h1', {}, 'Sign in'),
    h('p', { class: 'muted' },
      'This server asks for an API key. Its operator makes one with ',
      h('code', {}, 'verbatim keys create'), '. This browser then stays signed ' +
      'in for 12 hours; the key itself is not kept.'),
    form, message);
  key.focus();

  async function submit(event) {
    event.preventDefault();
    button.disabled = true;
    message.textContent = '';
    try {
      await api.signIn(key.value.trim());
      key.value = '';
      done();
    } catch (err) {
      message.textContent = err.status === 401
        ? 'That key is not valid: mistyped, or revoked.'
        : `Could not sign in: ${err.message}`;
      button.disabled = false;
      key.select();
    }
  }
  return null;
}
