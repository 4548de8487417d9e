import QRCode from 'qrcode';
import { newToken } from '../domain/ids';
import { getOrder } from '../store/orders';
import type { OrderRow } from '../store/schema';
import type { FlowDeps } from './deps';

export interface PayLink {
  url: string;
  token: string;
  qr: { payload: string; image: string };
}

export function payUrl(d: FlowDeps, token: string): string {
  return `${d.config.server.publicUrl.replace(/\/$/, '')}/pay/${token}`;
}

/** A QR code of `text` as SVG (screens and print scale it without blur). */
export function qrSvg(text: string): Promise<string> {
  return QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
}

/** A QR code of `text` as PNG (messengers and printers that do not take SVG). */
export function qrPng(text: string): Promise<Buffer> {
  return QRCode.toBuffer(text, { type: 'png', errorCorrectionLevel: 'M', margin: 2, width: 512 });
}

/** An SVG QR code of `text`, as a data: URL (shown on screens, printed, sent in a messenger). */
export async function qrImage(text: string): Promise<string> {
  return `data:image/svg+xml;base64,${Buffer.from(await qrSvg(text)).toString('base64')}`;
}

/** The order's hosted payment page: one unguessable token per order, made on first need. */
export async function ensurePayLink(d: FlowDeps, order: OrderRow): Promise<PayLink> {
  let token = order.pay_token;
  if (!token) {
    await d.store.db.updateTable('orders').set({ pay_token: newToken() }).where('id', '=', order.id).where('pay_token', 'is', null).execute();
    token = (await getOrder(d.store.db, order.id))!.pay_token!;
  }
  const url = payUrl(d, token);
  return { url, token, qr: { payload: url, image: await qrImage(url) } };
}
