import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ExcelJS from 'exceljs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { insertStatementLines, newStatementLineRow } from '../../gateway/store/statements';
import { newOrder, pay, paymentView, settledReceipts } from '../helpers/fiscal';
import { describeBrowser, launch } from '../helpers/browser';
import { ADMIN_AUTH, eventually, receiver, startHarness, type Harness } from '../helpers/harness';
import { SANDBOX, SANDBOX_ACCOUNT } from '../sandbox/config';

/**
 * The /admin pages in real headless Chromium, as support uses them: sign in (a wrong key first), find
 * a payment by its order number and read its timeline (the bank's callback, the 1C document, the
 * receipt), retry a dead job, close a review item, download a report, sign out. Every page is
 * photographed at desktop and tablet size into test/browser/artifacts/.
 */

const ARTIFACTS = resolve(__dirname, 'artifacts');
const DESKTOP = { width: 1440, height: 900 };
const TABLET = { width: 820, height: 1180 };
const PAGES: [string, string][] = [
  ['overview', '/admin'],
  ['payments', '/admin/payments'],
  ['jobs', '/admin/jobs'],
  ['review', '/admin/review'],
  ['receipts', '/admin/receipts'],
  ['reports', '/admin/reports'],
  ['health', '/admin/health'],
];

function shot(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, `admin-${name}.png`);
}

describeBrowser('the /admin pages in a browser', () => {
  let h: Harness;
  let site: Awaited<ReturnType<typeof receiver>>;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let paid: { id: string; number: string };
  let deadJobId: string;
  let lineId: string;
  const written: string[] = [];

  beforeAll(async () => {
    site = await receiver();
    site.status = 500; // the site's webhook fails: its job dies, to be retried from /admin
    h = await startHarness({
      fiscal: {},
      onec: { configuration: 'ut11' },
      siteWebhook: { url: site.url, secret: 'site-webhook-secret-1' },
      overrides: (raw) => {
        raw.log.level = 'warn';
        raw.jobs = { ...raw.jobs, maxAttempts: 2, backoffBaseMs: 20, backoffMaxMs: 50 };
      },
    });
    const number = `ADM-${Math.floor(Math.random() * 1e5)}`;
    h.onec!.seedCustomerOrder({ number, total: 3500 });
    const order = await newOrder(h, { number });
    const payment = await pay(h, order.id);
    await settledReceipts(h, payment.id, 1);
    await eventually(async () => (await paymentView(h, payment.id)).onec.status === 'delivered', 15_000);
    paid = { id: payment.id, number };
    deadJobId = (
      await eventually(async () => {
        const r = await h.call('GET', '/api/v1/admin/jobs?status=dead&name=payment.notify-site', undefined, ADMIN_AUTH);
        return r.body.items.find((j: any) => j.payload.paymentId === payment.id);
      }, 15_000)
    ).id;
    // a bank line nobody could tie to an invoice: on the review list
    const row = newStatementLineRow('main', 'file', {
      account: SANDBOX_ACCOUNT.accountNumber,
      direction: 'incoming',
      kind: 'Платежное поручение',
      number: '771',
      date: '2026-12-01',
      amount: 1234500,
      bankDate: '2026-12-01',
      payer: {
        name: 'ООО «Неизвестный плательщик»',
        inn: '7701234567',
        kpp: null,
        account: '40702810900000000001',
        bankBik: '044525225',
        bankName: null,
      },
      receiver: { name: 'Магазин', inn: null, kpp: null, account: SANDBOX_ACCOUNT.accountNumber, bankBik: null, bankName: null },
      purpose: 'Оплата по договору 15 без НДС',
      uip: null,
    });
    await insertStatementLines(h.gateway.store.db, h.gateway.store.dialect, [
      { ...row, match_state: 'review', match_note: 'не найден счёт' },
    ]);
    lineId = row.id;

    browser = await launch();
    context = await browser.newContext({ viewport: DESKTOP, locale: 'ru-RU', acceptDownloads: true });
    page = await context.newPage();
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await h?.close();
    await site?.close();
  });

  async function snap(name: string): Promise<void> {
    const file = shot(name);
    await page.screenshot({ path: file, fullPage: true });
    written.push(file);
  }

  test('sign in: a wrong key is refused, the right one opens the overview', async () => {
    await page.goto(`${h.url}/admin`);
    await page.waitForURL(/\/admin\/login/);
    await page.getByLabel('Ключ администратора').fill('wrong-admin-key-000');
    await page.getByRole('button', { name: 'Войти' }).click();
    await page.getByRole('alert').filter({ hasText: 'Неверный ключ администратора' }).waitFor();
    await snap('login-desktop');
    await page.getByLabel('Ключ администратора').fill(SANDBOX.adminKey);
    await page.getByRole('button', { name: 'Войти' }).click();
    await page.getByRole('heading', { name: 'Обзор' }).waitFor();
    await page.locator('#takings-chart canvas').first().waitFor();
    const stuck = await page.locator('#stuck li').allTextContents();
    expect(stuck.find((t) => t.startsWith('Мёртвые задания'))).toMatch(/[1-9]\d*$/);
    const cookie = (await context.cookies()).find((c) => c.name === 'gw_admin')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
  });

  test('find a payment by its order number and read its timeline: the callback, the 1C document, the receipt', async () => {
    await page.getByRole('link', { name: 'Платежи', exact: true }).click();
    await page.getByLabel('Номер заказа').fill(paid.number);
    await page.getByRole('button', { name: 'Найти' }).click();
    await page.locator('#results').getByRole('link', { name: paid.number }).click();
    await page.getByRole('heading', { name: `Платёж по заказу № ${paid.number}` }).waitFor();
    const timeline = page.locator('#timeline');
    await expect(timeline.locator('[data-kind="event-callback"]').first().textContent()).resolves.toContain('Уведомление банка');
    const onec = await timeline.locator('[data-kind="onec"]').textContent();
    expect(onec).toContain('Документ 1С');
    expect(onec).toContain('записан');
    const view = await paymentView(h, paid.id);
    expect(view.onec.document).toBeTruthy();
    const receipt = await timeline.locator('[data-kind="receipt"]').first().textContent();
    expect(receipt).toContain('пробит');
    expect(receipt).toContain('3\u00a0500,00\u00a0₽');
    expect(receipt).toMatch(/ФД № \d+/);
    await snap('payment-timeline-desktop');
  });

  test('retry a dead job: «Повторить» queues it again and, the site fixed, it is done', async () => {
    site.status = 200;
    await page.getByRole('link', { name: 'Задания', exact: true }).click();
    await page.getByRole('link', { name: /^мёртвое/ }).click();
    const row = page.locator('#jobs tr').filter({ has: page.locator(`form[action="/admin/jobs/${deadJobId}/retry"]`) });
    await snap('jobs-dead-desktop');
    await row.getByRole('button', { name: 'Повторить' }).click();
    await page.getByRole('status').filter({ hasText: 'поставлено в очередь заново' }).waitFor();
    await eventually(
      async () => (await h.call('GET', `/api/v1/admin/jobs/${deadJobId}`, undefined, ADMIN_AUTH)).body.status === 'done',
      15_000,
    );
  });

  test('close a review item with a note: it leaves the list', async () => {
    await page.getByRole('link', { name: 'Разбор', exact: true }).click();
    const row = page.locator('#review-lines tr').filter({ hasText: 'ООО «Неизвестный плательщик»' });
    await expect(row.textContent()).resolves.toContain('12\u00a0345,00\u00a0₽');
    await snap('review-desktop');
    await row.getByLabel('Причина').fill('возврат займа от поставщика');
    await row.getByRole('button', { name: 'Закрыть' }).click();
    await page.getByRole('status').filter({ hasText: 'Строка № 771 закрыта' }).waitFor();
    expect(await page.locator('#review-lines').textContent()).toContain('Строк на разборе нет.');
    const line = await h.gateway.store.db.selectFrom('statement_lines').selectAll().where('id', '=', lineId).executeTakeFirstOrThrow();
    expect(line).toMatchObject({ match_state: 'resolved', match_note: 'возврат займа от поставщика' });
  });

  test('every page at desktop and tablet size, kept as PNG artifacts', async () => {
    const tablet = await browser.newContext({ viewport: TABLET, locale: 'ru-RU', storageState: await context.storageState() });
    const t = await tablet.newPage();
    for (const [name, path] of PAGES) {
      await page.goto(`${h.url}${path}`);
      await page.locator('h1').waitFor();
      if (name === 'reports') await page.locator('#report[data-loaded]').waitFor();
      await snap(`${name}-desktop`);
      await t.goto(`${h.url}${path}`);
      await t.locator('h1').waitFor();
      if (name === 'reports') await t.locator('#report[data-loaded]').waitFor();
      const file = shot(`${name}-tablet`);
      await t.screenshot({ path: file, fullPage: true });
      written.push(file);
    }
    await t.goto(`${h.url}/admin/payments/${paid.id}`);
    await t.locator('#timeline').waitFor();
    await t.screenshot({ path: shot('payment-timeline-tablet'), fullPage: true });
    written.push(shot('payment-timeline-tablet'));
    await tablet.close();
    for (const file of written) {
      expect(statSync(file).size).toBeGreaterThan(1000);
      expect(readFileSync(file).subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    }
  }, 60_000);

  test('download a report as XLSX and read it back: the same columns and figures as the report itself', async () => {
    await page.goto(`${h.url}/admin/reports?report=payments`);
    await page.locator('#report[data-loaded]').waitFor({ timeout: 15_000 });
    expect(await page.locator('#report').getAttribute('data-loaded')).toBe('true');
    await page.locator('#report-table table').waitFor();
    await snap('reports-loaded-desktop');
    const href = (await page.locator('#download-xlsx').getAttribute('href'))!;
    const json = (await h.call('GET', href.replace('format=xlsx', 'format=json'), undefined, ADMIN_AUTH)).body;
    expect(json.report).toBe('payments');
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#download-xlsx').click()]);
    const file = join(ARTIFACTS, 'admin-report-payments.xlsx');
    await download.saveAs(file);
    const book = new ExcelJS.Workbook();
    await book.xlsx.readFile(file);
    const cells = book.worksheets[0]
      .getSheetValues()
      .flat()
      .map((v) => String(v));
    for (const c of json.columns) expect(cells).toContain(c.title);
    // the card payment of this run, 3 500,00 ₽, is in it
    expect(cells.some((v) => v === '3500' || v === '350000')).toBe(true);
  }, 30_000);

  test('sign out: back to the sign-in page, and the pages ask to sign in again', async () => {
    await page.goto(`${h.url}/admin`);
    await page.getByRole('button', { name: 'Выйти' }).click();
    await page.getByRole('status').filter({ hasText: 'Вы вышли' }).waitFor();
    await page.goto(`${h.url}/admin/jobs`);
    await page.waitForURL(/\/admin\/login\?next=/);
    expect(await h.gateway.store.db.selectFrom('admin_sessions').selectAll().execute()).toHaveLength(0);
  });
});
