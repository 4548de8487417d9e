import type { Context } from 'koa';
import { formatRub } from '../../../domain/money';
import { esc } from '../pay-page';
import { CSRF_FIELD, FLASH_COOKIE, type AdminSession, type AdminSessions } from './session';

/** What every /admin page shares: the frame, the menu, the flash message, formatting in Russian. */

export { esc };

/** No inline script or style anywhere: the CSS, the script and the chart library are files the gateway serves. */
export const ADMIN_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'";

export const rub = (kopecks: number | null | undefined): string =>
  kopecks === null || kopecks === undefined ? '—' : formatRub(Number(kopecks));

const DATE_TIME = new Intl.DateTimeFormat('ru-RU', {
  timeZone: 'Europe/Moscow',
  day: '2-digit',
  month: '2-digit',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

/** «04.12.2026, 15:30:12» in Moscow time; a dash for nothing. */
export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  return Number.isFinite(t) ? DATE_TIME.format(new Date(t)) : iso;
}

/** YYYY-MM-DD of a moment in Moscow (UTC+3 all year). */
export function moscowDay(ms: number): string {
  return new Date(ms + 3 * 3_600_000).toISOString().slice(0, 10);
}

/** The start of a Moscow day (YYYY-MM-DD) as an ISO instant. */
export function moscowDayStart(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00.000Z`) - 3 * 3_600_000).toISOString();
}

export const PAYMENT_STATUS_RU: Record<string, string> = {
  pending: 'ожидает',
  paid: 'оплачен',
  declined: 'отклонён',
  expired: 'истёк',
  cancelled: 'отменён',
  refunded: 'возвращён',
  partially_refunded: 'частично возвращён',
};

export const METHOD_RU: Record<string, string> = { card: 'Карта', sbp: 'СБП', invoice: 'Счёт (перевод)' };

export const ONEC_STATUS_RU: Record<string, string> = {
  not_configured: 'без 1С',
  pending: 'ждёт записи',
  waiting_for_order: 'ждёт заказ в 1С',
  delivered: 'записан',
  failed: 'ошибка',
  skipped: 'не нужен',
};

export const JOB_STATUS_RU: Record<string, string> = {
  pending: 'ждёт',
  queued: 'в очереди',
  running: 'выполняется',
  done: 'выполнено',
  dead: 'мёртвое',
};

export const RECEIPT_STATUS_RU: Record<string, string> = {
  pending: 'ждёт отправки',
  sent: 'в кассе',
  done: 'пробит',
  failed: 'ошибка',
};

export const RECEIPT_KIND_RU: Record<string, string> = {
  prepayment: 'предоплата',
  settlement: 'зачёт предоплаты',
  full: 'полный расчёт',
  credit: 'передача в кредит',
  credit_payment: 'оплата кредита',
  refund: 'возврат',
  registrar: 'от сайта или 1С',
};
export const RECEIPT_OPERATION_RU: Record<string, string> = {
  sell: 'приход',
  sell_refund: 'возврат прихода',
  buy: 'расход',
  buy_refund: 'возврат расхода',
  sell_correction: 'коррекция прихода',
};

export const ru = (map: Record<string, string>, v: string | null | undefined) => esc(v ? (map[v] ?? v) : '—');

export interface Flash {
  kind: 'ok' | 'error';
  text: string;
}

/** A message for the next page the browser opens (after an action's redirect). */
export function setFlash(ctx: Context, sessions: AdminSessions, flash: Flash): void {
  sessions.setCookie(ctx, FLASH_COOKIE, Buffer.from(JSON.stringify(flash)).toString('base64url'), 60);
}

export function takeFlash(ctx: Context, sessions: AdminSessions): Flash | null {
  const raw = ctx.cookies.get(FLASH_COOKIE);
  if (!raw) return null;
  sessions.clearCookie(ctx, FLASH_COOKIE);
  try {
    const f = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Flash;
    return (f.kind === 'ok' || f.kind === 'error') && typeof f.text === 'string' ? { kind: f.kind, text: f.text.slice(0, 500) } : null;
  } catch {
    return null;
  }
}

export const csrfField = (s: AdminSession) => `<input type="hidden" name="${CSRF_FIELD}" value="${esc(s.csrf)}">`;

/** A one-button form that posts an action with the session's token. */
export function actionButton(s: AdminSession, action: string, label: string, extra = ''): string {
  return `<form class="inline" method="post" action="${esc(action)}">${csrfField(s)}${extra}<button type="submit">${esc(label)}</button></form>`;
}

const MENU: [string, string][] = [
  ['/admin', 'Обзор'],
  ['/admin/payments', 'Платежи'],
  ['/admin/jobs', 'Задания'],
  ['/admin/review', 'Разбор'],
  ['/admin/receipts', 'Чеки'],
  ['/admin/reports', 'Отчёты'],
  ['/admin/health', 'Состояние'],
];

export interface Frame {
  title: string;
  /** The menu entry to highlight. */
  active?: string;
  session?: AdminSession;
  flash?: Flash | null;
  body: string;
  /** The chart library is loaded only on pages that draw. */
  charts?: boolean;
}

export function layout(f: Frame): string {
  const nav = f.session
    ? `<header class="top"><a class="brand" href="/admin">Шлюз 1С · администрирование</a>
<nav aria-label="Разделы">${MENU.map(([href, label]) => `<a href="${href}"${f.active === href ? ' aria-current="page"' : ''}>${label}</a>`).join('')}</nav>
<form method="post" action="/admin/logout" class="logout">${csrfField(f.session)}<button type="submit" id="logout">Выйти</button></form></header>`
    : '';
  const flash = f.flash
    ? `<div class="flash ${f.flash.kind}" role="${f.flash.kind === 'error' ? 'alert' : 'status'}">${esc(f.flash.text)}</div>`
    : '';
  return `<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(f.title)} — шлюз 1С</title>
${f.charts ? '<link rel="stylesheet" href="/admin/assets/uPlot.min.css">' : ''}
<link rel="stylesheet" href="/admin/assets/admin.css"></head>
<body>${nav}<main>
<h1>${esc(f.title)}</h1>
${flash}
${f.body}
</main>
${f.charts ? '<script src="/admin/assets/uPlot.iife.min.js"></script>' : ''}
<script src="/admin/assets/admin.js"></script>
</body></html>`;
}

/** A JSON island for the page's script (never executed: the CSP does not need to allow it). */
export function dataIsland(id: string, value: unknown): string {
  return `<script type="application/json" id="${esc(id)}">${JSON.stringify(value).replace(/</g, '\\u003c')}</script>`;
}

/** Sends an /admin page with its security headers. */
export function sendPage(ctx: Context, html: string, status = 200): void {
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Content-Security-Policy', ADMIN_CSP);
  ctx.set('X-Frame-Options', 'DENY');
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('Referrer-Policy', 'same-origin');
  ctx.body = html;
}

export function table(head: string[], rows: string[][], empty = 'Ничего нет.'): string {
  if (rows.length === 0) return `<p class="muted">${esc(empty)}</p>`;
  return `<div class="scroll"><table><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table></div>`;
}
