import type { Context } from 'koa';
import type { RouterContext } from '@koa/router';
import { AppError } from '../../../errors';
import type { ApiRouter } from '../../api';
import type { HttpDeps } from '../../deps';
import { readBody } from '../../middleware';
import { esc, layout, sendPage, setFlash, takeFlash, type Flash } from './layout';
import { CSRF_FIELD, csrfValid, type AdminSession, type AdminSessions } from './session';

/** How each /admin page file registers itself: a view needs a session, an action also its CSRF token. */
export interface AdminKit {
  api: ApiRouter;
  d: HttpDeps;
  sessions: AdminSessions;
  view(path: string, summary: string, render: (ctx: RouterContext, s: AdminSession, flash: Flash | null) => Promise<void>): void;
  /** A POST: the form's fields in; where to go back to and what to say there out. An AppError becomes the message. */
  action(path: string, summary: string, run: (ctx: RouterContext, s: AdminSession, form: URLSearchParams) => Promise<ActionResult>): void;
}

export interface ActionResult {
  back: string;
  flash: Flash;
}

/** Only a path of the admin pages may be returned to (no open redirect). */
export function localBack(v: string | null | undefined, fallback: string): string {
  return v && /^\/admin(\/|\?|$)/.test(v) && !v.includes('//') && !/[\r\n\\]/.test(v) ? v : fallback;
}

export async function readForm(ctx: Context): Promise<URLSearchParams> {
  const type = ctx.get('content-type');
  if (type && !/^application\/x-www-form-urlencoded\b/i.test(type)) return new URLSearchParams();
  return new URLSearchParams((await readBody(ctx, 64 * 1024)).toString('utf8'));
}

export function errorPage(ctx: Context, status: number, title: string, text: string, session?: AdminSession): void {
  sendPage(
    ctx,
    layout({ title, session, body: `<p class="flash error" role="alert">${esc(text)}</p><p><a href="/admin">На главную</a></p>` }),
    status,
  );
}

/** What support reads when an action is refused: the API's message, in Russian where we know the case. */
export function explain(e: AppError): string {
  const known: Record<string, string> = {
    job_not_dead: 'Задание уже не мёртвое: повторять нечего.',
    not_in_review: 'Эта позиция уже не на разборе.',
    not_found: 'Не найдено.',
    unknown_invoice: 'Такого счёта нет.',
    invoice_not_open: 'Счёт уже не ждёт оплаты.',
    duplicate_invoice: 'Один счёт назван дважды.',
    nothing_left: 'Суммы строки не хватает на все названные счета.',
    invoices_required: 'Назовите хотя бы один счёт.',
    order_required: 'Назовите заказ.',
    note_required: 'Напишите, почему позиция закрывается.',
    organization_mismatch: 'Заказ другой организации.',
    receipt_invalid: 'Чек всё ещё нельзя пробить в таком виде: исправьте данные.',
    receipt_in_progress: 'Чек уже отправлен в кассу.',
  };
  // what exactly (the invoice's number, the job's state) stays in the API's words beside it
  return known[e.code] ? `${known[e.code]} (${e.message})` : `Не выполнено: ${e.message}`;
}

export function makeKit(api: ApiRouter, d: HttpDeps, sessions: AdminSessions): AdminKit {
  return {
    api,
    d,
    sessions,
    view(path, summary, render) {
      api.route(
        { method: 'get', path, summary, tag: 'admin pages', auth: 'none', hidden: true, responses: { 200: { description: 'HTML' } } },
        async (ctx) => {
          const s = await sessions.load(ctx);
          if (!s) {
            ctx.status = 303;
            ctx.redirect(`/admin/login?next=${encodeURIComponent(ctx.originalUrl)}`);
            return;
          }
          try {
            await render(ctx, s, takeFlash(ctx, sessions));
          } catch (e) {
            if (!(e instanceof AppError) || e.status >= 500) throw e;
            errorPage(ctx, e.status, e.status === 404 ? 'Не найдено' : 'Ошибка', explain(e), s);
          }
        },
      );
    },
    action(path, summary, run) {
      api.route(
        {
          method: 'post',
          path,
          summary,
          tag: 'admin pages',
          auth: 'none',
          hidden: true,
          responses: { 303: { description: 'Back, with a message' } },
        },
        async (ctx) => {
          const s = await sessions.load(ctx);
          if (!s) return errorPage(ctx, 403, 'Нет входа', 'Сеанс закончился или не начинался: войдите снова. Ничего не изменено.');
          const form = await readForm(ctx);
          if (!csrfValid(s, form.get(CSRF_FIELD)))
            return errorPage(
              ctx,
              403,
              'Форма устарела',
              'Форма пришла без действительного ключа защиты (CSRF). Ничего не изменено: откройте страницу заново.',
              s,
            );
          let result: ActionResult;
          try {
            result = await run(ctx, s, form);
          } catch (e) {
            if (!(e instanceof AppError) || e.status >= 500) throw e;
            result = { back: localBack(form.get('back'), '/admin'), flash: { kind: 'error', text: explain(e) } };
          }
          setFlash(ctx, sessions, result.flash);
          ctx.status = 303;
          ctx.redirect(result.back);
        },
      );
    },
  };
}
