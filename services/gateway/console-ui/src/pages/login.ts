// Log in with the gateway's token (the same as gRPC's). The server answers with an HttpOnly
// session cookie; the token itself is never stored by the page.
import { api } from '../api.js';
import { h, replace } from '../dom.js';
import type { PageContext } from '../main.js';
import { errorBox } from '../ui.js';

export function loginPage(ctx: PageContext, loggedIn: () => Promise<void>): void {
  const token = h('input', { type: 'password', name: 'token', id: 'token', autocomplete: 'current-password', required: true, 'data-test': 'login-token' });
  const message = h('div');
  const submit = h('button', { type: 'submit', 'data-test': 'login-submit' }, 'Log in');
  const form = h(
    'form',
    { class: 'card login', 'data-test': 'login-form' },
    h('h1', null, 'Strata console'),
    h('p', null, 'This gateway needs its token. Log in with the token the gRPC clients use.'),
    h('label', { for: 'token' }, 'Token'),
    token,
    submit,
    message,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    replace(message);
    try {
      await api.login(token.value);
      token.value = '';
      await loggedIn();
    } catch (error) {
      replace(message, errorBox(error));
    } finally {
      submit.disabled = false;
    }
  });
  replace(ctx.root, form);
  token.focus();
}
