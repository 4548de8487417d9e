import { crc16ccitt, parseSbpLink, withCrc } from '../../../gateway/domain/sbp';

describe('NSPK payment links', () => {
  // links published by banks and merchants: their crc is the CRC-16/CCITT-FALSE of the text before &crc=
  const published = [
    'https://qr.nspk.ru/AD10006PTORDPC5D98HPT12HV37MMQ6G?type=02&bank=100000000284&sum=15590000&cur=RUB&crc=4C8A',
    'https://qr.nspk.ru/BD10006LQ6LNI7R88AJBQP5AE5GEBSNT?type=02&bank=100000000015&sum=10000&cur=RUB&crc=B4F7',
    'https://qr.nspk.ru/AD100004BAL7227F9BNP6KNE007J9B3K?type=02&bank=100000000007&sum=1&cur=RUB&crc=AB75',
  ];

  test.each(published)('the crc of a published link checks: %s', (link) => {
    const p = parseSbpLink(link)!;
    expect(p.crc).toBe(p.expectedCrc);
  });

  test('the parts are read: QR id, dynamic type, bank, sum in kopecks', () => {
    expect(parseSbpLink(published[1])).toMatchObject({
      qrId: 'BD10006LQ6LNI7R88AJBQP5AE5GEBSNT',
      type: '02',
      bank: '100000000015',
      sum: 10000,
      crc: 'B4F7',
    });
  });

  test('CRC-16/CCITT-FALSE check value ("123456789" → 29B1)', () => {
    expect(crc16ccitt('123456789')).toBe('29B1');
  });

  test('a link with a changed sum no longer checks', () => {
    const p = parseSbpLink(published[1].replace('sum=10000', 'sum=1000'))!;
    expect(p.crc).not.toBe(p.expectedCrc);
  });

  test('withCrc appends the crc the way NSPK does', () => {
    const link = withCrc('https://qr.nspk.ru/AD10006PTORDPC5D98HPT12HV37MMQ6G?type=02&bank=100000000284&sum=15590000&cur=RUB');
    expect(link).toBe(published[0]);
  });

  test.each([
    'https://example.com/AD10006PTORDPC5D98HPT12HV37MMQ6G?type=02',
    'http://qr.nspk.ru/AD10006PTORDPC5D98HPT12HV37MMQ6G?type=02',
    'https://qr.nspk.ru/short',
    'not a url',
  ])('not an NSPK link: %s', (text) => {
    expect(parseSbpLink(text)).toBeNull();
  });
});
