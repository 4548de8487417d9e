import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { toRubleString, type Kopecks } from '../../gateway/domain/money';
import type { ReceiptDoc } from '../../gateway/domain/receipt';
import { FiscalError, type FiscalRegister, type Limiter, type FiscalRequest, type FiscalState } from '../../gateway/ports';
import { AtolOnlineClient, type AtolClientConfig } from './client';
import { ATOL_CODES, type AtolDocumentBody, type AtolOperationResponse, type AtolReceipt, type AtolReport } from './types';

export interface AtolOnlineRegisterConfig extends AtolClientConfig {
  id: string;
  groupCode: string;
  /** The zone ATOL reads timestamps in (the organization's). */
  timeZone: string;
  /** `<publicUrl>/callbacks/atol/<organization>`; absent: no callbacks, reports are polled. */
  callbackBase?: string;
  /** At most one report request per this many ms (ATOL: 1 per second per register). */
  reportIntervalMs?: number;
}

/** Rubles with two decimals, as ATOL wants them: converted here, at the edge, and nowhere else. */
const rub = (k: Kopecks): number => Number(toRubleString(k));

/** `dd.mm.yyyy HH:MM:SS` of an instant in a zone. */
export function atolTimestamp(iso: string, timeZone: string): string {
  const p = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(new Date(iso))
      .map((x) => [x.type, x.value]),
  );
  return `${p.day}.${p.month}.${p.year} ${p.hour}:${p.minute}:${p.second}`;
}

/** The instant of `dd.mm.yyyy HH:MM:SS` in a zone (ATOL's receipt_datetime). */
export function fromAtolTimestamp(s: string, timeZone: string): string {
  const m = /^(\d{2})\.(\d{2})\.(\d{4}) (\d{2}):(\d{2})(?::(\d{2}))?$/.exec(s.trim());
  if (!m) return s;
  const guess = Date.parse(`${m[3]}-${m[2]}-${m[1]}T${m[4]}:${m[5]}:${m[6] ?? '00'}Z`);
  const shown = atolTimestamp(new Date(guess).toISOString(), timeZone);
  const back = /^(\d{2})\.(\d{2})\.(\d{4}) (\d{2}):(\d{2}):(\d{2})$/.exec(shown)!;
  const offset = Date.parse(`${back[3]}-${back[2]}-${back[1]}T${back[4]}:${back[5]}:${back[6]}Z`) - guess;
  return new Date(guess - offset).toISOString();
}

/** The gateway's receipt in ATOL v5 terms. */
export function toAtol(r: ReceiptDoc): AtolReceipt {
  return {
    client: { ...r.client },
    company: {
      ...(r.company.email ? { email: r.company.email } : {}),
      sno: r.company.sno,
      inn: r.company.inn,
      payment_address: r.company.paymentAddress,
    },
    items: r.items.map((it) => ({
      name: it.name,
      price: rub(it.price),
      quantity: it.quantity,
      sum: rub(it.amount),
      measure: it.measure,
      payment_method: it.paymentMethod,
      payment_object: it.paymentObject,
      vat: it.vat === 'none' ? { type: 'none' } : { type: it.vat, sum: rub(it.vatAmount) },
    })),
    payments: r.payments.map((p) => ({ type: p.type, sum: rub(p.amount) })),
    total: rub(r.total),
  };
}

/**
 * One report request at a time, each starting at least `intervalMs` after the previous one
 * finished: ATOL then sees them at least that far apart, whatever the network does.
 */
class Pacer {
  private tail: Promise<unknown> = Promise.resolve();
  private lastEnd = 0;
  constructor(private readonly intervalMs: number) {}
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(async () => {
      const wait = this.lastEnd + this.intervalMs - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      try {
        return await fn();
      } finally {
        this.lastEnd = Date.now();
      }
    });
    this.tail = next.catch(() => undefined);
    return next;
  }
}

/**
 * ATOL Online v5 behind the register port. The external_id makes registering idempotent: sent
 * again, ATOL answers 33 with the first uuid, which is adopted; a receipt once sent is only ever
 * asked about (report), never sent again. Callbacks carry a signature of the receipt's id in their
 * URL (ATOL signs nothing itself), and even then only prompt a report.
 */
export class AtolOnlineRegister implements FiscalRegister {
  readonly kind = 'atol-online' as const;
  readonly id: string;
  readonly client: AtolOnlineClient;
  private readonly pacer: Pacer;
  private readonly callbackKey: Buffer;

  /** `reportRate`: the report requests' spacing every gateway process keeps together (PostgreSQL). */
  constructor(
    private readonly cfg: AtolOnlineRegisterConfig,
    private readonly reportRate?: Limiter,
  ) {
    this.id = cfg.id;
    this.client = new AtolOnlineClient(cfg);
    this.pacer = new Pacer(cfg.reportIntervalMs ?? 1000);
    this.callbackKey = createHash('sha256').update(`atol-callback:${cfg.groupCode}:${cfg.password}`).digest();
  }

  callbackUrl(receiptId: string): string | undefined {
    if (!this.cfg.callbackBase) return undefined;
    return `${this.cfg.callbackBase}?receipt=${receiptId}&sig=${this.sign(receiptId)}`;
  }

  verifyCallback(params: Record<string, string>): string | null {
    const id = params.receipt ?? '';
    const sig = Buffer.from(params.sig ?? '');
    const want = Buffer.from(this.sign(id));
    return id && sig.length === want.length && timingSafeEqual(sig, want) ? id : null;
  }

  private sign(receiptId: string): string {
    return createHmac('sha256', this.callbackKey).update(receiptId).digest('hex').slice(0, 32);
  }

  async register(req: FiscalRequest): Promise<FiscalState> {
    const r = req.receipt;
    const correction = r.operation === 'sell_correction' || r.operation === 'sell_refund_correction';
    const doc = toAtol(r);
    const body: AtolDocumentBody = {
      external_id: req.externalId,
      timestamp: atolTimestamp(r.date, this.cfg.timeZone),
      ...(req.callbackUrl ? { service: { callback_url: req.callbackUrl } } : {}),
      ...(correction
        ? {
            correction: {
              ...doc,
              correction_info: {
                type: r.correction!.type,
                base_date: r.correction!.baseDate.split('-').reverse().join('.'),
                ...(r.correction!.baseNumber ? { base_number: r.correction!.baseNumber } : {}),
              },
            },
          }
        : { receipt: doc }),
    };
    const { status, body: answer } = await this.client.call<AtolOperationResponse>('POST', `${this.cfg.groupCode}/${r.operation}`, body);
    const err = answer.error;
    if (!err && answer.uuid) return { state: 'wait', uuid: answer.uuid };
    if (err?.code === ATOL_CODES.EXISTS && answer.uuid) {
      // registered by an earlier run whose answer was lost: that registration stands
      return this.check({ externalId: req.externalId, uuid: answer.uuid });
    }
    if (err?.code === ATOL_CODES.VALIDATION) {
      throw new FiscalError(
        'atol',
        'validation',
        `${r.operation}: code 32: ${err.text}`,
        `АТОЛ Онлайн не принял чек: ${err.text}. Чек не зарегистрирован; исправьте данные и повторите.`,
        { code: '32' },
      );
    }
    throw new FiscalError(
      'atol',
      'config',
      `${r.operation}: HTTP ${status}${err ? `, code ${err.code}: ${err.text}` : ', no uuid in the answer'}`,
      `АТОЛ Онлайн отказал в приёме чека${err ? ` (код ${err.code}: ${err.text})` : ''}. Проверьте настройки кассы (group_code, ИНН, адрес расчётов).`,
      { code: String(err?.code ?? status) },
    );
  }

  async check(ref: { externalId: string; uuid: string | null }): Promise<FiscalState> {
    if (!ref.uuid) return { state: 'unknown' };
    const ask = () => this.client.call<AtolReport>('GET', `${this.cfg.groupCode}/report/${ref.uuid}`);
    const shared = this.reportRate;
    const { status, body } = await this.pacer.run(shared ? () => shared.run(ask) : ask);
    if (body.status === 'done' && body.payload) {
      const p = body.payload;
      return {
        state: 'done',
        uuid: ref.uuid,
        fiscal: {
          fnNumber: p.fn_number,
          documentNumber: Number(p.fiscal_document_number),
          documentAttribute: Number(p.fiscal_document_attribute),
          datetime: fromAtolTimestamp(p.receipt_datetime, this.cfg.timeZone),
          registrationNumber: p.ecr_registration_number,
          shiftNumber: Number(p.shift_number),
          receiptNumber: Number(p.fiscal_receipt_number),
          ...(p.ofd_receipt_url ? { ofdUrl: p.ofd_receipt_url } : {}),
        },
      };
    }
    if (body.status === 'fail') {
      const e = body.error;
      return {
        state: 'failed',
        uuid: ref.uuid,
        code: String(e?.code ?? 'fail'),
        message: e?.text ?? 'fail',
        hint: `Касса не зарегистрировала чек${e ? `: ${e.text} (код ${e.code})` : ''}.`,
      };
    }
    if (body.status === 'wait' || body.error?.code === ATOL_CODES.NOT_READY) return { state: 'wait', uuid: ref.uuid };
    throw new FiscalError(
      'atol',
      status >= 400 ? 'config' : 'unavailable',
      `report: HTTP ${status}${body.error ? `, code ${body.error.code}: ${body.error.text}` : ''}`,
      'АТОЛ Онлайн не выдал результат чека; запрос будет повторён.',
      {
        code: String(body.error?.code ?? status),
      },
    );
  }
}
