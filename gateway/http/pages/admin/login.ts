import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import type { AdminKit } from './kit';
import { errorPage, localBack, readForm } from './kit';
import { esc, layout, sendPage, setFlash, takeFlash, type Flash } from './layout';
import { CSRF_FIELD, csrfValid, LOGIN_COOKIE, matchAdminKey, sameSecret, SESSION_COOKIE } from './session';

/** Sign-in with an admin key (throttled like every key check), and sign-out. */

function loginForm(ctx: Context, kit: AdminKit, next: string, flash: Flash | null, status = 200): void {
  const token = randomBytes(24).toString('base64url');
  kit.sessions.setCookie(ctx, LOGIN_COOKIE, token, 3600);
  sendPage(
    ctx,
    layout({
      title: 'Вход',
      flash,
      body: `<form method="post" action="/admin/login" class="card narrow" id="login">
<input type="hidden" name="_login" value="${esc(token)}"><input type="hidden" name="next" value="${esc(next)}">
<label for="key">Ключ администратора</label>
<input id="key" name="key" type="password" autocomplete="current-password" required maxlength="512" autofocus>
<button type="submit">Войти</button>
<p class="muted">Ключ — один из <code>admin.keys</code> в конфигурации шлюза.</p>
</form>`,
    }),
    status,
  );
}

export function loginPages(kit: AdminKit): void {
  const { api, d, sessions } = kit;

  api.route(
    {
      method: 'get',
      path: '/admin/login',
      summary: 'Sign-in form',
      tag: 'admin pages',
      auth: 'none',
      hidden: true,
      responses: { 200: { description: 'HTML' } },
    },
    async (ctx) => {
      const next = localBack(String(ctx.query.next ?? ''), '/admin');
      if (await sessions.load(ctx)) {
        ctx.status = 303;
        return ctx.redirect(next);
      }
      loginForm(ctx, kit, next, takeFlash(ctx, sessions));
    },
  );

  api.route(
    {
      method: 'post',
      path: '/admin/login',
      summary: 'Sign in with an admin key',
      tag: 'admin pages',
      auth: 'none',
      hidden: true,
      responses: { 303: { description: 'Signed in' } },
    },
    async (ctx) => {
      const form = await readForm(ctx);
      const next = localBack(form.get('next'), '/admin');
      const wait = d.authThrottle.retryAfterSeconds(ctx.ip);
      if (wait > 0) {
        ctx.set('Retry-After', String(wait));
        return loginForm(
          ctx,
          kit,
          next,
          { kind: 'error', text: `Слишком много неудачных попыток входа. Попробуйте через ${wait} с.` },
          429,
        );
      }
      const issued = ctx.cookies.get(LOGIN_COOKIE);
      const sent = form.get('_login');
      if (!issued || !sent || !sameSecret(issued, sent))
        return loginForm(ctx, kit, next, { kind: 'error', text: 'Форма входа устарела: введите ключ ещё раз.' }, 403);
      const keyId = matchAdminKey(d.config.admin.keys, form.get('key') ?? '');
      if (!keyId) {
        d.authThrottle.failed(ctx.ip);
        ctx.state.log.warn({ ip: ctx.ip }, 'admin sign-in with a wrong key');
        return loginForm(ctx, kit, next, { kind: 'error', text: 'Неверный ключ администратора.' }, 401);
      }
      await sessions.create(ctx, keyId);
      sessions.clearCookie(ctx, LOGIN_COOKIE);
      ctx.state.log.info({ keyId }, 'admin signed in');
      ctx.status = 303;
      ctx.redirect(next);
    },
  );

  api.route(
    {
      method: 'post',
      path: '/admin/logout',
      summary: 'Sign out: the session is deleted',
      tag: 'admin pages',
      auth: 'none',
      hidden: true,
      responses: { 303: { description: 'Signed out' } },
    },
    async (ctx) => {
      const s = await sessions.load(ctx);
      const form = await readForm(ctx);
      if (s && csrfValid(s, form.get(CSRF_FIELD))) {
        await sessions.destroy(ctx, s);
        ctx.state.log.info({ keyId: s.keyId }, 'admin signed out');
        setFlash(ctx, sessions, { kind: 'ok', text: 'Вы вышли.' });
      } else if (s) {
        return errorPage(ctx, 403, 'Форма устарела', 'Форма пришла без действительного ключа защиты (CSRF): сеанс не закрыт.', s);
      } else {
        sessions.clearCookie(ctx, SESSION_COOKIE);
      }
      ctx.status = 303;
      ctx.redirect('/admin/login');
    },
  );
}
