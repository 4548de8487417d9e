import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { readClientBankExchange } from '../../connectors/client-bank/reader';
import { ClientBankFileSource } from '../../connectors/client-bank/source';
import { loadConfig } from '../config';
import { ingestStatement } from '../flows/statements/ingest';
import { StatementFormatError } from '../ports';
import { openStore, type Store } from '../store/db';
import { migrateToLatest } from '../store/migrations';

const HELP = `onec-gateway statement import <file> [--organization <id>] [--config <file>]

Stores the incoming lines of a bank statement in 1CClientBankExchange format (versions 1.01–1.03,
windows-1251, cp866 or UTF-8), each line once: the same file, or a statement overlapping it, adds
only what is new. A file that is not a statement, is cut short or has a bad line is refused whole
and nothing is stored. --organization is needed when the configuration has several.
Exit code 1 when the file is refused, 2 when the command is used wrongly.`;

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

/** Reads the file into the store; the exit code. */
export async function importStatementFile(
  store: Pick<Store, 'db' | 'dialect'>,
  organizationId: string,
  path: string,
  io: Io,
): Promise<number> {
  const file = readFileSync(path);
  try {
    const s = readClientBankExchange(file);
    const r = await ingestStatement({ store: store as Store }, organizationId, new ClientBankFileSource(file));
    io.out(
      `${basename(path)}: выписка ${s.version} (${s.encoding}) по счёту ${s.accounts.map((a) => a.account).join(', ') || '—'} ` +
        `за ${s.from ?? '?'} — ${s.to ?? '?'}: входящих платежей ${r.seen}, новых ${r.stored}, уже загруженных раньше ${r.seen - r.stored}\n`,
    );
    return 0;
  } catch (e) {
    if (!(e instanceof StatementFormatError)) throw e;
    io.err(`onec-gateway: ${basename(path)} не загружен, ничего не изменено: ${e.message}\n`);
    return 1;
  }
}

/** `statement import <file>`. */
export async function main(args: string[], configPath: string): Promise<void> {
  if (args.includes('--help') || args.includes('-h') || args[0] !== 'import') {
    process.stdout.write(`${HELP}\n`);
    if (args[0] !== 'import' && !args.includes('--help') && !args.includes('-h')) process.exitCode = 2;
    return;
  }
  const rest = args.slice(1);
  const flag = (name: string) => {
    const i = rest.indexOf(name);
    return i >= 0 ? rest[i + 1] : undefined;
  };
  const file = rest.find((a, i) => !a.startsWith('--') && !['--organization', '--config'].includes(rest[i - 1]));
  const config = loadConfig(configPath);
  const wanted = flag('--organization');
  const orgs = config.organizations.filter((o) => !wanted || o.id === wanted);
  if (!file || orgs.length !== 1) {
    process.stderr.write(
      !file
        ? 'onec-gateway: statement import: which file? (onec-gateway statement import <file>)\n'
        : `onec-gateway: statement import: name the organization with --organization (have: ${config.organizations.map((o) => o.id).join(', ')})\n`,
    );
    process.exitCode = 2;
    return;
  }
  const store = await openStore(config.database.url, { preparedStatements: config.database.preparedStatements });
  try {
    await migrateToLatest(store.db);
    process.exitCode = await importStatementFile(store, orgs[0].id, file, {
      out: (s) => process.stdout.write(s),
      err: (s) => process.stderr.write(s),
    });
  } finally {
    await store.close();
  }
}
