import { createHash } from 'node:crypto';
import { toRubleString, type Kopecks } from '../../gateway/domain/money';
import type { ReceiptDoc } from '../../gateway/domain/receipt';
import { FiscalError, type FiscalRegister, type FiscalRequest, type FiscalState, type RegisterHealth } from '../../gateway/ports';
import { DriverClient, type DriverClientConfig } from './client';
import {
  TRANSIENT_CODES,
  type DeviceStatus,
  type DriverReceiptTask,
  type FiscalParams,
  type FnStatus,
  type ShiftStatus,
  type TaskResult,
} from './types';

export interface AtolDriverRegisterConfig extends DriverClientConfig {
  id: string;
  operator: { name: string; vatin?: string };
  /** How long register() waits for the device before answering `wait` (the rest is polled). */
  settleMs?: number;
}

const rub = (k: Kopecks): number => Number(toRubleString(k));

const OPERATION: Record<ReceiptDoc['operation'], DriverReceiptTask['type']> = {
  sell: 'sell',
  sell_refund: 'sellReturn',
  sell_correction: 'sellCorrection',
  sell_refund_correction: 'sellReturnCorrection',
};

const METHOD: Record<string, string> = {
  full_prepayment: 'fullPrepayment',
  prepayment: 'prepayment',
  advance: 'advance',
  full_payment: 'fullPayment',
  partial_payment: 'partialPayment',
  credit: 'credit',
  credit_payment: 'creditPayment',
};

const OBJECT: Record<number, string> = {
  1: 'commodity',
  2: 'excise',
  3: 'job',
  4: 'service',
  10: 'payment',
  11: 'agentCommission',
  13: 'another',
};
const PAYMENT: Record<number, string> = { 0: 'cash', 1: 'electronically', 2: 'prepaid', 3: 'credit', 4: 'other' };
const TAXATION: Record<string, string> = {
  osn: 'osn',
  usn_income: 'usnIncome',
  usn_income_outcome: 'usnIncomeOutcome',
  esn: 'esn',
  patent: 'patent',
};

/** Each try of a receipt is its own task; its uuid is derived from the receipt's id, so a resend after a lost answer finds it. */
export function taskUuid(externalId: string, n: number): string {
  const h = createHash('sha1').update(`${externalId}#${n}`).digest();
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/** The gateway's receipt as a ДТО 10 JSON task. */
export function toDriverTask(r: ReceiptDoc, operator: AtolDriverRegisterConfig['operator']): DriverReceiptTask {
  const items = r.items.map((it) => {
    const object = OBJECT[it.paymentObject];
    if (!object)
      throw new FiscalError(
        'atol-driver',
        'validation',
        `payment_object ${it.paymentObject} is not mapped for the driver`,
        `Признак предмета расчёта ${it.paymentObject} не поддерживается для кассы с драйвером АТОЛ.`,
      );
    return {
      type: 'position' as const,
      name: it.name,
      price: rub(it.price),
      quantity: it.quantity,
      amount: rub(it.amount),
      measurementUnit: it.measure,
      paymentMethod: METHOD[it.paymentMethod],
      paymentObject: object,
      tax: it.vat === 'none' ? { type: 'none' } : { type: it.vat, sum: rub(it.vatAmount) },
    };
  });
  return {
    type: OPERATION[r.operation],
    taxationType: TAXATION[r.company.sno] ?? r.company.sno,
    electronically: true,
    ignoreNonFiscalPrintErrors: true,
    operator,
    clientInfo: {
      emailOrPhone: r.client.email ?? r.client.phone ?? '',
      ...(r.client.name ? { name: r.client.name } : {}),
      ...(r.client.inn ? { vatin: r.client.inn } : {}),
    },
    paymentsPlace: r.company.paymentAddress,
    items,
    payments: r.payments.map((p) => ({ type: PAYMENT[p.type], sum: rub(p.amount) })),
    total: rub(r.total),
    ...(r.correction
      ? {
          correctionType: r.correction.type,
          correctionBaseDate: r.correction.baseDate.replace(/-/g, '.'),
          ...(r.correction.baseNumber ? { correctionBaseNumber: r.correction.baseNumber } : {}),
        }
      : {}),
  };
}

/** Tries of one receipt at most (each after a passing error: no paper, an expired shift, the device busy). */
const MAX_TRIES = 50;

/**
 * A local cash register behind the ATOL driver's web server. Before a receipt the shift is made
 * usable (opened when closed; closed and reopened when past 24 h). The task's uuid is stable for
 * the receipt, so a resend after a lost answer is refused by the driver (409) and the first
 * task's result is read instead; after a passing error the next try gets the next uuid.
 */
export class AtolDriverRegister implements FiscalRegister {
  readonly kind = 'atol-driver' as const;
  readonly id: string;
  readonly client: DriverClient;

  constructor(private readonly cfg: AtolDriverRegisterConfig) {
    this.id = cfg.id;
    this.client = new DriverClient(cfg);
  }

  async register(req: FiscalRequest): Promise<FiscalState> {
    const task = toDriverTask(req.receipt, this.cfg.operator);
    for (let n = 0; n < MAX_TRIES; n++) {
      const uuid = taskUuid(req.externalId, n);
      const known = (await this.client.results(uuid))?.[0];
      if (known && this.passing(known)) continue;
      if (known)
        return this.state(
          uuid,
          known.status === 'wait' || known.status === 'inProgress'
            ? ((await this.client.settle(uuid, this.cfg.settleMs ?? 3000)) ?? known)
            : known,
        );
      await this.ensureShift();
      await this.client.submit(uuid, [task]);
      const r = await this.client.settle(uuid, this.cfg.settleMs ?? 3000);
      return r ? this.state(uuid, r) : { state: 'wait', uuid };
    }
    throw new FiscalError(
      'atol-driver',
      'unavailable',
      `${req.externalId}: ${MAX_TRIES} tries failed`,
      'Касса раз за разом не может напечатать чек; проверьте её.',
    );
  }

  async check(ref: { externalId: string }): Promise<FiscalState> {
    let last: { uuid: string; r: TaskResult } | null = null;
    for (let n = 0; n < MAX_TRIES; n++) {
      const uuid = taskUuid(ref.externalId, n);
      const r = (await this.client.results(uuid))?.[0];
      if (!r) break;
      last = { uuid, r };
      if (!this.passing(r)) break;
    }
    if (!last) return { state: 'unknown' };
    // the last try failed in passing: nothing is registered, the receipt is to be sent again
    if (this.passing(last.r)) return { state: 'unknown' };
    return this.state(last.uuid, last.r);
  }

  private passing(r: TaskResult): boolean {
    return r.status === 'interrupted' || r.status === 'blocked' || (r.status === 'error' && TRANSIENT_CODES.has(r.error?.code ?? -1));
  }

  private state(uuid: string, r: TaskResult): FiscalState {
    if (r.status === 'ready') {
      const f = (r.result as { fiscalParams?: FiscalParams } | undefined)?.fiscalParams;
      if (!f)
        return {
          state: 'failed',
          uuid,
          code: 'no_fiscal_params',
          message: 'ready without fiscalParams',
          hint: 'Касса выполнила задание, но не вернула фискальные реквизиты чека; проверьте чек в кассе.',
        };
      return {
        state: 'done',
        uuid,
        fiscal: {
          fnNumber: f.fnNumber,
          documentNumber: Number(f.fiscalDocumentNumber),
          documentAttribute: Number(f.fiscalDocumentSign),
          datetime: new Date(f.fiscalDocumentDateTime).toISOString(),
          registrationNumber: f.registrationNumber,
          shiftNumber: Number(f.shiftNumber),
          ...(f.fiscalReceiptNumber !== undefined ? { receiptNumber: Number(f.fiscalReceiptNumber) } : {}),
        },
      };
    }
    if (r.status === 'wait' || r.status === 'inProgress') return { state: 'wait', uuid };
    if (this.passing(r)) {
      throw new FiscalError(
        'atol-driver',
        'unavailable',
        `task ${uuid}: ${r.error?.code ?? r.status} ${r.error?.description ?? ''}`,
        `Касса не напечатала чек: ${r.error?.description ?? r.status}. Чек будет отправлен повторно.`,
        { code: String(r.error?.code ?? r.status) },
      );
    }
    return {
      state: 'failed',
      uuid,
      code: String(r.error?.code ?? r.status),
      message: r.error?.description ?? r.status,
      hint: `Касса отказала в регистрации чека: ${r.error?.description ?? r.status} (код ${r.error?.code ?? '—'}).`,
    };
  }

  /** The shift is open and younger than 24 h: opened when closed, closed and reopened when expired. */
  async ensureShift(): Promise<void> {
    const { shiftStatus } = await this.client.run<ShiftStatus>({ type: 'getShiftStatus' });
    const operator = this.cfg.operator;
    if (shiftStatus.state === 'expired') await this.client.run({ type: 'closeShift', operator });
    if (shiftStatus.state !== 'opened') await this.client.run({ type: 'openShift', operator });
  }

  async health(): Promise<RegisterHealth> {
    let device: DeviceStatus['deviceStatus'];
    let fn: FnStatus['fnStatus'];
    try {
      device = (await this.client.run<DeviceStatus>({ type: 'getDeviceStatus' })).deviceStatus;
      fn = (await this.client.run<FnStatus>({ type: 'getFnStatus' })).fnStatus;
    } catch (e) {
      return {
        online: false,
        problems: [
          {
            key: 'offline',
            severity: 'critical',
            title: 'Касса не отвечает',
            text: `Касса ${this.id} недоступна: ${e instanceof FiscalError ? e.hint : (e as Error).message} Чеки ждут и уйдут по порядку, когда касса ответит.`,
          },
        ],
      };
    }
    const problems: RegisterHealth['problems'] = [];
    const add = (key: string, severity: 'warning' | 'critical', title: string, text: string) =>
      problems.push({ key, severity, title, text: `Касса ${this.id}: ${text}` });
    if (!device.paperPresent)
      add('paper', 'warning', 'В кассе закончилась бумага', 'закончилась чековая лента. Заправьте бумагу: чеки ждут и уйдут по порядку.');
    if (device.coverOpened) add('cover', 'warning', 'Открыта крышка кассы', 'открыта крышка принтера. Закройте её.');
    if (device.blocked)
      add('blocked', 'critical', 'Касса заблокирована', 'касса заблокирована (ошибка ФН или незавершённый документ). Обратитесь в сервис.');
    if (!device.fnPresent) add('fn-missing', 'critical', 'Фискальный накопитель не найден', 'касса не видит фискальный накопитель.');
    const w = fn.warnings;
    if (w.needReplacement) add('fn-replace', 'critical', 'Фискальный накопитель пора заменить', 'срочно замените фискальный накопитель.');
    if (w.memoryOverflow)
      add(
        'fn-memory',
        'critical',
        'Память фискального накопителя заполнена',
        'память ФН заполнена: документы не передаются в ОФД. Проверьте связь с ОФД.',
      );
    if (w.resourceExhausted)
      add(
        'fn-resource',
        'warning',
        'Ресурс фискального накопителя на исходе',
        'ресурс ФН заканчивается (осталось меньше 30 дней). Закажите замену.',
      );
    if (w.ofdTimeout)
      add(
        'ofd',
        'warning',
        'Чеки не уходят в ОФД',
        'документы не переданы в ОФД дольше допустимого. Проверьте интернет кассы и договор с ОФД.',
      );
    if (w.criticalError)
      add('fn-critical', 'critical', 'Критическая ошибка фискального накопителя', 'ФН сообщает о критической ошибке. Обратитесь в сервис.');
    return { online: true, shift: device.shift, problems };
  }
}
