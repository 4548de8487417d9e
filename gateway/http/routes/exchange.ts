import { timingSafeEqual, createHash } from 'node:crypto';
import type { Context } from 'koa';
import iconv from 'iconv-lite';
import { CML_VERSIONS, CmlError, type CmlVersion } from '../../../connectors/commerceml/types';
import { importFile } from '../../flows/exchange/import';
import { confirmQuery, queryOrders } from '../../flows/exchange/query';
import {
  basesOf,
  findSession,
  openSession,
  safeFileName,
  sessionDir,
  setSessionVersion,
  type ExchangeBase,
} from '../../flows/exchange/session';
import { appendChunk, looksComplete } from '../../flows/exchange/upload';
import { sessionBaseId } from '../../store/exchange';
import type { ApiRouter } from '../api';
import type { HttpDeps } from '../deps';

/**
 * 1C's standard "Обмен с сайтом" (CommerceML 2, the Bitrix protocol): checkauth → query → success
 * (УТ and УНФ send no init before the query), then checkauth → init → file (chunks) → import. Every answer is text/plain lines; every error is
 * `failure\n<reason in Russian>` with status 200 — never an HTML page, never a redirect.
 */

export const EXCHANGE_PATHS = ['/exchange/1c', '/1c_exchange.php', '/bitrix/admin/1c_exchange.php'];
const COOKIE = 'ONEC_GATEWAY_SESSID';
/** How long `mode=import` waits before answering `progress` (1C calls again). */
const IMPORT_WAIT_MS = 20_000;

const hash = (s: string) => createHash('sha256').update(s).digest();

function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(hash(a), hash(b));
}

function answer(ctx: Context, base: ExchangeBase | undefined, lines: string[]): void {
  const text = lines.join('\n');
  const cp1251 = base?.encoding === 'windows-1251';
  ctx.status = 200;
  ctx.set('Cache-Control', 'no-store');
  ctx.type = `text/plain; charset=${cp1251 ? 'windows-1251' : 'utf-8'}`;
  // ₽ has no windows-1251 code (it would arrive as «?»): amounts are written in «руб.» there
  ctx.body = cp1251 ? iconv.encode(text.replace(/₽/g, 'руб.'), 'win1251') : text;
}

function sessionIdOf(ctx: Context): string | undefined {
  const fromQuery = typeof ctx.query.sessid === 'string' ? ctx.query.sessid : undefined;
  const cookies = ctx.get('cookie');
  const m = new RegExp(`(?:^|;\\s*)${COOKIE}=([^;]+)`).exec(cookies);
  return m?.[1] ?? fromQuery;
}

export function exchangeRoutes(api: ApiRouter, d: HttpDeps): void {
  const bases = basesOf(d.config);
  const handle = async (ctx: Context) => {
    const mode = String(ctx.query.mode ?? '');
    const type = String(ctx.query.type ?? '');
    let base: ExchangeBase | undefined;
    /** Too many failed logins from this address: the failure is answered 429 (and its text says when to try again). */
    let throttled = false;
    try {
      if (type !== 'sale') {
        throw new CmlError(
          type === 'catalog'
            ? 'Шлюз принимает только обмен заказами (type=sale); выгрузку каталога настройте на сайт.'
            : `Неизвестный тип обмена «${type.slice(0, 40)}»: ожидается type=sale.`,
        );
      }
      if (mode === 'checkauth') {
        const wait = d.authThrottle.retryAfterSeconds(ctx.ip);
        if (wait > 0) {
          ctx.set('Retry-After', String(wait));
          throttled = true;
          throw new CmlError(`Слишком много неудачных попыток входа с этого адреса: повторите обмен через ${wait} с.`);
        }
        const m = /^Basic\s+(\S+)\s*$/i.exec(ctx.get('authorization'));
        if (!m)
          throw new CmlError(
            'Не передан логин и пароль (заголовок Authorization: Basic). Если перед сайтом стоит прокси, проверьте, что он передаёт этот заголовок.',
          );
        const decoded = Buffer.from(m[1], 'base64').toString('utf8');
        const sep = decoded.indexOf(':');
        const user = decoded.slice(0, sep);
        const password = decoded.slice(sep + 1);
        base = [...bases.values()].find((b) => sameSecret(b.user, user) && sameSecret(b.password, password));
        if (!base || sep < 0) {
          d.authThrottle.failed(ctx.ip);
          ctx.state.log.warn({ user: user.slice(0, 40) }, 'exchange: wrong credentials');
          throw new CmlError('Неверный логин или пароль обмена с сайтом.');
        }
        const session = await openSession(d, base);
        ctx.set('Set-Cookie', `${COOKIE}=${session.id}; Path=/; HttpOnly`);
        return answer(ctx, base, ['success', COOKIE, session.id, `sessid=${session.id}`, `timestamp=${Math.floor(Date.now() / 1000)}`]);
      }

      const sid = sessionIdOf(ctx);
      const baseId = sid ? await sessionBaseId(d.store.db, sid) : undefined;
      base = baseId ? bases.get(baseId) : undefined;
      const live = base ? await findSession(d, base, sid) : null;
      if (!base || !live) throw new CmlError('Сеанс обмена не найден или устарел: начните обмен заново (mode=checkauth).');

      switch (mode) {
        case 'init': {
          const asked = String(ctx.query.version ?? '');
          const version = (CML_VERSIONS as readonly string[]).includes(asked) ? (asked as CmlVersion) : base.version;
          await setSessionVersion(d, live, version);
          // exactly two lines: УТ and УНФ abort the upload on any other count (no sessid=/version= echo, as Bitrix adds)
          return answer(ctx, base, [`zip=${base.zip ? 'yes' : 'no'}`, `file_limit=${base.fileLimitBytes}`]);
        }
        case 'query': {
          const xml = await queryOrders(d, base, live);
          ctx.status = 200;
          ctx.type = `application/xml; charset=${base.encoding === 'windows-1251' ? 'windows-1251' : 'utf-8'}`;
          ctx.set('Cache-Control', 'no-store');
          ctx.body = xml;
          return;
        }
        case 'success': {
          const n = await confirmQuery(d, live);
          ctx.state.log.info({ base: base.id, orders: n }, 'exchange: 1C confirmed the orders');
          return answer(ctx, base, ['success']);
        }
        case 'file': {
          const filename = safeFileName(String(ctx.query.filename ?? ''));
          const length = ctx.get('content-length') ? Number(ctx.get('content-length')) : null;
          const bytes = await appendChunk(d, base, live, filename, ctx.req, length);
          // some 1C set-ups never call mode=import for orders: a complete XML is imported right away
          if (await looksComplete(`${sessionDir(d, live.id)}/${filename}`)) importFile(d, base, live, filename).catch(() => undefined);
          return answer(ctx, base, ['success', `Получено ${bytes} байт файла ${filename}.`]);
        }
        case 'import': {
          const filename = safeFileName(String(ctx.query.filename ?? ''));
          const outcome = await Promise.race([
            importFile(d, base, live, filename),
            new Promise<null>((r) => setTimeout(() => r(null), IMPORT_WAIT_MS).unref()),
          ]);
          return answer(ctx, base, outcome ? ['success', ...outcome] : ['progress', `Файл ${filename} ещё обрабатывается.`]);
        }
        case 'info':
          ctx.status = 200;
          ctx.type = 'application/xml; charset=utf-8';
          ctx.body = infoXml();
          return;
        case 'complete':
        case 'deactivate':
          return answer(ctx, base, ['success']);
        default:
          throw new CmlError(`Неизвестный режим обмена «${mode.slice(0, 40)}».`);
      }
    } catch (e) {
      if (!(e instanceof CmlError)) ctx.state.log.error({ err: e, mode }, 'exchange failed');
      answer(ctx, base, [
        'failure',
        e instanceof CmlError ? e.text : `Внутренняя ошибка шлюза; сообщите в поддержку код запроса ${ctx.state.requestId}.`,
      ]);
      if (throttled) ctx.status = 429;
    }
  };
  for (const path of EXCHANGE_PATHS) {
    for (const method of ['get', 'post'] as const) {
      api.route(
        {
          method,
          path,
          summary: '1C "Обмен с сайтом" (CommerceML 2): ?type=sale&mode=checkauth|init|query|success|file|import|info',
          tag: '1c',
          auth: 'none',
          hidden: path !== EXCHANGE_PATHS[0] || method !== 'get',
          responses: {
            200: {
              description: 'text/plain lines (success / progress / failure + reason), or the orders document',
              contentType: 'text/plain',
            },
          },
        },
        handle,
      );
    }
  }
}

function infoXml(): string {
  const statuses = [
    ['N', 'Принят'],
    ['P', 'Оплачен'],
    ['F', 'Выполнен'],
    ['R', 'Возврат'],
    ['C', 'Отменен'],
  ];
  return `<?xml version="1.0" encoding="UTF-8"?>
<Справочник>
  <Статусы>${statuses.map(([id, name]) => `<Элемент><Ид>${id}</Ид><Название>${name}</Название></Элемент>`).join('')}</Статусы>
  <ПлатежныеСистемы><Элемент><Ид>card</Ид><Название>Банковская карта</Название><ТипОплаты>Безналичная</ТипОплаты></Элемент><Элемент><Ид>sbp</Ид><Название>СБП</Название><ТипОплаты>Безналичная</ТипОплаты></Элемент><Элемент><Ид>invoice</Ид><Название>Счёт</Название><ТипОплаты>Безналичная</ТипОплаты></Элемент></ПлатежныеСистемы>
  <СлужбыДоставки></СлужбыДоставки>
</Справочник>
`;
}
