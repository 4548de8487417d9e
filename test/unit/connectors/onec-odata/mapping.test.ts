import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromOnecDate, loadMapping, onecDate, render } from '../../../../connectors/onec-odata/mapping';
import { markerValue } from '../../../../connectors/onec-odata/sink';
import { parseAnswer } from '../../../../connectors/onec-odata/client';
import { fitLine } from '../../../../gateway/domain/order';
import { lineAmount } from '../../../../gateway/domain/money';
import { OneCError } from '../../../../gateway/ports';

describe('mappings are data', () => {
  test.each(['ut11', 'unf'])('the built-in %s mapping loads and names its documents', (name) => {
    const m = loadMapping(name);
    expect(m.documents.card.entity).toMatch(/^Document_/);
    expect(m.documents.invoice.entity).toMatch(/^Document_/);
    expect(m.settlement[m.settlement.by]).toBeDefined();
  });

  test('УТ 11.5 settles through ОбъектРасчетов, УНФ through the order itself', () => {
    expect(loadMapping('ut11').settlement.by).toBe('object');
    expect(loadMapping('unf').settlement.by).toBe('order');
    expect(loadMapping('unf').documents.card.entity).toBe('Document_ОперацияПоПлатежнымКартам');
  });

  test('a broken mapping file is refused with the key that is wrong', () => {
    const dir = mkdtempSync(join(tmpdir(), 'map-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'name: x\norder: { entity: Document_X }\n');
    expect(() => loadMapping(file)).toThrow(/order\.fields/);
    expect(() => loadMapping('no-such-mapping')).toThrow(/built in: ut11, unf/);
  });
});

describe('templates', () => {
  const ctx = {
    payment: { amount: 1500.5, id: 'p1' },
    order: { organization: '00000000-0000-0000-0000-000000000000', number: '1001' },
    refs: { organization: 'org-ref' },
  };

  test('a lone placeholder keeps its type; text is interpolated', () => {
    expect(
      render(
        { Сумма: '{{payment.amount}}', Комментарий: 'Заказ {{order.number}}, платёж {{payment.id}}', Константа: 'КОтгрузке', Флаг: true },
        ctx,
      ),
    ).toEqual({
      Сумма: 1500.5,
      Комментарий: 'Заказ 1001, платёж p1',
      Константа: 'КОтгрузке',
      Флаг: true,
    });
  });

  test('`a || b` falls back when a is empty, an empty 1C ref counting as empty', () => {
    expect(render({ Организация_Key: '{{order.organization || refs.organization}}' }, ctx)).toEqual({ Организация_Key: 'org-ref' });
  });

  test('a value that is missing names the field and the setting to fill', () => {
    try {
      render({ ЭквайринговыйТерминал_Key: '{{refs.acquiringTerminal}}' }, ctx);
      throw new Error('should have thrown');
    } catch (e) {
      expect(e).toBeInstanceOf(OneCError);
      expect((e as OneCError).kind).toBe('mapping');
      expect((e as OneCError).retryable).toBe(false);
      expect((e as OneCError).hint).toContain('organizations[].onec.refs.acquiringTerminal');
    }
  });
});

describe('1C dates have no time zone', () => {
  test('an instant in the base’s zone and back', () => {
    expect(onecDate('2026-11-23T10:15:30.123Z', 'Europe/Moscow')).toBe('2026-11-23T13:15:30');
    expect(fromOnecDate('2026-11-23T13:15:30', 'Europe/Moscow')).toBe('2026-11-23T10:15:30.000Z');
    expect(onecDate('2026-01-01T00:00:00Z', 'Asia/Yekaterinburg')).toBe('2026-01-01T05:00:00');
  });
});

describe('markers fit their field', () => {
  test('a UUID longer than the field becomes its 16 bytes in base64url, stable', () => {
    const id = '01a20812-3c4d-7e5f-8a9b-0c1d2e3f4a5b';
    const m = markerValue(id, 30);
    expect(m).toHaveLength(22);
    expect(markerValue(id, 30)).toBe(m);
    expect(Buffer.from(m, 'base64url').toString('hex')).toBe(id.replace(/-/g, ''));
    expect(markerValue(id, 50)).toBe(id);
    // УНФ's ПоступлениеНаСчет keeps it in НомерВходящегоДокумента (20): the first 15 bytes, stable
    const short = markerValue(id, 20);
    expect(short).toHaveLength(20);
    expect(markerValue(id, 20)).toBe(short);
    expect(Buffer.from(short, 'base64url').toString('hex')).toBe(id.replace(/-/g, '').slice(0, 30));
    expect(() => markerValue(id, 11)).toThrow(OneCError);
  });
});

describe('lines from 1C', () => {
  test('a discounted line keeps its amount; the price is made to fit', () => {
    const a = fitLine({ name: 'Чайник', quantity: 3, price: 100000, amount: 270000 });
    expect(a).toMatchObject({ quantity: 3, price: 90000, amount: 270000 });
    const b = fitLine({ name: 'Чай', quantity: 3, price: 10000, amount: 25000 });
    expect(lineAmount(b.price, b.quantity)).toBe(25000);
    expect(b.quantity).toBe(1);
    expect(b.name).toContain('3 ×');
    const c = fitLine({ name: 'Кофе', quantity: 2, price: 500, amount: 1000 });
    expect(c).toEqual({ name: 'Кофе', quantity: 2, price: 500, amount: 1000 });
  });
});

describe('1C answers', () => {
  const kind = (status: number, type: string, body: string) => {
    try {
      parseAnswer('GET', 'Document_X', status, type, body);
      return 'data';
    } catch (e) {
      return (e as OneCError).kind;
    }
  };
  const err = (code: string, value: string) => JSON.stringify({ 'odata.error': { code, message: { lang: 'ru', value } } });

  test.each([
    [200, 'text/html; charset=utf-8', '<html><body>Вход</body></html>', 'auth'],
    [401, 'text/html', 'Unauthorized', 'auth'],
    [503, 'text/html', '<h1>Service Unavailable</h1>', 'unavailable'],
    [404, 'text/html', 'Not found', 'not_published'],
    [404, 'application/json', err('9', 'Не найден объект'), 'not_found'],
    [400, 'application/json', err('14', 'Ошибка разбора параметра $filter'), 'mapping'],
    [403, 'application/json', err('20', 'Недостаточно прав'), 'access'],
    [500, 'application/json', err('-1', 'Конфликт блокировок при выполнении транзакции'), 'lock'],
    [500, 'application/json', err('-1', "Ошибка при выполнении обработчика - 'ОбработкаПроведения'"), 'rejected'],
    [500, 'application/json', err('-1', 'Неизвестная ошибка'), 'rejected'],
    [500, 'application/json', err('-1', 'Внутренняя ошибка'), 'internal'],
    [500, 'application/json', err('-1', ''), 'internal'],
    [200, 'application/json;odata=minimalmetadata', '{"value":[]}', 'data'],
  ])('HTTP %i %s → %s', (status, type, body, expected) => {
    expect(kind(status, type, body)).toBe(expected);
  });

  test('only passing failures are retryable', () => {
    for (const k of ['unavailable', 'timeout', 'lock', 'internal'] as const) expect(new OneCError(k, 'm', 'h').retryable).toBe(true);
    for (const k of ['auth', 'access', 'not_published', 'not_found', 'order_missing', 'rejected', 'mapping', 'data'] as const)
      expect(new OneCError(k, 'm', 'h').retryable).toBe(false);
  });
});
