import { readFileSync } from 'node:fs';
import iconv from 'iconv-lite';
import { checkOrdersPackage, describeProblem, fitsAmount } from '../../../../connectors/commerceml/package-limits';

/** The limits of 1C's CommerceML 2.08 package (CML208), as УТ and УНФ read the answer to mode=query. */

const FIXTURES = '/work/shared/fixtures/commerceml';

const doc = (fields: string, extra = '') =>
  `<Документ>${fields}<Контрагенты><Контрагент><Ид>c-1</Ид><Наименование>Иван</Наименование></Контрагент></Контрагенты>${extra}</Документ>`;
const ok =
  '<Ид>1</Ид><Номер>1001</Номер><Дата>2026-12-01</Дата><ХозОперация>Заказ товара</ХозОперация><Валюта>RUB</Валюта><Сумма>3500.00</Сумма><Время>10:00:00</Время>';
const wrap = (...docs: string[]) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_2" ВерсияСхемы="2.08">${docs.join('')}</КоммерческаяИнформация>`;

describe('checkOrdersPackage', () => {
  test('a document within every limit passes; so does the Bitrix answer of the fixtures', () => {
    expect(checkOrdersPackage(wrap(doc(ok), doc(ok.replace('1001', '1002'))))).toEqual({ documents: 2, problems: [] });
    const bitrix = iconv.decode(readFileSync(`${FIXTURES}/to-1c-bitrix-2.05-cp1251.xml`), 'win1251').replace(/^<\?xml[^>]*\?>/, '');
    expect(checkOrdersPackage(bitrix).problems).toEqual([]);
  });

  test('each limit names the document, its number and the value', () => {
    const bad = ok
      .replace('<Ид>1</Ид>', `<Ид>${'ж'.repeat(41)}</Ид>`)
      .replace('<Дата>2026-12-01</Дата>', '<Дата>2026-12-01T10:00:00</Дата>')
      .replace('<Время>10:00:00</Время>', '<Время>25:00:00</Время>')
      .replace('<Валюта>RUB</Валюта>', '<Валюта>руб</Валюта><Валюта>RUBL</Валюта>')
      .replace('<Сумма>3500.00</Сумма>', '<Сумма>1234567890123456789.00</Сумма>');
    const { problems } = checkOrdersPackage(wrap(doc(ok), doc(bad)));
    expect(problems.map((p) => [p.document, p.number, p.rule])).toEqual([
      [2, '1001', 'amount'],
      [2, '1001', 'id'],
      [2, '1001', 'date'],
      [2, '1001', 'time'],
      [2, '1001', 'currency'],
    ]);
    expect(describeProblem(problems[1], 'ru')).toBe(`Ид длиннее 40 символов («${'ж'.repeat(41)}»)`);
    expect(describeProblem(problems[4], 'en')).toBe('Валюта missing or not 3 characters («RUBL»)');
  });

  test('a requisite value over 1000 characters (counted as characters, not bytes), anywhere in the document', () => {
    const requisite = (v: string) =>
      `<ЗначенияРеквизитов><ЗначениеРеквизита><Наименование>Комментарии покупателя</Наименование><Значение>${v}</Значение></ЗначениеРеквизита></ЗначенияРеквизитов>`;
    expect(checkOrdersPackage(wrap(doc(ok, requisite('😀'.repeat(1000))))).problems).toEqual([]);
    expect(checkOrdersPackage(wrap(doc(ok, requisite('я'.repeat(1001))))).problems.map((p) => p.rule)).toEqual(['value']);
    const line = `<Товары><Товар><Ид>a</Ид><Наименование>Товар</Наименование>${requisite('x'.repeat(1001))}<Сумма>10.005</Сумма></Товар></Товары>`;
    expect(checkOrdersPackage(wrap(doc(ok, line))).problems.map((p) => p.rule)).toEqual(['value', 'amount']);
  });

  test('no ХозОперация, another one, or no Валюта: refused; «Заказ товара» in any case passes; prefixes are read by local name', () => {
    const rules = (fields: string) => checkOrdersPackage(wrap(doc(fields))).problems.map((p) => p.rule);
    expect(rules(ok.replace('<ХозОперация>Заказ товара</ХозОперация>', ''))).toEqual(['operation']);
    expect(rules(ok.replace('Заказ товара', 'Отпуск товара'))).toEqual(['operation']);
    expect(rules(ok.replace('Заказ товара', 'ЗАКАЗ ТОВАРА'))).toEqual([]);
    expect(rules(ok.replace('<Валюта>RUB</Валюта>', ''))).toEqual(['currency']);
    const prefixed = `<c:КоммерческаяИнформация xmlns:c="urn:1C.ru:commerceml_2">${doc(ok.replace(/<(\/?)([^>]+)>/g, '<$1c:$2>'))}</c:КоммерческаяИнформация>`;
    expect(checkOrdersPackage(prefixed)).toEqual({ documents: 1, problems: [] });
  });

  test('amounts: at most 18 digits, 2 after the point', () => {
    for (const v of ['0', '10', '10.5', '10.50', '10.500', '9999999999999999.99', '-5.00']) expect([v, fitsAmount(v)]).toEqual([v, true]);
    for (const v of ['', '.', '10.005', '99999999999999999.99', '1e5', '10,00', 'abc']) expect([v, fitsAmount(v)]).toEqual([v, false]);
  });

  test('XML that is not well-formed throws (1C cannot read it at all)', () => {
    expect(() => checkOrdersPackage('<КоммерческаяИнформация><Документ></КоммерческаяИнформация>')).toThrow();
  });
});
