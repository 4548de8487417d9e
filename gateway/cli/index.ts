import { ConfigError, loadConfig } from '../config';
import { createGateway } from '../main';
import { openStore } from '../store/db';
import { migrateToLatest } from '../store/migrations';

const HELP = `onec-gateway <command>

  start [--no-worker]   the gateway: HTTP API and (unless --no-worker) the job runner
  worker                jobs and schedules only, no HTTP
  migrate               bring the database schema up to date and exit
  sandbox               the gateway with emulated banks and 1C (no config needed; from a checkout)
  exchange-test <url>   1C's "Обмен с сайтом" run against a site as 1C runs it (--help for options)
  onec check [--base <organization id>]
                        each OData base's $metadata against its mapping: what is missing or does
                        not fit, with the mapping line to fix
  statement import <file> [--organization <id>]
                        a bank statement (1CClientBankExchange) into the store, each line once

Configuration: GATEWAY_CONFIG=path (default ./gateway.config.yaml); DATABASE_URL, REDIS_URL, PORT,
LOG_LEVEL override the file.`;

function configPath(args: string[]): string {
  const i = args.indexOf('--config');
  if (i >= 0 && args[i + 1]) return args[i + 1];
  return process.env.GATEWAY_CONFIG || './gateway.config.yaml';
}

function fail(e: unknown): never {
  if (e instanceof ConfigError) {
    process.stderr.write(`onec-gateway: ${e.message}\n`);
  } else {
    process.stderr.write(`onec-gateway: ${(e as Error)?.stack ?? String(e)}\n`);
  }
  process.exit(1);
}

export async function main(argv: string[]): Promise<void> {
  const [cmd = 'help', ...args] = argv;
  try {
    if (cmd === 'help' || cmd === '--help' || cmd === '-h') {
      process.stdout.write(`${HELP}\n`);
      return;
    }
    if (cmd === 'exchange-test') {
      // loaded on demand: the other commands do not need the exchange client
      await (require('./exchange-test') as typeof import('./exchange-test')).main(args);
      return;
    }
    if (cmd === 'onec' && args[0] === 'check') {
      await (require('./onec-check') as typeof import('./onec-check')).main(args.slice(1), configPath(args));
      return;
    }
    if (cmd === 'statement') {
      await (require('./statement-import') as typeof import('./statement-import')).main(args, configPath(args));
      return;
    }
    if (cmd === 'migrate') {
      const config = loadConfig(configPath(args));
      const store = await openStore(config.database.url, { preparedStatements: config.database.preparedStatements });
      const applied = await migrateToLatest(store.db);
      await store.close();
      process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'schema is up to date\n');
      return;
    }
    if (cmd === 'start' || cmd === 'worker') {
      const config = loadConfig(configPath(args));
      const roles = cmd === 'worker' ? { http: false, worker: true } : { http: true, worker: !args.includes('--no-worker') };
      const gateway = await createGateway(config, { roles });
      await gateway.start();
      let stopping = false;
      // SIGTERM (Kubernetes, docker stop): readiness off, drain, finish or hand back the jobs, exit 0
      // (gateway.stop(), within config.shutdown.deadlineMs). A second SIGINT (Ctrl+C) stops at once.
      const shutdown = (signal: string) => {
        if (stopping) {
          if (signal === 'SIGINT') process.exit(130);
          return;
        }
        stopping = true;
        const started = Date.now();
        gateway.log.info({ signal, ...config.shutdown }, 'stopping');
        // closing the store and Redis after the deadline takes moments; past this something hangs
        setTimeout(() => {
          gateway.log.error({ ms: Date.now() - started }, 'stop did not finish in time; exiting');
          process.exit(1);
        }, config.shutdown.deadlineMs + 5000).unref();
        gateway.stop().then(
          () => {
            gateway.log.info({ ms: Date.now() - started }, 'stopped');
            process.exit(0);
          },
          (e) => {
            gateway.log.error({ err: e }, 'stop failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => shutdown('SIGTERM'));
      process.on('SIGINT', () => shutdown('SIGINT'));
      return;
    }
    process.stderr.write(`onec-gateway: unknown command "${cmd}"\n\n${HELP}\n`);
    process.exit(2);
  } catch (e) {
    fail(e);
  }
}
