import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { ExchangeClient, type ExchangeStep } from '../../connectors/commerceml/exchange-client';

/**
 * `onec-gateway exchange-test <url> --user <u> --password <p> [--version 2.05] [--file path ...]`:
 * runs the sale exchange against a site exactly as 1C does and prints each step on one line with
 * ✓ or ✗. The tool's own words are English; the site's text is printed as it came. Exit code 0
 * when every step succeeded, 1 when one failed, 2 on bad arguments. The password is never printed.
 */

export const USAGE = `usage: onec-gateway exchange-test <url> --user <user> --password <password> [options]

Runs 1C's "Обмен с сайтом" (sale) against <url> as УТ 11 and УНФ do:
checkauth → query → success (no init before the query; the orders document is
checked against 1C's CommerceML 2.08 package, one bad document loses them all),
then, with --file: checkauth → init (exactly two lines) → for each file:
file (in chunks) → import.

  <url>                 the exchange URL as entered in 1C, e.g. http://host/exchange/1c
  --user <user>         the exchange login
  --password <pass>     the exchange password (or set EXCHANGE_PASSWORD)
  --version <v>         send version=<v> at init (e.g. 2.05, 2.10)
  --file <path> ...     a file 1C sends (orders XML or zip); repeat or list several
  --chunk-bytes <n>     upload chunk size instead of the site's file_limit
  --timeout-ms <n>      per request (default 60000)
  --user-agent <ua>     default 1C+Enterprise/8.3
  --poll-delay-ms <n>   pause between import calls answered "progress" (default 1000)

Exit code: 0 every step succeeded, 1 a step failed, 2 bad arguments.`;

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

const defaultIo: CliIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

interface Parsed {
  url: string;
  user: string;
  password: string;
  version?: string;
  files: string[];
  chunkBytes?: number;
  timeoutMs?: number;
  userAgent?: string;
  pollDelayMs?: number;
}

class UsageError extends Error {}

function parseArgs(args: string[], env: NodeJS.ProcessEnv): Parsed | 'help' {
  const positional: string[] = [];
  const files: string[] = [];
  const opts: Record<string, string> = {};
  const valued = ['user', 'password', 'version', 'chunk-bytes', 'timeout-ms', 'user-agent', 'poll-delay-ms'];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '-h' || a === '--help') return 'help';
    const m = /^--([a-z-]+)(?:=(.*))?$/s.exec(a);
    if (!m) {
      positional.push(a);
      continue;
    }
    const [, name, inline] = m;
    if (name === 'file') {
      if (inline !== undefined) {
        if (!inline) throw new UsageError('--file needs a path');
        files.push(inline);
        continue;
      }
      const start = files.length;
      // --file a b c: paths up to the next option (a URL is the site, not a file)
      while (i + 1 < args.length && !args[i + 1].startsWith('--') && !/^https?:\/\//i.test(args[i + 1])) files.push(args[++i]);
      if (files.length === start) throw new UsageError('--file needs a path');
      continue;
    }
    if (!valued.includes(name)) throw new UsageError(`unknown option --${name}`);
    const value = inline ?? args[++i];
    if (value === undefined || (inline === undefined && value.startsWith('--'))) throw new UsageError(`--${name} needs a value`);
    if (opts[name] !== undefined) throw new UsageError(`--${name} given twice`);
    opts[name] = value;
  }
  if (positional.length === 0) throw new UsageError('the exchange URL is missing');
  if (positional.length > 1)
    throw new UsageError(
      `one URL expected, got ${positional.length} (${positional.map((p) => JSON.stringify(p.slice(0, 60))).join(', ')})`,
    );
  const url = positional[0];
  let parsedUrl: URL;
  try {
    parsedUrl = new URL(url);
  } catch {
    throw new UsageError(`not a URL: ${url}`);
  }
  if (parsedUrl.protocol !== 'http:' && parsedUrl.protocol !== 'https:') throw new UsageError(`not an http(s) URL: ${url}`);
  if (parsedUrl.username || parsedUrl.password) throw new UsageError('put the login in --user and --password, not in the URL');
  const user = opts.user;
  const password = opts.password ?? env.EXCHANGE_PASSWORD;
  if (!user) throw new UsageError('--user is missing');
  if (!password) throw new UsageError('--password is missing (or set EXCHANGE_PASSWORD)');
  const int = (name: string, min: number): number | undefined => {
    const v = opts[name];
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v) || Number(v) < min) throw new UsageError(`--${name} must be a whole number ≥ ${min}, not ${JSON.stringify(v)}`);
    return Number(v);
  };
  if (opts.version !== undefined && !/^\d+\.\d+$/.test(opts.version))
    throw new UsageError(`--version looks like 2.05, not ${JSON.stringify(opts.version)}`);
  return {
    url,
    user,
    password,
    files,
    ...(opts.version ? { version: opts.version } : {}),
    ...(opts['chunk-bytes'] !== undefined ? { chunkBytes: int('chunk-bytes', 1) } : {}),
    ...(opts['timeout-ms'] !== undefined ? { timeoutMs: int('timeout-ms', 1) } : {}),
    ...(opts['user-agent'] ? { userAgent: opts['user-agent'] } : {}),
    ...(opts['poll-delay-ms'] !== undefined ? { pollDelayMs: int('poll-delay-ms', 0) } : {}),
  };
}

function stepLine(s: ExchangeStep): string {
  const name = s.file !== undefined ? `${s.step} ${s.file}` : s.step;
  const detail = s.ok ? s.lines.join('; ') : s.error;
  const flat = detail.replace(/\s*\r?\n\s*/g, ' / ').trim();
  return `${s.ok ? '✓' : '✗'} ${name}${flat ? `: ${flat}` : ''}`;
}

/** Runs the command; resolves with the exit code (the tests call this; `main` sets process.exitCode). */
export async function run(args: string[], io: CliIo = defaultIo, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let p: Parsed | 'help';
  try {
    p = parseArgs(args, env);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.err(`exchange-test: ${e.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (p === 'help') {
    io.out(`${USAGE}\n`);
    return 0;
  }
  const files: { name: string; content: Buffer }[] = [];
  for (const path of p.files) {
    try {
      files.push({ name: basename(path), content: readFileSync(path) });
    } catch (e) {
      io.err(`exchange-test: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
      return 2;
    }
  }
  const secret = p.password;
  // the site's own text could echo the password back: never let it reach the terminal
  const redact = (t: string) => (secret.length >= 4 ? t.split(secret).join('***') : t);
  const print = (t: string) => io.out(redact(`${t}\n`));

  const client = new ExchangeClient({
    url: p.url,
    user: p.user,
    password: p.password,
    ...(p.version ? { version: p.version } : {}),
    ...(p.chunkBytes ? { chunkBytes: p.chunkBytes } : {}),
    ...(p.timeoutMs ? { timeoutMs: p.timeoutMs } : {}),
    ...(p.userAgent ? { userAgent: p.userAgent } : {}),
  });
  print(
    `exchange-test ${p.url} as ${p.user}${p.version ? `, version ${p.version}` : ''}${files.length ? `, ${files.length} file${files.length === 1 ? '' : 's'}` : ''}`,
  );
  let failed = false;
  try {
    const log = await client.exchange(files, {
      ...(p.pollDelayMs !== undefined ? { pollDelayMs: p.pollDelayMs } : {}),
      onStep: (s) => print(stepLine(s)),
    });
    failed = log.some((s) => !s.ok);
  } catch (e) {
    print(`✗ ${(e as Error).message}`);
    failed = true;
  }
  print(failed ? 'exchange failed' : 'exchange succeeded');
  return failed ? 1 : 0;
}

export async function main(args: string[]): Promise<void> {
  try {
    process.exitCode = await run(args);
  } catch (e) {
    process.stderr.write(`exchange-test: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exitCode = 1;
  }
}
