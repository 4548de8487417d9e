import { AtolDriverRegister, taskUuid, toDriverTask } from '../../../../connectors/atol-driver/register';
import type { ReceiptDoc } from '../../../../gateway/domain/receipt';
import { AtolDriverEmulator } from '../../../emulators/atol-driver/server';

/** The ATOL driver's web server (ДТО 10) connector against the emulator: tasks, shifts, resends, the device's state. */

const receipt = (over: Partial<ReceiptDoc> = {}): ReceiptDoc => ({
  operation: 'sell',
  date: '2026-12-01T09:30:15.000Z',
  client: { name: 'ООО «Вектор»', inn: '7701234560', email: 'buh@vector.example' },
  company: { inn: '7707083893', sno: 'usn_income', paymentAddress: 'Москва, ул. Ленина, 1' },
  items: [
    {
      name: 'Монтаж',
      price: 350000,
      quantity: 1,
      amount: 350000,
      measure: 0,
      paymentMethod: 'credit_payment',
      paymentObject: 10,
      vat: 'vat22',
      vatAmount: 63115,
    },
  ],
  payments: [{ type: 1, amount: 350000 }],
  total: 350000,
  ...over,
});

describe('ATOL driver web server', () => {
  let dev: AtolDriverEmulator;
  let reg: AtolDriverRegister;
  let n = 0;
  const ext = () => `d-${Date.now()}-${n++}`;

  beforeEach(async () => {
    dev = new AtolDriverEmulator({ taskMs: 5 });
    await dev.start();
    reg = new AtolDriverRegister({
      id: 'shop',
      url: dev.url,
      timeoutMs: 2000,
      operator: { name: 'Кассир Петрова', vatin: '500100732259' },
      settleMs: 2000,
    });
  });
  afterEach(() => dev.stop());

  test('a closed shift is opened, then the receipt: the task in ДТО terms, the fiscal attributes back', async () => {
    expect(dev.shift.state).toBe('closed');
    const id = ext();
    const s = await reg.register({ externalId: id, receipt: receipt() });
    expect(s).toMatchObject({
      state: 'done',
      uuid: taskUuid(id, 0),
      fiscal: { fnNumber: '9999078900012345', registrationNumber: '0000000002011234', shiftNumber: 1 },
    });
    expect(dev.shift.state).toBe('opened');
    expect(dev.printed).toHaveLength(1);
    expect(dev.printed[0].task).toEqual({
      type: 'sell',
      taxationType: 'usnIncome',
      electronically: true,
      ignoreNonFiscalPrintErrors: true,
      operator: { name: 'Кассир Петрова', vatin: '500100732259' },
      clientInfo: { emailOrPhone: 'buh@vector.example', name: 'ООО «Вектор»', vatin: '7701234560' },
      paymentsPlace: 'Москва, ул. Ленина, 1',
      items: [
        {
          type: 'position',
          name: 'Монтаж',
          price: 3500,
          quantity: 1,
          amount: 3500,
          measurementUnit: 0,
          paymentMethod: 'creditPayment',
          paymentObject: 'payment',
          tax: { type: 'vat22', sum: 631.15 },
        },
      ],
      payments: [{ type: 'electronically', sum: 3500 }],
      total: 3500,
    });
  });

  test('a shift past 24 h is closed and opened again before the receipt', async () => {
    dev.expireShift();
    const shift = dev.shift.number;
    const s = await reg.register({ externalId: ext(), receipt: receipt({ operation: 'sell_refund' }) });
    expect(s.state).toBe('done');
    expect(dev.shift.number).toBe(shift + 1);
    expect(dev.printed.map((p) => p.type)).toEqual(['sellReturn']);
  });

  test('a process that died right after queuing the receipt: the next run reads that task’s result; the driver never runs a uuid twice', async () => {
    const id = ext();
    await reg.ensureShift();
    expect(await reg.client.submit(taskUuid(id, 0), [toDriverTask(receipt(), { name: 'Кассир Петрова' })])).toBe('created');
    const s = await reg.register({ externalId: id, receipt: receipt() });
    expect(s).toMatchObject({ state: 'done', uuid: taskUuid(id, 0) });
    expect(await reg.client.submit(taskUuid(id, 0), [toDriverTask(receipt(), { name: 'Кассир Петрова' })])).toBe('exists');
    expect(dev.posts.get(taskUuid(id, 0))).toBe(2);
    expect(dev.registrations(taskUuid(id, 0))).toBe(1);
    expect(dev.printed).toHaveLength(1);
    expect(await reg.check({ externalId: id })).toEqual(s);
  });

  test('no paper: a passing failure; once paper is in, the next try prints it, once', async () => {
    const id = ext();
    dev.knobs.paperPresent = false;
    await expect(reg.register({ externalId: id, receipt: receipt() })).rejects.toMatchObject({ kind: 'unavailable', retryable: true });
    expect(await reg.check({ externalId: id })).toEqual({ state: 'unknown' });
    dev.knobs.paperPresent = true;
    const s = await reg.register({ externalId: id, receipt: receipt() });
    expect(s).toMatchObject({ state: 'done', uuid: taskUuid(id, 1) });
    expect(dev.printed).toHaveLength(1);
  });

  test('a receipt the device refuses for good (its data): failed, with the device’s reason', async () => {
    const bad = receipt({ items: [{ ...receipt().items[0], amount: 350001 }], total: 350001, payments: [{ type: 1, amount: 350001 }] });
    const s = await reg.register({ externalId: ext(), receipt: bad });
    expect(s).toMatchObject({ state: 'failed', code: '227', message: 'Сумма позиции не равна цене, умноженной на количество' });
    expect(dev.printed).toHaveLength(0);
  });

  test('the web server down: unavailable', async () => {
    dev.knobs.down = true;
    await expect(reg.register({ externalId: ext(), receipt: receipt() })).rejects.toMatchObject({ kind: 'unavailable' });
  });

  test('the device’s state: paper, cover, the fiscal storage’s warnings; offline', async () => {
    expect(await reg.health()).toEqual({ online: true, shift: 'closed', problems: [] });
    dev.setKnobs({ paperPresent: false, fnWarnings: { needReplacement: true, resourceExhausted: true } });
    const h = await reg.health();
    expect(h.problems.map((p) => [p.key, p.severity])).toEqual([
      ['paper', 'warning'],
      ['fn-replace', 'critical'],
      ['fn-resource', 'warning'],
    ]);
    expect(h.problems[0].title).toBe('В кассе закончилась бумага');
    dev.setKnobs({ offline: true });
    expect(await reg.health()).toMatchObject({
      online: false,
      problems: [{ key: 'offline', severity: 'critical', title: 'Касса не отвечает' }],
    });
  });
});
