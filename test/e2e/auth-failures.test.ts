import { checkMonitors } from '../../gateway/flows/monitoring/check';
import { MONITOR_RULES } from '../../gateway/flows/monitoring/rules';
import { eventually, orderBody, SITE_AUTH, startHarness, type Harness } from '../helpers/harness';

/** A wrong password at the bank, against the emulated Sber: the payment is refused, the refusal counted, support alerted once. */

describe('refused logins', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      overrides: (raw) => {
        raw.organizations[0].providers.sber.password = 'not-the-password';
      },
    });
  });
  afterAll(() => h.close());

  test('Sber answers «Доступ запрещён»: the payment fails, auth_failures fires once with the bank named', async () => {
    const order = (await h.call('POST', '/api/v1/orders', orderBody(), SITE_AUTH)).body;
    const r = await h.call(
      'POST',
      `/api/v1/orders/${order.id}/payments`,
      { method: 'card' },
      { ...SITE_AUTH, 'idempotency-key': 'auth-1' },
    );
    expect(r.status).toBe(502);
    const rows = await h.gateway.store.db.selectFrom('auth_failures').select(['system', 'code', 'message']).execute();
    // the registration, and the janitor's look at the attempt whose outcome it does not know
    expect(rows.length).toBeGreaterThanOrEqual(1);
    for (const row of rows) expect(row).toEqual({ system: 'sber', code: '5', message: expect.stringContaining('Доступ запрещён') });

    const rules = MONITOR_RULES.filter((x) => x.name === 'auth_failures');
    const [state] = await checkMonitors(h.gateway.deps, new Date(), rules);
    expect(state).toMatchObject({ rule: 'auth_failures', firing: true });
    expect(state.value).toBeGreaterThanOrEqual(1);
    const alert = await eventually(
      async () => (await h.gateway.store.db.selectFrom('alerts').selectAll().where('kind', '=', 'monitor.auth_failures').execute())[0],
    );
    expect(alert).toMatchObject({ severity: 'critical', title: 'Внешняя система не принимает логин шлюза', resolved_at: null });
    expect(alert.text).toMatch(/Сбербанк: \d+, последний — .*Доступ запрещён/);
    // the gateway's own metric
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    expect(metrics).toMatch(/gateway_monitor_firing\{rule="auth_failures"\} 1/);
    // the password is in nothing recorded
    expect(JSON.stringify(rows) + alert.text).not.toContain('not-the-password');
  });
});
