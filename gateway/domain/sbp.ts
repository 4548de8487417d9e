/**
 * СБП (NSPK) C2B payment links, what a QR encodes:
 * `https://qr.nspk.ru/<QR id>?type=01|02&bank=<12 digits>[&sum=<kopecks>&cur=RUB]&crc=XXXX`.
 * The link is issued by the merchant's bank; these checks only sanity-check what a bank returned.
 * The crc is CRC-16/CCITT-FALSE over the text before `&crc=`, uppercase hex — seen on public links,
 * not from a published spec, so a mismatch is worth a warning, not a refusal.
 */

export interface SbpLink {
  qrId: string;
  /** 01 static, 02 dynamic. */
  type: string;
  /** The merchant's bank as an СБП participant (Sber 100000000111, T-Bank 100000000004). */
  bank: string;
  /** Kopecks, when the link fixes the amount. */
  sum: number | null;
  crc: string | null;
  /** The crc as computed over the text before `&crc=`. */
  expectedCrc: string;
  crcValid: boolean;
}

/** CRC-16/CCITT-FALSE: polynomial 0x1021, initial value 0xFFFF, no reflection, no final xor; uppercase hex. */
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
  const qrId = url.pathname.slice(1);
  if (!/^[A-Z0-9]{32}$/.test(qrId)) return null;
  const type = url.searchParams.get('type') ?? '';
  const bank = url.searchParams.get('bank') ?? '';
  if (!/^0[12]$/.test(type) || !/^\d{12}$/.test(bank)) return null;
  const sum = url.searchParams.get('sum');
  if (sum !== null && !/^\d+$/.test(sum)) return null;
  const at = text.indexOf('&crc=');
  const crc = at >= 0 ? text.slice(at + 5) : null;
  const expectedCrc = crc16ccitt(at >= 0 ? text.slice(0, at) : text);
  return {
    qrId,
    type,
    bank,
    sum: sum === null ? null : Number(sum),
    crc,
    expectedCrc,
    crcValid: crc !== null && crc.toUpperCase() === expectedCrc,
  };
}

/** Appends the crc the way NSPK links carry it. */
export function withCrc(linkWithoutCrc: string): string {
  return `${linkWithoutCrc}&crc=${crc16ccitt(linkWithoutCrc)}`;
}

/** A dynamic link as a bank issues it (the emulators use it). */
export function buildSbpLink(qrId: string, bank: string, sumKopecks: number): string {
  return withCrc(`https://qr.nspk.ru/${qrId}?type=02&bank=${bank}&sum=${sumKopecks}&cur=RUB`);
}
