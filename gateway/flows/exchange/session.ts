import { createReadStream, createWriteStream, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import iconv from 'iconv-lite';
import yauzl from 'yauzl';
import { readDocuments } from '../../../connectors/commerceml/reader';
import { CmlError, type CmlVersion, type ExportOrder } from '../../../connectors/commerceml/types';
import { writeOrders } from '../../../connectors/commerceml/writer';
import type { GatewayConfig } from '../../config';
import { newToken } from '../../domain/ids';
import type { Customer, OrderItem } from '../../domain/order';
import { nowIso } from '../../store/db';
import { listOrderPayments, paymentAttempts } from '../../store/payments';
import type { ExchangeSessionsTable, OrderRow } from '../../store/schema';
import type { FlowDeps } from '../deps';
import { applyDocuments, type ImportContext } from './apply';
import type { ImportedDocument } from '../../../connectors/commerceml/types';

export type ExchangeBase = GatewayConfig['exchange']['bases'][number];

const SESSION_TTL_MS = 24 * 3600_000;
const SAFE_NAME = /^[\p{L}\p{N}_.\- ]{1,200}$/u;

/** A file name 1C sends: a plain name, no folders, nothing that climbs out of the session's folder. */
export function safeFileName(name: string): string {
  if (!SAFE_NAME.test(name) || name.includes('..') || name.startsWith('.')) {
    throw new CmlError(`Недопустимое имя файла «${name.slice(0, 80)}»: ожидается простое имя без папок.`);
  }
  return name;
}

export function basesOf(config: GatewayConfig): Map<string, ExchangeBase> {
  return new Map(config.exchange.bases.map((b) => [b.id, b]));
}

export function organizationsOf(d: FlowDeps, base: ExchangeBase): string[] {
  return base.organizations ?? d.config.organizations.map((o) => o.id);
}

// ---------------------------------------------------------------- sessions

export async function openSession(d: FlowDeps, base: ExchangeBase): Promise<ExchangeSessionsTable> {
  const now = nowIso();
  const row: ExchangeSessionsTable = {
    id: newToken(),
    base_id: base.id,
    version: null,
    query_at: null,
    query_orders: null,
    created_at: now,
    last_seen_at: now,
  };
  await d.store.db.insertInto('exchange_sessions').values(row).execute();
  // sessions and files of a day ago are gone
  const old = nowIso(Date.now() - SESSION_TTL_MS);
  const stale = await d.store.db.selectFrom('exchange_sessions').select('id').where('last_seen_at', '<', old).execute();
  if (stale.length > 0) {
    await d.store.db
      .deleteFrom('exchange_files')
      .where(
        'session_id',
        'in',
        stale.map((s) => s.id),
      )
      .execute();
    await d.store.db.deleteFrom('exchange_sessions').where('last_seen_at', '<', old).execute();
    for (const s of stale) rmSync(sessionDir(d, s.id), { recursive: true, force: true });
  }
  return row;
}

export async function findSession(d: FlowDeps, base: ExchangeBase, id: string | undefined): Promise<ExchangeSessionsTable | null> {
  if (!id || !/^[A-Za-z0-9_-]{16,64}$/.test(id)) return null;
  const s = await d.store.db
    .selectFrom('exchange_sessions')
    .selectAll()
    .where('id', '=', id)
    .where('base_id', '=', base.id)
    .executeTakeFirst();
  if (!s || Date.parse(s.last_seen_at) < Date.now() - SESSION_TTL_MS) return null;
  await d.store.db.updateTable('exchange_sessions').set({ last_seen_at: nowIso() }).where('id', '=', s.id).execute();
  return s;
}

export async function setSessionVersion(d: FlowDeps, session: ExchangeSessionsTable, version: CmlVersion): Promise<void> {
  await d.store.db.updateTable('exchange_sessions').set({ version }).where('id', '=', session.id).execute();
}

// ---------------------------------------------------------------- query / success

const STATUS: Record<string, [string, string]> = {
  awaiting_payment: ['N', 'Принят'],
  paid: ['P', 'Оплачен'],
  partially_refunded: ['P', 'Оплачен'],
  refunded: ['R', 'Возврат'],
  cancelled: ['C', 'Отменен'],
};
const METHOD: Record<string, string> = { card: 'Банковская карта', sbp: 'СБП', invoice: 'Счёт' };

async function exportOrder(d: FlowDeps, base: ExchangeBase, order: OrderRow): Promise<ExportOrder> {
  const customer = JSON.parse(order.customer) as Customer;
  const items = JSON.parse(order.items) as OrderItem[];
  const payments = await listOrderPayments(d.store.db, order.id);
  const paid = payments.filter((p) => p.paid_at).at(-1);
  const last = paid ?? payments.at(-1);
  const attempt = paid ? (await paymentAttempts(d.store.db, paid.id)).find((a) => a.provider_ref) : undefined;
  const [statusId, status] = STATUS[order.status] ?? ['N', 'Принят'];
  const isPaid = Boolean(paid) || Boolean(order.onec_paid_at);
  return {
    id: order.onec_ref ?? order.external_id,
    number: order.number,
    createdAt: order.created_at,
    total: order.total,
    customer: {
      id: customer.inn
        ? `inn-${customer.inn}${customer.kpp ? `-${customer.kpp}` : ''}`
        : customer.email
          ? `email-${customer.email}`
          : customer.phone
            ? `phone-${customer.phone.replace(/\D/g, '')}`
            : `order-${order.id}`,
      type: customer.type,
      name: customer.name,
      inn: customer.inn,
      kpp: customer.kpp,
      email: customer.email,
      phone: customer.phone,
    },
    items: items.map((it) => ({
      id: it.sku,
      name: it.name,
      quantity: it.quantity,
      price: it.price,
      amount: it.amount,
      vat: it.vat,
      kind: it.kind ?? 'goods',
      delivery: /^(ORDER_)?DELIVERY$/i.test(it.sku),
    })),
    requisites: {
      paymentMethod: last ? (METHOD[last.method] ?? last.method) : 'Банковская карта',
      ...(last ? { paymentMethodId: last.method } : {}),
      paid: isPaid,
      ...(paid?.paid_at ? { paidAt: paid.paid_at } : order.onec_paid_at ? { paidAt: order.onec_paid_at } : {}),
      ...(attempt?.provider_ref ? { paymentDocumentNumber: attempt.provider_ref } : paid ? { paymentDocumentNumber: paid.id } : {}),
      status: `[${statusId}] ${status}`,
      statusId,
      statusChangedAt: order.updated_at,
      cancelled: order.status === 'cancelled',
      ...(order.cancelled_at ? { cancelledAt: order.cancelled_at } : {}),
      ...(order.cancel_reason ? { cancelReason: order.cancel_reason } : {}),
      deliveryAllowed: isPaid,
      ...(base.site ? { site: base.site } : {}),
    },
  };
}

/**
 * `mode=query`: the orders 1C has not confirmed yet (new, or changed since 1C last took them), in
 * the session's version and the base's encoding. They are marked as taken only at `success`: a
 * query never confirmed sends the same orders again.
 */
export async function queryOrders(d: FlowDeps, base: ExchangeBase, session: ExchangeSessionsTable): Promise<Buffer> {
  const queryAt = nowIso();
  const orders = await d.store.db
    .selectFrom('orders')
    .selectAll()
    .where('organization_id', 'in', organizationsOf(d, base))
    .where((eb) => eb.or([eb('exported_at', 'is', null), eb('updated_at', '>', eb.ref('exported_at'))]))
    .orderBy('created_at')
    .execute();
  const exported: ExportOrder[] = [];
  for (const o of orders) exported.push(await exportOrder(d, base, o));
  await d.store.db
    .updateTable('exchange_sessions')
    .set({ query_at: queryAt, query_orders: JSON.stringify(orders.map((o) => [o.id, o.updated_at])) })
    .where('id', '=', session.id)
    .execute();
  return writeOrders(exported, {
    version: (session.version as CmlVersion) ?? base.version,
    encoding: base.encoding,
    generatedAt: new Date(queryAt),
    timeZone: base.timeZone,
  });
}

/** `mode=success`: 1C took what the last query sent; an order changed since then is sent again. */
export async function confirmQuery(d: FlowDeps, session: ExchangeSessionsTable): Promise<number> {
  if (!session.query_at || !session.query_orders)
    throw new CmlError('Нечего подтверждать: в этом сеансе не было запроса заказов (mode=query).');
  const sent = JSON.parse(session.query_orders) as [string, string][];
  await d.store.db.transaction().execute(async (trx) => {
    for (const [id, updatedAt] of sent) {
      await trx.updateTable('orders').set({ exported_at: updatedAt }).where('id', '=', id).execute();
    }
    await trx.updateTable('exchange_sessions').set({ query_orders: null }).where('id', '=', session.id).execute();
  });
  return sent.length;
}

// ---------------------------------------------------------------- files

export function sessionDir(d: FlowDeps, sessionId: string): string {
  return resolve(d.config.exchange.dir, sessionId);
}

/**
 * `mode=file`: a chunk of `filename`, appended to what came before (1C splits files at
 * `file_limit`). Streams to disk; refuses past the base's size limit.
 */
export async function appendChunk(
  d: FlowDeps,
  base: ExchangeBase,
  session: ExchangeSessionsTable,
  filename: string,
  body: Readable,
  declaredLength: number | null,
): Promise<number> {
  const name = safeFileName(filename);
  const dir = sessionDir(d, session.id);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  const before = existsSync(path) ? statSync(path).size : 0;
  const limit = base.maxUploadMb * 1024 * 1024;
  if (declaredLength !== null && before + declaredLength > limit)
    throw new CmlError(`Файл ${name} больше допустимых ${base.maxUploadMb} МБ.`);
  let received = 0;
  const counter = async function* (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) {
      received += chunk.length;
      if (before + received > limit) throw new CmlError(`Файл ${name} больше допустимых ${base.maxUploadMb} МБ.`);
      yield chunk;
    }
  };
  const prior = await d.store.db
    .selectFrom('exchange_files')
    .select('state')
    .where('session_id', '=', session.id)
    .where('filename', '=', name)
    .executeTakeFirst();
  if (prior && prior.state !== 'uploading') throw new CmlError(`Файл ${name} уже загружен и обработан в этом сеансе.`);
  try {
    await pipeline(body, counter, createWriteStream(path, { flags: 'a' }));
  } catch (e) {
    rmSync(path, { force: true });
    await d.store.db.deleteFrom('exchange_files').where('session_id', '=', session.id).where('filename', '=', name).execute();
    throw e instanceof CmlError ? e : new CmlError(`Файл ${name} не получен целиком: ${(e as Error).message}`);
  }
  const now = nowIso();
  if (prior)
    await d.store.db
      .updateTable('exchange_files')
      .set({ bytes: before + received, updated_at: now })
      .where('session_id', '=', session.id)
      .where('filename', '=', name)
      .execute();
  else
    await d.store.db
      .insertInto('exchange_files')
      .values({ session_id: session.id, filename: name, bytes: before + received, state: 'uploading', result: null, updated_at: now })
      .execute();
  return before + received;
}

/** True when the uploaded XML is complete (its root closes): 1C may expect the import right away. */
export async function looksComplete(path: string): Promise<boolean> {
  if (!/\.xml$/i.test(path) || !existsSync(path)) return false;
  const size = statSync(path).size;
  const fh = await open(path, 'r');
  try {
    const tail = Buffer.alloc(Math.min(256, size));
    await fh.read(tail, 0, tail.length, size - tail.length);
    const end = /<\/(?:[\w.-]+:)?КоммерческаяИнформация>\s*$/;
    return end.test(tail.toString('utf8')) || end.test(iconv.decode(tail, 'win1251'));
  } finally {
    await fh.close();
  }
}

// ---------------------------------------------------------------- import

const running = new Map<string, Promise<string[]>>();

/**
 * Imports one uploaded file (XML, or a zip of XML files) once: the first call starts it, later calls
 * for the same file join it. Resolves with the notes for the operator.
 */
export function importFile(d: FlowDeps, base: ExchangeBase, session: ExchangeSessionsTable, filename: string): Promise<string[]> {
  const name = safeFileName(filename);
  const key = `${session.id}/${name}`;
  const existing = running.get(key);
  if (existing) return existing;
  const p = (async () => {
    const row = await d.store.db
      .selectFrom('exchange_files')
      .selectAll()
      .where('session_id', '=', session.id)
      .where('filename', '=', name)
      .executeTakeFirst();
    if (!row) throw new CmlError(`Файл ${name} в этом сеансе не загружался (сначала mode=file).`);
    if (row.state === 'done') return JSON.parse(row.result ?? '[]') as string[];
    if (row.state === 'failed') throw new CmlError(JSON.parse(row.result ?? '""') as string);
    await d.store.db
      .updateTable('exchange_files')
      .set({ state: 'importing', updated_at: nowIso() })
      .where('session_id', '=', session.id)
      .where('filename', '=', name)
      .execute();
    const path = join(sessionDir(d, session.id), name);
    const c: ImportContext = {
      d,
      db: d.store.db,
      organizations: organizationsOf(d, base),
      timeZone: base.timeZone,
      notes: [],
      cache: new Map(),
      counts: { documents: 0, changed: 0, created: 0, unknown: 0 },
    };
    try {
      if (/\.zip$/i.test(name)) await importZip(base, path, c);
      // 64 KB reads: the text decoded from each stays an ordinary heap object (see the reader)
      else await importStream(c, createReadStream(path, { highWaterMark: 64 * 1024 }), statSync(path).size);
      const notes = [
        `Обработано документов: ${c.counts.documents}, изменено заказов: ${c.counts.changed}, новых из 1С: ${c.counts.created}, не найдено: ${c.counts.unknown}.`,
        ...c.notes,
      ];
      await d.store.db
        .updateTable('exchange_files')
        .set({ state: 'done', result: JSON.stringify(notes), updated_at: nowIso() })
        .where('session_id', '=', session.id)
        .where('filename', '=', name)
        .execute();
      rmSync(path, { force: true });
      d.log.info({ base: base.id, file: name, ...c.counts }, 'CommerceML file imported');
      return notes;
    } catch (e) {
      const text = e instanceof CmlError ? e.text : `Ошибка обработки файла ${name}: ${(e as Error).message}`;
      await d.store.db
        .updateTable('exchange_files')
        .set({ state: 'failed', result: JSON.stringify(text), updated_at: nowIso() })
        .where('session_id', '=', session.id)
        .where('filename', '=', name)
        .execute();
      rmSync(path, { force: true });
      d.log.warn({ err: e, base: base.id, file: name }, 'CommerceML file refused');
      throw e instanceof CmlError ? e : new CmlError(text);
    }
  })();
  running.set(key, p);
  p.finally(() => running.delete(key)).catch(() => undefined);
  return p;
}

const PARALLEL_FROM_BYTES = 8 * 1024 * 1024;

/** Documents of one XML stream, applied a batch at a time. */
async function importStream(c: ImportContext, stream: NodeJS.ReadableStream, bytes: number): Promise<void> {
  let batch: ImportedDocument[] = [];
  // a big file is parsed on a worker thread while this one applies
  await readDocuments(
    stream,
    async (doc) => {
      batch.push(doc);
      // documents applied soon after they are made die young (a long-lived batch fills the old heap)
      if (batch.length >= 128) {
        const docs = batch;
        batch = [];
        await applyDocuments(c, docs);
      }
    },
    { parallel: bytes > PARALLEL_FROM_BYTES },
  );
  if (batch.length > 0) await applyDocuments(c, batch);
}

/** Each XML entry of a zip, streamed; path traversal, too many entries and bombs refused before inflating. */
async function importZip(base: ExchangeBase, path: string, c: ImportContext): Promise<void> {
  const zip = await new Promise<yauzl.ZipFile>((res, rej) =>
    yauzl.open(path, { lazyEntries: true, autoClose: true, validateEntrySizes: true, strictFileNames: true }, (err, z) =>
      err ? rej(new CmlError(`Архив повреждён или не zip: ${err.message}`)) : res(z!),
    ),
  );
  if (zip.entryCount > base.maxZipEntries) {
    zip.close();
    throw new CmlError(`В архиве ${zip.entryCount} файлов, допустимо не больше ${base.maxZipEntries}.`);
  }
  const limit = base.maxUploadMb * 1024 * 1024;
  let total = 0;
  await new Promise<void>((resolveAll, rejectAll) => {
    const fail = (e: unknown) => {
      zip.close();
      rejectAll(e instanceof CmlError ? e : new CmlError(`Архив не прочитан: ${(e as Error).message}`));
    };
    zip.on('error', (e) =>
      fail(
        /invalid relative path|absolute path|invalid characters/i.test(e.message)
          ? new CmlError(`Недопустимое имя файла в архиве: ${e.message}`)
          : e,
      ),
    );
    zip.on('end', () => resolveAll());
    zip.on('entry', (entry: yauzl.Entry) => {
      const name = entry.fileName;
      if (name.includes('..') || name.startsWith('/') || name.includes('\\'))
        return fail(new CmlError(`Недопустимое имя файла в архиве: ${name.slice(0, 100)}`));
      if (name.endsWith('/') || !/\.xml$/i.test(name)) return zip.readEntry();
      total += entry.uncompressedSize;
      if (total > limit) return fail(new CmlError(`Распакованный архив больше допустимых ${base.maxUploadMb} МБ.`));
      if (entry.compressedSize > 0 && entry.uncompressedSize / entry.compressedSize > base.maxZipRatio) {
        return fail(
          new CmlError(
            `Файл ${name} в архиве сжат в ${Math.round(entry.uncompressedSize / entry.compressedSize)} раз: похоже на zip-бомбу, не принят.`,
          ),
        );
      }
      zip.openReadStream(entry, (err, stream) => {
        if (err || !stream) return fail(err);
        importStream(c, stream, entry.uncompressedSize).then(() => zip.readEntry(), fail);
      });
    });
    zip.readEntry();
  });
}
