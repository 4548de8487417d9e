import { parentPort, workerData } from 'node:worker_threads';
import SQLite from 'better-sqlite3';
import { invoicesToMatchFromRows } from '../../store/invoices';
import type { IncomingLine } from '../../domain/statement-matching';
import { withDueDates, type InvoicesToMatch } from './invoices-to-match';
import { decideInParts, DECISIONS_PER_PART } from './decide';
import type { FromThread, ToThread } from './matching-thread';

/** The matching thread (see MatchingThread): a read-only connection of its own to the store's file. */

const db = new SQLite((workerData as { file: string }).file, { readonly: true });
db.pragma('busy_timeout = 10000');
// every open invoice is read at each run: the pages stay in this connection's cache between runs
db.pragma('cache_size = -65536');

let invoices: InvoicesToMatch | undefined;
let invoicesRead = 0;
let lines: IncomingLine[] | undefined;
const post = (m: FromThread) => parentPort!.postMessage(m);

parentPort!.on('message', (m: ToThread) => {
  try {
    if ('invoices' in m) {
      const t = performance.now();
      const rows = db
        .prepare(m.invoices.sql)
        .raw(true)
        .iterate(...(m.invoices.parameters as unknown[])) as IterableIterator<unknown[]>;
      invoices = withDueDates(invoicesToMatchFromRows(rows, m.invoices.annulledSince));
      invoicesRead = (performance.now() - t) / 1000;
    } else
      lines = m.lines.map(([amount, date, payerInn, payerKpp, purpose, uip], i) => ({
        id: String(i),
        amount,
        date,
        payerInn,
        payerKpp,
        purpose,
        uip,
      }));
    if (!invoices || !lines) return;
    const t = performance.now();
    const parts = decideInParts(invoices, lines, DECISIONS_PER_PART);
    invoices = lines = undefined;
    let next = parts.next();
    for (; !next.done; next = parts.next()) post({ part: next.value });
    post({ done: next.value, invoices: invoicesRead, match: (performance.now() - t) / 1000 });
  } catch (e) {
    invoices = lines = undefined;
    post({ error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  }
});

post({ ready: true });
