import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/**
 * A real SMTP server in the test process, and its inbox. `refuse` makes it answer the next messages'
 * DATA with a code (451: try later, 550: refused for good); with `auth`, it asks for a login.
 */
export class TestInbox {
  readonly messages: ParsedMail[] = [];
  /** When each of `messages` was received (ISO). */
  readonly receivedAt: string[] = [];
  /** Every login tried, as the server saw it. */
  readonly logins: { user: string; password: string }[] = [];
  /** The next `times` messages (to `to` only, when given) are answered with `code`. */
  refuse: { code: number; message: string; times: number; to?: string } | null = null;
  /** Addresses the server does not take (550 at RCPT TO). */
  unknown: string[] = [];
  private server: SMTPServer | null = null;
  port = 0;

  constructor(private readonly opts: { auth?: { user: string; password: string } } = {}) {}

  /** Listens (again, after a stop, on the same port when given). */
  async start(port = 0): Promise<this> {
    const opts = this.opts;
    const server = new SMTPServer({
      closeTimeout: 200,
      disabledCommands: ['STARTTLS', ...(opts.auth ? [] : ['AUTH'])],
      authOptional: !opts.auth,
      allowInsecureAuth: true,
      logger: false,
      size: 10 * 1024 * 1024,
      onAuth: (auth, _session, cb) => {
        this.logins.push({ user: auth.username ?? '', password: auth.password ?? '' });
        if (opts.auth && auth.username === opts.auth.user && auth.password === opts.auth.password) return cb(null, { user: auth.username });
        cb(Object.assign(new Error('Authentication failed'), { responseCode: 535 }));
      },
      onRcptTo: (address, _session, cb) => {
        if (this.unknown.includes(address.address)) return cb(Object.assign(new Error('5.1.1 No such user'), { responseCode: 550 }));
        cb();
      },
      onData: (stream, session, cb) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const refuse = this.refuse;
          if (refuse && refuse.times > 0 && (!refuse.to || session.envelope.rcptTo.some((r) => r.address === refuse.to))) {
            refuse.times--;
            return cb(Object.assign(new Error(refuse.message), { responseCode: refuse.code }));
          }
          simpleParser(Buffer.concat(chunks)).then(
            (m) => {
              this.messages.push(m);
              this.receivedAt.push(new Date().toISOString());
              cb();
            },
            (e: Error) => cb(e),
          );
        });
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.server.address() as AddressInfo).port;
    return this;
  }

  /** The messages whose subject contains `text`. */
  withSubject(text: string): ParsedMail[] {
    return this.messages.filter((m) => (m.subject ?? '').includes(text));
  }

  stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}
