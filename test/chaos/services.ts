import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../helpers/harness';

const run = promisify(execFile);

/**
 * A PostgreSQL cluster and a Redis of the chaos run's own, in a temp folder, on free ports: stopping
 * and restarting them never disturbs anything else on the machine. PostgreSQL runs as the `postgres`
 * user (initdb refuses root).
 */

function pgBin(name: string): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (existsSync(join(root, v, 'bin', name))) return join(root, v, 'bin', name);
  throw new Error(`PostgreSQL's ${name} is not installed (looked in ${root}/*/bin)`);
}

const asRoot = process.getuid?.() === 0;

async function asPostgres(cmd: string, args: string[]): Promise<string> {
  const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  const { stdout } = await run(file, argv, { maxBuffer: 16 << 20 });
  return stdout;
}

export class OwnPostgres {
  port = 0;
  private readonly data: string;
  restarts = 0;

  constructor(private readonly dir: string) {
    this.data = join(dir, 'pgdata');
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/chaos`;
  }

  async start(): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    if (asRoot) chownSync(this.dir, uidOf('postgres'), gidOf('postgres'));
    this.port = await freePort();
    await asPostgres(pgBin('initdb'), ['-D', this.data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
    await this.ctl('start');
    await asPostgres(pgBin('createdb'), ['-h', '127.0.0.1', '-p', String(this.port), '-U', 'postgres', 'chaos']);
  }

  private ctl(action: 'start' | 'stop' | 'restart', mode = 'fast'): Promise<string> {
    // fsync off: only the processes die here, never the machine, so the OS keeps what was written
    const opts = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
    return asPostgres(pgBin('pg_ctl'), ['-D', this.data, '-l', join(this.dir, 'postgres.log'), '-w', '-m', mode, '-o', opts, action]);
  }

  /** The whole cluster restarted: every connection of the gateways is cut. */
  async restart(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await this.ctl('restart', mode);
    this.restarts++;
  }

  async stop(): Promise<void> {
    await this.ctl('stop', 'immediate').catch(() => undefined);
  }
}

function uidOf(user: string): number {
  return Number(execFileSync('id', ['-u', user]).toString().trim());
}
function gidOf(user: string): number {
  return Number(execFileSync('id', ['-g', user]).toString().trim());
}

/** redis-server with nothing on disk: a restart loses every key, as a cache-style Redis would. */
export class OwnRedis {
  port = 0;
  restarts = 0;
  private child: ChildProcess | null = null;

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (!this.port) this.port = await freePort();
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const onData = (d: Buffer) => {
        out += d;
        if (out.includes('Ready to accept connections')) {
          child.stdout!.off('data', onData);
          child.stdout!.resume();
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.resume();
      child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${out.slice(-500)}`)));
    });
  }

  /** Killed outright: clients see their connections drop and nothing answers the port. */
  async stop(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
    this.child = null;
  }

  async restartAfter(ms: number): Promise<void> {
    await this.stop();
    await new Promise((r) => setTimeout(r, ms));
    await this.start();
    this.restarts++;
  }
}
