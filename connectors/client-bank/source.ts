import type { StatementBatch, StatementSource } from '../../gateway/ports';
import { readClientBankExchange, type ReadOptions } from './reader';

/**
 * A 1CClientBankExchange file as a statement source: its incoming lines credited on or after the
 * cursor (a yyyy-mm-dd date), and the statement's last day as the next cursor. The whole file is
 * read (and refused) before any line is given out.
 */
export class ClientBankFileSource implements StatementSource {
  readonly name = 'client-bank-file';
  constructor(
    private readonly file: Buffer,
    private readonly opts: ReadOptions = {},
  ) {}

  async incomingSince(cursor: string | null): Promise<StatementBatch> {
    const s = readClientBankExchange(this.file, this.opts);
    const lines = s.documents.filter((d) => d.direction === 'incoming' && (cursor === null || (d.bankDate ?? d.date) >= cursor));
    const last =
      [s.to, ...lines.map((l) => l.bankDate ?? l.date)]
        .filter((d): d is string => d !== null)
        .sort()
        .pop() ?? null;
    return { lines, cursor: last };
  }
}
