import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { createGateway, type Gateway } from '../../gateway/main';
import { SberEmulator } from '../emulators/sber/server';
import { sandboxConfig, SANDBOX } from './config';
import { sandboxRoutes } from './routes';

export interface Sandbox {
  gateway: Gateway;
  sber: SberEmulator;
  url: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

/** The gateway on the embedded default (SQLite, in-process jobs) with every outside system emulated. */
export async function startSandbox(opts: { port?: number; dataDir?: string; quiet?: boolean } = {}): Promise<Sandbox> {
  const sber = new SberEmulator([
    { userName: SANDBOX.sber.userName, password: SANDBOX.sber.password, callbackSecret: SANDBOX.sber.callbackSecret, callbackMode: 'symmetric' },
  ]);
  await sber.start(Number(process.env.SANDBOX_SBER_PORT ?? 0));
  const dataDir = resolve(opts.dataDir ?? process.env.SANDBOX_DATA_DIR ?? '.sandbox');
  rmSync(dataDir, { recursive: true, force: true });
  const port = opts.port === 0 ? await freePort() : (opts.port ?? 8080);
  const config = sandboxConfig({ port, databaseUrl: `sqlite:${dataDir}/gateway.db`, sberRestUrl: sber.restUrl, overrides: opts.quiet ? (raw) => (raw.log.level = 'warn') : undefined });
  const gateway = await createGateway(config, { extraRoutes: [(api, gw) => sandboxRoutes(api, gw, { sber })] });
  const { url } = await gateway.start();
  return {
    gateway,
    sber,
    url,
    async stop() {
      await gateway.stop();
      await sber.stop();
    },
  };
}

export async function main(args: string[]): Promise<void> {
  const envPort = process.env.PORT !== undefined ? Number(process.env.PORT) : undefined;
  const sandbox = await startSandbox({ port: envPort });
  const u = sandbox.url;
  process.stdout.write(
    [
      '',
      'onec-gateway sandbox is running (SQLite in .sandbox/, in-process jobs, emulated bank)',
      '',
      `  gateway           ${u}`,
      `  OpenAPI           ${u}/openapi.json`,
      `  health            ${u}/health/ready`,
      `  site API key      ${SANDBOX.siteKey}     (Authorization: Bearer ${SANDBOX.siteKey})`,
      `  admin key         ${SANDBOX.adminKey}`,
      `  organization      ${SANDBOX.organization}`,
      `  1C exchange user  ${SANDBOX.onecUser} / ${SANDBOX.onecPassword}`,
      `  Sber emulator     ${sandbox.sber.url}  (knobs: POST ${u}/sandbox/sber/knobs)`,
      '',
      `  complete a payment: POST ${u}/sandbox/payments/<paymentId>/complete {"outcome":"paid"}`,
      '',
      ...(args.includes('--quiet') ? [] : ['Logs follow (JSON). Ctrl+C stops.', '']),
    ].join('\n') + '\n',
  );
  const stop = () => sandbox.stop().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
