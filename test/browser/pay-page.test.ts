import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import { parseSbpLink } from '../../gateway/domain/sbp';
import { artifact, describeBrowser, launch } from '../helpers/browser';
import { orderBody, SITE_AUTH, startHarness, type Harness } from '../helpers/harness';

/**
 * The hosted payment page in real headless Chromium: a desktop shows the СБП QR to scan, a phone
 * the button that opens the banking app; the page turns to "paid" by itself once the bank
 * confirms; the QR prints on its own sheet. Screenshots go to test-results/.
 */

const DESKTOP: BrowserContextOptions = { viewport: { width: 1280, height: 900 }, locale: 'ru-RU' };
const PHONE: BrowserContextOptions = {
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
  locale: 'ru-RU',
  userAgent: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Mobile Safari/537.36',
};

describeBrowser('the payment page in a browser', () => {
  let h: Harness;
  let browser: Browser;
  beforeAll(async () => {
    h = await startHarness({ overrides: (raw) => void (raw.log.level = 'warn') });
    browser = await launch();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  async function orderPage(): Promise<{ orderId: string; url: string }> {
    const order = (await h.call('POST', '/api/v1/orders', orderBody(), SITE_AUTH)).body;
    const { url } = (await h.call('POST', `/api/v1/orders/${order.id}/payment-link`, undefined, SITE_AUTH)).body;
    return { orderId: order.id, url };
  }

  async function open(options: BrowserContextOptions, url: string): Promise<Page> {
    const context = await browser.newContext(options);
    const page = await context.newPage();
    await page.goto(url);
    return page;
  }

  const naturalWidth = (page: Page, selector: string) =>
    page
      .locator(selector)
      .first()
      .evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth);

  test('on a desktop: the order, then the QR to scan after "Оплатить по СБП"; the bank-app button is not shown', async () => {
    const { url } = await orderPage();
    const page = await open(DESKTOP, url);
    await page.getByRole('heading', { name: /Заказ №/ }).waitFor();
    await page.getByText('3 500,00 ₽').first().waitFor();
    await page.getByRole('button', { name: 'Оплатить по СБП' }).click();
    const qr = page.getByTestId('qr-desktop').getByRole('img', { name: 'QR-код для оплаты через СБП' });
    await qr.waitFor({ state: 'visible' });
    expect(await naturalWidth(page, '[data-testid=qr-desktop] img')).toBeGreaterThan(100);
    expect(await page.locator('#bank-app').isVisible()).toBe(false);
    await expect(page.locator('#qr-expiry').textContent()).resolves.toMatch(/Код действует до \d\d:\d\d/);
    await page.screenshot({ path: artifact('pay-desktop-qr.png'), fullPage: true });
    await page.context().close();
  });

  test('on a phone: the "Оплатить в приложении банка" button carries the bank’s link; the QR waits behind "Показать QR-код"', async () => {
    const { url } = await orderPage();
    const page = await open(PHONE, url);
    await page.getByRole('button', { name: 'Оплатить по СБП' }).tap();
    const button = page.getByRole('link', { name: 'Оплатить в приложении банка' });
    await button.waitFor({ state: 'visible' });
    const href = (await button.getAttribute('href'))!;
    expect(parseSbpLink(href)).toMatchObject({ sum: 350000 });
    expect(await page.getByTestId('qr-desktop').isVisible()).toBe(false);
    await page.getByText('Показать QR-код').tap();
    await page.getByTestId('qr-phone').getByRole('img').waitFor({ state: 'visible' });
    await page.screenshot({ path: artifact('pay-phone-bank-app.png'), fullPage: true });
    await page.context().close();
  });

  test('the page turns to "paid" by itself after the bank confirms the payment', async () => {
    const { orderId, url } = await orderPage();
    const page = await open(DESKTOP, url);
    await page.getByRole('button', { name: 'Оплатить по СБП' }).click();
    await page.getByTestId('qr-desktop').waitFor({ state: 'visible' });
    const payments = (await h.call('GET', `/api/v1/orders/${orderId}`, undefined, SITE_AUTH)).body.payments;
    await h.call('POST', `/sandbox/payments/${payments[0].id}/complete`, { outcome: 'paid' });
    await page.getByTestId('status').filter({ hasText: 'Заказ оплачен' }).waitFor({ state: 'visible', timeout: 15_000 });
    // and once reloaded, nothing is left to pay with
    await page.locator('#methods').waitFor({ state: 'detached', timeout: 5000 });
    await page.getByTestId('status').filter({ hasText: 'Заказ оплачен' }).waitFor({ state: 'visible' });
    expect(await page.getByTestId('qr-desktop').count()).toBe(0);
    await page.screenshot({ path: artifact('pay-paid.png'), fullPage: true });
    await page.context().close();
  });

  test('a card payment goes to the bank’s form and back; a decline is shown and the buttons stay', async () => {
    const { url } = await orderPage();
    const page = await open(DESKTOP, url);
    await page.getByRole('button', { name: 'Оплатить картой' }).click();
    await page.getByRole('heading', { name: 'Тестовая платёжная страница банка' }).waitFor();
    await page.getByRole('button', { name: 'Отказ банка' }).click();
    await page.waitForURL((u) => u.pathname.startsWith('/pay/'));
    await page.getByTestId('status').filter({ hasText: 'Банк отклонил оплату' }).waitFor({ state: 'visible', timeout: 15_000 });
    await page.getByRole('button', { name: 'Оплатить картой' }).waitFor();
    await page.context().close();
  });

  test('the printable QR sheet: the order, the amount and the QR; the buttons do not print', async () => {
    const { url } = await orderPage();
    const page = await open(DESKTOP, url);
    await page.getByRole('button', { name: 'Оплатить по СБП' }).click();
    await page.getByRole('link', { name: 'Распечатать или отправить QR-код' }).click();
    await page.getByRole('heading', { name: /через СБП/ }).waitFor();
    expect(await naturalWidth(page, 'img')).toBeGreaterThan(100);
    await page.getByRole('button', { name: 'Отправить ссылку на оплату' }).waitFor({ state: 'visible' });
    await page.emulateMedia({ media: 'print' });
    expect(await page.getByRole('button', { name: 'Распечатать' }).isVisible()).toBe(false);
    expect(await page.getByRole('img').isVisible()).toBe(true);
    await page.screenshot({ path: artifact('pay-qr-print.png'), fullPage: true });
    await page.context().close();
  });

  test('the page and the QR sheet run under a CSP without unsafe-inline: their style and scripts apply, nothing is blocked; no frame may hold them', async () => {
    const { url } = await orderPage();
    const context = await browser.newContext(DESKTOP);
    const page = await context.newPage();
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
    });
    const res = (await page.goto(url))!;
    const csp = res.headers()['content-security-policy'];
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toMatch(/script-src 'nonce-[A-Za-z0-9+/=]{20,}'/);
    // the style applied: the pay button has the page's colours, not the browser's default
    const background = await page
      .getByRole('button', { name: 'Оплатить картой' })
      .evaluate((b) => (globalThis as any).getComputedStyle(b).backgroundColor as string);
    expect(background).not.toBe('rgba(0, 0, 0, 0)');
    // the scripts run: the QR sheet's print and share buttons answer
    await page.getByRole('button', { name: 'Оплатить по СБП' }).click();
    await page.getByRole('link', { name: 'Распечатать или отправить QR-код' }).click();
    await page.getByRole('heading', { name: /через СБП/ }).waitFor();
    await page.evaluate(() => {
      const w = globalThis as any;
      w.print = () => w.document.body.setAttribute('data-printed', 'yes');
    });
    await page.getByRole('button', { name: 'Распечатать' }).click();
    expect(await page.locator('body').getAttribute('data-printed')).toBe('yes');
    // a page of another origin that frames it gets nothing
    const framer = await context.newPage();
    await framer.setContent(`<iframe id="f" src="${url}"></iframe>`);
    await framer.waitForTimeout(500);
    const framed = framer.frames().find((f) => f !== framer.mainFrame());
    expect(await framed?.getByText('Оплатить картой').count()).toBe(0);
    expect(framed?.url()).not.toBe(url);
    expect(violations).toEqual([]);
    await context.close();
  });
});
