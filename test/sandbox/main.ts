import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, relative, resolve } from 'node:path';
import { createGateway, type Gateway } from '../../gateway/main';
import { AtolDriverEmulator } from '../emulators/atol-driver/server';
import { AtolOnlineEmulator } from '../emulators/atol-online/server';
import { OneCManager } from '../emulators/onec/manager';
import { OneCEmulator } from '../emulators/onec/server';
import { SberEmulator } from '../emulators/sber/server';
import { TbankEmulator } from '../emulators/tbank/server';
import { TelegramEmulator } from '../emulators/telegram/server';
import { onecOrgConfig, sandboxConfig, SANDBOX, SANDBOX_ACCOUNT } from './config';
import { TestInbox } from '../helpers/smtp';
import { emailRoutes, inboxRoutes } from './inbox';
import { sandboxRoutes } from './routes';

export interface Sandbox {
  /** The effective configuration, for the CLI against the sandbox. */
  configFile: string;
  gateway: Gateway;
  sber: SberEmulator;
  tbank: TbankEmulator;
  onec: OneCEmulator;
  atol: AtolOnlineEmulator;
  driver: AtolDriverEmulator;
  telegram: TelegramEmulator;
  /** Support's mailbox: the SMTP server the e-mail alert channel sends to. */
  mailbox: TestInbox;
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

/** Support's Telegram chat in the sandbox: a bot of the emulated Bot API and its supergroup. */
const SANDBOX_TELEGRAM = { token: '7000000000:AAsandbox-support-bot-token-000000000', chatId: -1001000000001 };

/** The gateway on the embedded default (SQLite, in-process jobs) with every outside system emulated. */
export async function startSandbox(opts: { port?: number; dataDir?: string; quiet?: boolean } = {}): Promise<Sandbox> {
  const sber = new SberEmulator([
    {
      userName: SANDBOX.sber.userName,
      password: SANDBOX.sber.password,
      callbackSecret: SANDBOX.sber.callbackSecret,
      callbackMode: 'symmetric',
    },
  ]);
  await sber.start(Number(process.env.SANDBOX_SBER_PORT ?? 0));
  // notifications the gateway did not take are re-sent within seconds, not the real hour
  const tbank = new TbankEmulator(
    [{ terminalKey: SANDBOX.tbank.terminalKey, password: SANDBOX.tbank.password, businessToken: SANDBOX.tbank.businessToken }],
    { resendIntervalMs: 5000, resendDailyIntervalMs: 60_000 },
    [SANDBOX_ACCOUNT],
  );
  await tbank.start(Number(process.env.SANDBOX_TBANK_PORT ?? 0));
  const onec = new OneCEmulator({ configuration: 'ut11' });
  await onec.start(Number(process.env.SANDBOX_ONEC_PORT ?? 0));
  // orders as a manager would have them in УТ: the site's demo orders find theirs by number
  onec.seedCustomerOrder({ number: '1001', total: 3000, paymentForm: 'Безналичная' });
  onec.seedCustomerOrder({ number: '1002', total: 3500, paymentForm: 'Безналичная' });
  // a company's order, paid by invoice and bank transfer
  onec.seedCustomerOrder({ number: '1003', total: 3500, paymentForm: 'Безналичная' });
  onec.seedCustomerOrder({ number: '1004', total: 3500, paymentForm: 'Безналичная' });
  // another company's order: its payment arrives as the accountant's statement import into 1C
  onec.seedCustomerOrder({ number: '1005', total: 3500, paymentForm: 'Безналичная' });
  onec.seedCustomerOrder({
    number: 'ЗК-0000001',
    total: 1990,
    paymentForm: 'ПлатежнаяКарта',
    comment: 'Заказ менеджера: ссылку на оплату шлюз допишет сюда',
  });
  // a manager's invoice in 1C for a company with a contract (14 days' deferral, a 100 000 ₽ limit): the
  // gateway picks it up with the orders; GET /api/v1/customers/7728168971/invoices lists it
  const manager = new OneCManager(onec);
  const vector = await manager.buyer({ name: 'ООО «Вектор-Юг»', inn: '7728168971', kpp: '772801001' });
  await manager.contract(vector, { deferredDays: 14, creditLimit: 100_000, blockOverdue: true });
  const invoiced = onec.seedCustomerOrder({
    number: 'ЗК-0000002',
    total: 12000,
    paymentForm: 'Безналичная',
    counterpartyRef: vector.counterparty,
    partnerRef: vector.partner,
  });
  await manager.invoice({ orderRef: String(invoiced.Ref_Key), buyer: vector, amount: 12000 });
  const atol = new AtolOnlineEmulator([SANDBOX.atol], { processingMs: 300 });
  await atol.start(Number(process.env.SANDBOX_ATOL_PORT ?? 0));
  const driver = new AtolDriverEmulator({ taskMs: 100 });
  await driver.start(Number(process.env.SANDBOX_DRIVER_PORT ?? 0));
  const telegram = new TelegramEmulator(
    [{ token: SANDBOX_TELEGRAM.token, username: 'sandbox_support_bot' }],
    [{ id: SANDBOX_TELEGRAM.chatId, type: 'supergroup', title: 'Поддержка магазина' }],
  );
  await telegram.start(Number(process.env.SANDBOX_TELEGRAM_PORT ?? 0));
  const mailbox = await new TestInbox().start(Number(process.env.SANDBOX_SMTP_PORT ?? 0));
  const dataDir = resolve(opts.dataDir ?? process.env.SANDBOX_DATA_DIR ?? '.sandbox');
  rmSync(dataDir, { recursive: true, force: true });
  const port = opts.port === 0 ? await freePort() : (opts.port ?? 8080);
  const config = sandboxConfig({
    port,
    databaseUrl: `sqlite:${dataDir}/gateway.db`,
    sberRestUrl: sber.restUrl,
    tbank: { apiUrl: tbank.apiUrl, operationsUrl: tbank.operationsUrl },
    invoices: { statementUrl: tbank.operationsUrl, everySeconds: 2 },
    fiscal: { atolUrl: atol.baseUrl, driverUrl: driver.url },
    // the sandbox is the shop's site and its support too: webhooks and alerts come back to it
    siteWebhook: { url: `http://127.0.0.1:${port}/sandbox/site/webhooks`, secret: SANDBOX.siteWebhookSecret },
    overrides: (raw) => {
      if (opts.quiet) raw.log.level = 'warn';
      raw.alerts = {
        channels: [
          { type: 'log' },
          { type: 'webhook', url: `http://127.0.0.1:${port}/sandbox/alerts` },
          { type: 'telegram', token: SANDBOX_TELEGRAM.token, chatId: SANDBOX_TELEGRAM.chatId, baseUrl: telegram.url },
          {
            type: 'email',
            smtp: {
              host: '127.0.0.1',
              port: mailbox.port,
              requireTLS: false,
              from: 'Шлюз оплат <alerts@romashka.example>',
              timeoutMs: 5000,
            },
            to: ['support@romashka.example'],
          },
        ],
        // everything to the log and the support inbox; critical to the chat and by e-mail; warnings to
        // the chat and into the morning digest by e-mail
        routes: [
          { channels: ['log', 'webhook'] },
          { severity: ['critical'], channels: ['telegram', 'email'] },
          { severity: ['warning'], channels: ['telegram', 'digest'] },
        ],
        digest: { at: '09:00', channels: ['email'] },
      };
      // the tests' short thresholds (e.g. {"everySeconds": 1, "onecUnreachableMinutes": 0.05})
      if (process.env.SANDBOX_MONITORING) raw.monitoring = JSON.parse(process.env.SANDBOX_MONITORING);
      raw.organizations[0].onec = onecOrgConfig(onec, { configuration: 'ut11', pull: true, pullEverySeconds: 10 });
      // the accountant may import the statement into 1C too: its bank receipts are read as a statement
      if (raw.organizations[0].payments.invoice) raw.organizations[0].payments.invoice.statementsFrom1C = { everySeconds: 10 };
    },
  });
  // the effective configuration, for the CLI's commands against the sandbox (`onec check --config …`)
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(join(dataDir, 'gateway.config.yaml'), JSON.stringify(config, null, 2));
  const gateway = await createGateway(config, {
    extraRoutes: [
      (api, gw) => {
        sandboxRoutes(api, gw, { sber, tbank, onec, atol, driver, telegram });
        inboxRoutes(api, gw, { site: SANDBOX.siteWebhookSecret });
        emailRoutes(api, mailbox);
      },
    ],
  });
  const { url } = await gateway.start();
  return {
    configFile: join(dataDir, 'gateway.config.yaml'),
    gateway,
    sber,
    tbank,
    onec,
    atol,
    driver,
    telegram,
    mailbox,
    url,
    async stop() {
      await gateway.stop();
      await sber.stop();
      await tbank.stop();
      await onec.stop();
      await atol.stop();
      await driver.stop();
      await telegram.stop();
      await mailbox.stop();
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
      'onec-gateway sandbox is running (SQLite in .sandbox/, in-process jobs, emulated bank, 1C and cash registers)',
      '',
      `  gateway           ${u}`,
      `  OpenAPI           ${u}/openapi.json`,
      `  health            ${u}/health/ready`,
      `  site API key      ${SANDBOX.siteKey}     (Authorization: Bearer ${SANDBOX.siteKey})`,
      `  admin key         ${SANDBOX.adminKey}`,
      `  admin pages       ${u}/admin  (sign in with the admin key)`,
      `  organization      ${SANDBOX.organization}`,
      `  1C exchange       ${u}/exchange/1c  user ${SANDBOX.onecUser} / ${SANDBOX.onecPassword}  (npx onec-gateway exchange-test ${u}/exchange/1c --user ${SANDBOX.onecUser} --password ${SANDBOX.onecPassword})`,
      `  1C key            ${SANDBOX.onecKey}  (POST ${u}/api/v1/onec/orders)`,
      `  Sber emulator     ${sandbox.sber.url}  (cards and СБП; knobs: POST ${u}/sandbox/sber/knobs)`,
      `  T-Bank emulator   ${sandbox.tbank.url}  (cards and СБП with "provider": "tbank"; knobs: POST ${u}/sandbox/tbank/knobs)`,
      `  1C emulator       ${sandbox.onec.baseUrl}  (УТ 11.5; what it holds: GET ${u}/sandbox/onec; knobs: POST ${u}/sandbox/onec/knobs)`,
      `  1C mapping check  npx onec-gateway onec check --config ${relative(process.cwd(), sandbox.configFile)}`,
      `  ATOL Online       ${sandbox.atol.baseUrl}  (register "web"; knobs: POST ${u}/sandbox/atol/knobs)`,
      `  ATOL driver       ${sandbox.driver.url}  (register "shop", point of sale shop; knobs: POST ${u}/sandbox/atol-driver/knobs)`,
      `  receipts          GET ${u}/sandbox/fiscal  (what the emulated registers hold)`,
      '',
      `  complete a payment: POST ${u}/sandbox/payments/<paymentId>/complete {"outcome":"paid"}`,
      `  bank account      ${SANDBOX.bank.account} at ${SANDBOX.bank.name} (БИК ${SANDBOX.bank.bic}): invoices ask to pay into it; its statement is read every 2 s from ${sandbox.tbank.operationsUrl}api/v1/statement`,
      `  pay an invoice    POST ${u}/sandbox/bank/transfers {"amount":350000,"purpose":"Оплата по счету № <number> от <dd.mm.yyyy>","payerInn":"7701234560","payerName":"ООО «Вектор»","payerAccount":"40702810600000000777"}`,
      `  bank statement    GET ${u}/sandbox/bank/statement  (orders 1003 and 1004 are in 1C for a company's invoices)`,
      `  site webhooks     GET ${u}/sandbox/site/webhooks  (the sandbox is the shop's site: what the gateway told it, signature checked)`,
      `  alerts            GET ${u}/sandbox/alerts  (what support was told)`,
      `  Telegram          GET ${u}/sandbox/telegram  (the alerts in support's chat at the emulated Bot API ${sandbox.telegram.url}; knobs: POST ${u}/sandbox/telegram/knobs)`,
      `  e-mail            GET ${u}/sandbox/email  (support's mailbox: critical alerts and the 09:00 digest, SMTP 127.0.0.1:${sandbox.mailbox.port})`,
      `  1C down           POST ${u}/sandbox/onec/knobs {"down":true}  (the monitoring alerts support by Telegram and e-mail; {"down":false}: «Решено»)`,
      `  overdue check     POST ${u}/sandbox/invoices/check-due {"today":"<yyyy-mm-dd>"}  (reminders and overdue alerts as of that day)`,
      `  import into 1C    POST ${u}/sandbox/onec/bank-receipts {"number":"512","amount":350000,"purpose":"Оплата по счету № <number> от <dd.mm.yyyy>","payerInn":"7701234560","payerName":"ООО «Вектор»","orderNumber":"1005"}  (the accountant's statement import; 1C's bank receipts are read every 10 s)`,
      '',
      ...(args.includes('--quiet') ? [] : ['Logs follow (JSON). Ctrl+C stops.', '']),
    ].join('\n') + '\n',
  );
  const stop = () => sandbox.stop().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
