/**
 * СБП (NSPK) C2B payment links: `https://qr.nspk.ru/<QR id>?type=01|02&bank=<12 digits>[&sum=<kopecks>&cur=RUB]&crc=XXXX`.
 * The link is issued by the merchant's bank; these checks only sanity-check what a bank returned.
 */

export interface SbpLink {
  qrId: string;
  /** 01 static, 02 dynamic. */
  type: string | null;
  bank: string | null;
  sum: number | null;
  crc: string | null;
  /** The crc as computed over the text before `&crc=` (CRC-16/CCITT-FALSE, uppercase hex). */
  expectedCrc: string;
}

/** CRC-16/CCITT-FALSE: polynomial 0x1021, initial value 0xFFFF, no reflection, no final xor. */
export function crc16ccitt(text: string): string {
  let crc = 0xffff;
  for (const byte of Buffer.from(text, 'utf8')) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc.toString(16).toUpperCase().padStart(4, '0');
}

/** Parses an NSPK link; null when the text is not one. */
export function parseSbpLink(text: string): SbpLink | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' || url.hostname !== 'qr.nspk.ru') return null;
  const qrId = url.pathname.replace(/^\//, '');
  if (!/^[A-Z0-9]{20,32}$/i.test(qrId)) return null;
  const at = text.indexOf('&crc=');
  const sum = url.searchParams.get('sum');
  return {
    qrId,
    type: url.searchParams.get('type'),
    bank: url.searchParams.get('bank'),
    sum: sum !== null && /^\d+$/.test(sum) ? Number(sum) : null,
    crc: url.searchParams.get('crc'),
    expectedCrc: crc16ccitt(at >= 0 ? text.slice(0, at) : text),
  };
}

/** Appends the crc the way NSPK links carry it (used by the emulators). */
export function withCrc(linkWithoutCrc: string): string {
  return `${linkWithoutCrc}&crc=${crc16ccitt(linkWithoutCrc)}`;
}
