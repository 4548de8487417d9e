import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  alertsByKey,
  authFailuresSince,
  insertAlert,
  insertDeliveries,
  listAlerts,
  recordAuthFailure,
  resolveAlertsByKey,
  setDelivery,
} from '../../gateway/store/alerts';
import { nowIso, openStore, type Store } from '../../gateway/store/db';
import { migrateToLatest } from '../../gateway/store/migrations';
import { describeWith, freshPgSchema } from '../helpers/services';

/** The alerts' record on SQLite and PostgreSQL: one alert per key and hour, deliveries, open and failed lists, «решено» once. */

const backends: {
  name: string;
  declare: (name: string, fn: () => void) => void;
  open: () => Promise<{ store: Store; cleanup(): Promise<void> }>;
}[] = [
  {
    name: 'sqlite',
    declare: (name, fn) => describe(name, fn),
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'alerts-store-'));
      const store = await openStore(`sqlite:${join(dir, 'x.db')}`);
      return { store, cleanup: async () => (await store.close(), rmSync(dir, { recursive: true, force: true })) };
    },
  },
  {
    name: 'postgres',
    declare: (name, fn) => describeWith('postgres', name, fn),
    async open() {
      const schema = await freshPgSchema();
      const store = await openStore(schema.url);
      return { store, cleanup: async () => (await store.close(), await schema.drop()) };
    },
  },
];

for (const backend of backends) {
  backend.declare(`alerts store on ${backend.name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    beforeAll(async () => {
      ({ store, cleanup } = await backend.open());
      await migrateToLatest(store.db);
    });
    afterAll(() => cleanup());

    const alert = (key: string, title = 'Касса не отвечает') => ({
      key,
      kind: key.split(':')[0]!,
      severity: 'critical' as const,
      title,
      text: 'Касса shop недоступна: чеки ждут.',
      context: { register: 'shop' },
      channels: ['telegram', 'email'],
      digest: null,
    });

    test('one alert per key and hour; its deliveries; listed open, newest first, with the failure', async () => {
      const id = await insertAlert(store.db, alert('register:main:shop:offline'), '2026-12-04T10');
      expect(id).not.toBeNull();
      expect(await insertAlert(store.db, alert('register:main:shop:offline'), '2026-12-04T10')).toBeNull();
      expect(await insertDeliveries(store.db, id!, ['telegram', 'email'])).toEqual(['telegram', 'email']);
      expect(await insertDeliveries(store.db, id!, ['telegram', 'log'], true)).toEqual(['log']);
      await setDelivery(store.db, id!, 'telegram', { status: 'failed', error: '401 Unauthorized — the bot token is wrong', attempt: 1 });
      await setDelivery(store.db, id!, 'email', { status: 'sent', error: null, attempt: 1 });
      await new Promise((r) => setTimeout(r, 5));
      await insertAlert(store.db, alert('dead-job:j1:t', 'Задание не выполнено: onec.deliver'), '2026-12-04T10');

      const open = await listAlerts(store.db, { open: true });
      expect(open.map((a) => a.title)).toEqual(['Задание не выполнено: onec.deliver', 'Касса не отвечает']);
      expect(open[1]).toMatchObject({
        key: 'register:main:shop:offline',
        kind: 'register',
        severity: 'critical',
        context: { register: 'shop' },
        channels: ['telegram', 'email'],
        resolved_at: null,
      });
      expect(open[1].deliveries).toEqual([
        expect.objectContaining({ channel: 'email', status: 'sent', fallback: false }),
        expect.objectContaining({ channel: 'log', status: 'pending', fallback: true }),
        expect.objectContaining({
          channel: 'telegram',
          status: 'failed',
          attempts: 1,
          last_error: '401 Unauthorized — the bot token is wrong',
        }),
      ]);
      expect((await listAlerts(store.db, { failed: true })).map((a) => a.key)).toEqual(['register:main:shop:offline']);
      expect(await listAlerts(store.db, { open: true, limit: 1 })).toHaveLength(1);
    });

    test('resolved once: the second close finds nothing open', async () => {
      await insertAlert(store.db, alert('register:main:shop:offline'), '2026-12-04T11');
      expect(await resolveAlertsByKey(store.db, 'register:main:shop:offline')).toBe(2);
      expect(await resolveAlertsByKey(store.db, 'register:main:shop:offline')).toBe(0);
      expect((await alertsByKey(store.db, 'register:main:shop:offline')).every((a) => a.resolved_at !== null)).toBe(true);
      expect((await listAlerts(store.db, { open: false })).map((a) => a.kind)).toEqual(['register', 'register']);
    });

    test('refused logins counted per system within a window', async () => {
      await recordAuthFailure(
        store.db,
        { system: 'sber', code: '5', message: 'errorCode 5: Access denied' },
        nowIso(Date.now() - 3600_000),
      );
      await recordAuthFailure(store.db, { system: '1c', code: 'auth', message: 'HTTP 401' });
      await recordAuthFailure(store.db, { system: '1c', code: 'auth', message: 'HTTP 401 again' });
      expect(await authFailuresSince(store.db, nowIso(Date.now() - 60_000))).toEqual([{ system: '1c', count: 2, last: 'HTTP 401 again' }]);
    });
  });
}
