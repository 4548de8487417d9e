import QRCode from 'qrcode';

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
