import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort } from '../helpers/harness';

const ROOT = resolve(__dirname, '../..');
const CLI = join(ROOT, 'bin/onec-gateway.js');

export type Role = 'gateway' | 'worker';

/** One gateway or worker process of the fleet, run through the CLI as in production. */
export class Instance {
  child: ChildProcess | null = null;
  port = 0;
  starts = 0;
  kills = 0;
  /** Being killed or started by the run (not an exit of its own). */
  killing = false;
  restarting = false;
  private log: WriteStream;

  constructor(
    readonly name: string,
    readonly role: Role,
    private readonly configFile: string,
    logDir: string,
  ) {
    this.log = createWriteStream(join(logDir, `${name}.log`), { flags: 'a' });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get alive(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the process and resolves once it says it started (the HTTP role: once it listens). */
  async start(timeoutMs = 60_000): Promise<void> {
    if (this.role === 'gateway' && !this.port) this.port = await freePort();
    const args = this.role === 'gateway' ? ['start', '--no-worker'] : ['worker'];
    const child = spawn(process.execPath, [CLI, ...args, '--config', this.configFile], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: '', REDIS_URL: '', PORT: this.role === 'gateway' ? String(this.port) : '', NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.starts++;
    this.log.write(`\n----- start #${this.starts} pid ${child.pid} at ${new Date().toISOString()}\n`);
    await new Promise<void>((res, rej) => {
      let seen = '';
      const timer = setTimeout(() => rej(new Error(`${this.name} did not start in ${timeoutMs} ms: ${seen.slice(-2000)}`)), timeoutMs);
      const onData = (d: Buffer) => {
        this.log.write(d);
        if (seen.length < 100_000) seen += d;
        if (seen.includes('"msg":"gateway started"') || seen.includes('"msg":"worker started"')) {
          clearTimeout(timer);
          res();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        this.log.write(`\n----- exit code ${code} signal ${signal} at ${new Date().toISOString()}\n`);
        rej(new Error(`${this.name} exited (${code ?? signal}) while starting: ${seen.slice(-2000)}`));
      });
    });
  }

  /** kill -9, waiting for the exit. */
  async kill(): Promise<void> {
    const c = this.child;
    if (!c || !this.alive) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
    this.kills++;
  }

  /** Crashed on its own (not by our kill): an exit we did not ask for. */
  crashed(): boolean {
    return !!this.child && !this.alive && this.child.signalCode !== 'SIGKILL';
  }

  async stop(): Promise<void> {
    const c = this.child;
    if (c && this.alive) {
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      const t = setTimeout(() => c.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    }
    await new Promise((r) => this.log.end(r));
  }
}

export function runCli(args: string[], configFile: string): Promise<string> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [CLI, ...args, '--config', configFile], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: '', REDIS_URL: '', PORT: '', NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.once('exit', (code) => (code === 0 ? res(out) : rej(new Error(`onec-gateway ${args.join(' ')} failed (${code}): ${out}`))));
  });
}
