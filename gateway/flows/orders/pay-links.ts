import { newToken } from '../../domain/ids';
import { ensurePayToken } from '../../store/orders';
import type { OrderRow } from '../../store/schema';
import type { FlowDeps } from '../deps';
import { qrImage } from './qr';

export { qrImage, qrPng, qrSvg } from './qr';

export interface PayLink {
  url: string;
  token: string;
  qr: { payload: string; image: string };
}

export function payUrl(d: FlowDeps, token: string): string {
  return `${d.config.server.publicUrl.replace(/\/$/, '')}/pay/${token}`;
}

/** The order's hosted payment page: one unguessable token per order, made on first need. */
export async function ensurePayLink(d: FlowDeps, order: OrderRow): Promise<PayLink> {
  let token = order.pay_token;
  if (!token) {
    token = await ensurePayToken(d.store.db, order.id, newToken());
  }
  const url = payUrl(d, token);
  return { url, token, qr: { payload: url, image: await qrImage(url) } };
}
