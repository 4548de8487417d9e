import type { EmulatedPayment } from './payment';

/** The hosted payment form's pages, in Russian: what the customer reads at PaymentURL. */

export function notFoundPage(): string {
  return page('Платёж не найден', '<p>Ссылка на оплату недействительна.</p>');
}

export function expiredPage(pay: EmulatedPayment): string {
  return page('Срок оплаты истёк', `${head(pay)}<p>Время на оплату закончилось. Вернитесь в магазин и оформите оплату заново.</p>`);
}

export function processedPage(pay: EmulatedPayment): string {
  return page('Оплата заказа', `${head(pay)}<p>Платёж уже обработан.</p>`);
}

/** The form with its two buttons; `retry` after a failed СБП attempt (the payment is still payable). */
export function payPage(pay: EmulatedPayment, retry = false): string {
  const qr = pay.qr ? `<p><a href="${escape(pay.qr.payload)}">Оплатить через СБП</a></p>` : '';
  const again = retry ? '<p>Оплата не прошла. Попробуйте ещё раз.</p>' : '';
  return page(
    'Оплата заказа',
    `${head(pay)}${again}${qr}<form method="post"><button name="outcome" value="paid">Оплатить</button> <button name="outcome" value="declined">Отказ банка</button></form><p>Тестовая платёжная страница банка</p>`,
  );
}

/** Shown when the merchant gave no SuccessURL / FailURL. */
export function resultPage(paid: boolean): string {
  return paid
    ? page('Оплата прошла успешно', '<p>Спасибо! Можно вернуться в магазин.</p>')
    : page('Оплата не прошла', '<p>Банк отклонил платёж. Попробуйте ещё раз или выберите другой способ оплаты.</p>');
}

/** SuccessURL / FailURL with the parameters the bank appends. */
export function returnUrl(pay: EmulatedPayment, paid: boolean): string | null {
  const target = paid ? pay.successUrl : pay.failUrl;
  if (!target) return null;
  const url = new URL(target);
  url.searchParams.set('Success', String(paid));
  url.searchParams.set('ErrorCode', pay.errorCode);
  url.searchParams.set('OrderId', pay.orderId ?? '');
  url.searchParams.set('PaymentId', pay.paymentId);
  url.searchParams.set('Amount', String(pay.amount));
  return url.toString();
}

function head(pay: EmulatedPayment): string {
  return `<p>Заказ ${escape(pay.orderId ?? '')}${pay.description ? `: ${escape(pay.description)}` : ''}</p><p>Сумма: <b>${rubles(pay.amount)}</b></p>`;
}

function rubles(kopecks: number): string {
  return `${String(Math.trunc(kopecks / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ' ')},${String(kopecks % 100).padStart(2, '0')} ₽`;
}

function escape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>${body}</body></html>`;
}
