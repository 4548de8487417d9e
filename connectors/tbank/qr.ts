/**
 * СБП payment links (`https://qr.nspk.ru/<id>?type=02&bank=<12 digits>&sum=<kopecks>&cur=RUB&crc=XXXX`),
 * what a dynamic QR encodes. The `crc` is CRC-16/CCITT-FALSE over the text before `&crc=`, uppercase
 * hex: seen on public links, not from a published spec, so a mismatch is only worth a warning.
 */

/** CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final xor. */
export function crc16(text: string): number {
  let crc = 0xffff;
  for (const byte of Buffer.from(text, 'utf8')) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

export function crcHex(text: string): string {
  return crc16(text).toString(16).toUpperCase().padStart(4, '0');
}

export interface NspkLink {
  qrId: string;
  /** 01 static, 02 dynamic. */
  type: string;
  /** The merchant's bank as an СБП participant (T-Bank: 100000000004). */
  bank: string;
  /** Kopecks, when the link fixes the amount. */
  sum: number | null;
  crc: string | null;
  /** Whether `crc` equals CRC-16/CCITT-FALSE of the text before `&crc=`. */
  crcValid: boolean;
  expectedCrc: string;
}

/** Reads an NSPK payment link; null when the text is not one. */
export function parseNspkLink(payload: string): NspkLink | null {
  let url: URL;
  try {
    url = new URL(payload);
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' || url.hostname !== 'qr.nspk.ru') return null;
  const qrId = url.pathname.slice(1);
  if (!/^[A-Z0-9]{32}$/.test(qrId)) return null;
  const type = url.searchParams.get('type') ?? '';
  const bank = url.searchParams.get('bank') ?? '';
  if (!/^0[12]$/.test(type) || !/^\d{12}$/.test(bank)) return null;
  const sumText = url.searchParams.get('sum');
  if (sumText !== null && !/^\d+$/.test(sumText)) return null;
  const at = payload.indexOf('&crc=');
  const crc = at >= 0 ? payload.slice(at + 5) : null;
  const expectedCrc = crcHex(at >= 0 ? payload.slice(0, at) : payload);
  return {
    qrId,
    type,
    bank,
    sum: sumText === null ? null : Number(sumText),
    crc,
    crcValid: crc !== null && crc.toUpperCase() === expectedCrc,
    expectedCrc,
  };
}

/** A dynamic link as a bank issues it (used by the emulator). */
export function buildNspkLink(qrId: string, bank: string, sumKopecks: number): string {
  const head = `https://qr.nspk.ru/${qrId}?type=02&bank=${bank}&sum=${sumKopecks}&cur=RUB`;
  return `${head}&crc=${crcHex(head)}`;
}
