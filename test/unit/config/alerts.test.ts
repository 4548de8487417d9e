import { parseConfig } from '../../../gateway/config';
import { alertChannelNames } from '../../../connectors/notify/config';

/** alerts.channels (named), alerts.routes and alerts.digest: checked at start, errors name the key. */

const TELEGRAM = { type: 'telegram', token: '7000000000:AAsandbox-support-bot-token-000000000', chatId: -1001000000001 };
const EMAIL = { type: 'email', smtp: { host: 'smtp.example.ru', port: 587, from: 'alerts@shop.example' }, to: ['support@shop.example'] };
const raw = (alerts: Record<string, unknown>) => ({
  database: { url: 'sqlite::memory:' },
  organizations: [{ id: 'main', name: 'ООО «Ромашка»' }],
  alerts,
});

test('without routes: every channel, named by its type (numbered when a type repeats)', () => {
  const cfg = parseConfig(raw({ channels: [{ type: 'log' }, TELEGRAM, EMAIL, { ...EMAIL, to: ['boss@shop.example'] }] }), {});
  expect(cfg.alerts.routes).toBeUndefined();
  expect(alertChannelNames(cfg.alerts.channels)).toEqual(['log', 'telegram', 'email-1', 'email-2']);
  expect(parseConfig(raw({}), {}).alerts.channels).toEqual([{ type: 'log' }]);
});

test('routes name channels by name, and digest; the digest says when and where', () => {
  const cfg = parseConfig(
    raw({
      channels: [{ ...TELEGRAM, name: 'support' }, EMAIL, { type: 'log' }],
      routes: [
        { severity: ['critical'], channels: ['support', 'email'] },
        { severity: ['warning'], kinds: ['operation-review', 'monitor'], channels: ['digest'] },
      ],
      digest: { at: '09:00', channels: ['email'] },
    }),
    {},
  );
  expect(cfg.alerts.routes).toHaveLength(2);
  expect(cfg.alerts.digest).toEqual({ at: '09:00', channels: ['email'] });
});

test('an unknown channel in a route is refused at start, naming the key and the channels there are', () => {
  expect(() =>
    parseConfig(raw({ channels: [TELEGRAM, EMAIL], routes: [{ severity: ['critical'], channels: ['telegram', 'sms'] }] }), {}),
  ).toThrow(/alerts\.routes\[0\]\.channels\[1\]: unknown alert channel "sms" \(channels: "telegram", "email", or "digest"\)/);
  expect(() => parseConfig(raw({ channels: [TELEGRAM], digest: { at: '09:00', channels: ['mail'] } }), {})).toThrow(
    /alerts\.digest\.channels\[0\]: unknown alert channel "mail"/,
  );
});

test('routing to digest without alerts.digest, a bad time, duplicate or reserved names: refused', () => {
  expect(() => parseConfig(raw({ channels: [EMAIL], routes: [{ channels: ['digest'] }] }), {})).toThrow(
    /alerts\.digest: a route sends alerts to "digest"/,
  );
  expect(() => parseConfig(raw({ channels: [EMAIL], digest: { at: '9:00', channels: ['email'] } }), {})).toThrow(
    /alerts\.digest\.at: HH:MM/,
  );
  expect(() =>
    parseConfig(
      raw({
        channels: [
          { ...EMAIL, name: 'a' },
          { ...TELEGRAM, name: 'a' },
        ],
      }),
      {},
    ),
  ).toThrow(/alerts\.channels\[1\]\.name: duplicate channel name "a"/);
  expect(() => parseConfig(raw({ channels: [{ ...EMAIL, name: 'digest' }] }), {})).toThrow(/alerts\.channels\[0\]\.name: "digest" names/);
  expect(() => parseConfig(raw({ channels: [EMAIL], routes: [{ severity: ['fatal'], channels: ['email'] }] }), {})).toThrow(
    /alerts\.routes\[0\]\.severity\[0\]/,
  );
});
