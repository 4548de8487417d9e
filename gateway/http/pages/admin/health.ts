import { MONITOR_RULES } from '../../../flows/monitoring/rules';
import type { MonitorState } from '../../../flows/monitoring/check';
import { lastCallbacks, receiptsByRegister } from '../../../store/admin-queries';
import { syncStatesWithPrefix } from '../../../store/sync-state';
import { readiness } from '../../routes/ops';
import type { AdminKit } from './kit';
import { esc, layout, sendPage, table, when } from './layout';

const ok = (v: boolean, yes = 'в порядке', no = 'не отвечает') => `<span class="${v ? 'good' : 'bad'}">${esc(v ? yes : no)}</span>`;

/** The health of each 1C base, bank and register, and the monitoring rules' last checks. */
export function healthPages(kit: AdminKit): void {
  const { d } = kit;
  kit.view('/admin/health', 'Health of 1C bases, banks, registers', async (ctx, s, flash) => {
    const [ready, callbacks, registers, states] = await Promise.all([
      readiness(d),
      lastCallbacks(d.store.db),
      receiptsByRegister(d.store.db),
      syncStatesWithPrefix(d.store.db, 'monitor:'),
    ]);
    const devices = await Promise.all(
      d.fiscal.all().map(async ({ organizationId, register }) => {
        if (!register.health) return { organizationId, register, health: null, error: null };
        try {
          return { organizationId, register, health: await register.health(), error: null };
        } catch (e) {
          return { organizationId, register, health: null, error: (e as Error).message };
        }
      }),
    );
    const orgName = (id: string) => esc(d.orgs.get(id)?.name ?? id);
    const core = table(
      ['Что', 'Состояние', 'Подробности'],
      [
        ['Хранилище', ok(ready.checks.store.ok), `${esc(ready.checks.store.dialect)} ${esc(ready.checks.store.error ?? '')}`],
        ['Очередь заданий', ok(ready.checks.queue.ok), `${esc(ready.checks.queue.runner)} ${esc(ready.checks.queue.error ?? '')}`],
      ],
    );
    const onec = table(
      ['Организация', 'База 1С', 'Состояние', 'Ошибка'],
      Object.entries(ready.checks.onec).map(([org, c]) => [orgName(org), esc(c.transport), ok(c.ok), esc(c.error ?? '')]),
      'Базы 1С не подключены.',
    );
    const banks = table(
      ['Организация', 'Банк', 'Последнее уведомление'],
      d.config.organizations.flatMap((o) =>
        Object.keys(o.providers)
          .filter((p) => (o.providers as Record<string, unknown>)[p])
          .map((p) => [
            orgName(o.id),
            esc(p),
            esc(when(callbacks.find((c) => c.organization_id === o.id && c.provider === p)?.last ?? null)),
          ]),
      ),
      'Банки не подключены.',
    );
    const regs = table(
      ['Организация', 'Касса', 'Устройство', 'Последний чек', 'С ошибкой'],
      devices.map((x) => {
        const r = registers.find((y) => y.organization_id === x.organizationId && y.register_id === x.register.id);
        const device = x.health
          ? `${ok(x.health.online, 'на связи', 'не на связи')}${x.health.shift ? `, смена: ${esc(x.health.shift)}` : ''}${x.health.problems
              .map((p) => `<br><span class="muted">${esc(p.title)}</span>`)
              .join('')}`
          : x.error
            ? `<span class="bad">${esc(x.error)}</span>`
            : `<span class="muted">${esc(x.register.kind)}</span>`;
        return [orgName(x.organizationId), esc(x.register.id), device, esc(when(r?.last_done ?? null)), String(r?.failed ?? 0)];
      }),
      'Кассы не подключены.',
    );
    const rules = table(
      ['Правило', 'Значение', 'Состояние', 'Проверено'],
      states.map((row) => {
        const st = JSON.parse(row.value) as MonitorState;
        const rule = MONITOR_RULES.find((r) => r.name === st.rule);
        return [
          esc(rule?.title ?? st.rule),
          String(st.value),
          st.firing ? '<span class="bad">тревога</span>' : '<span class="good">норма</span>',
          esc(when(st.checkedAt)),
        ];
      }),
      'Проверок ещё не было.',
    );
    const body = `<p class="status-line">Общее состояние: <strong data-testid="ready-status">${esc(
      { ok: 'в порядке', degraded: 'частично (1С не отвечает)', unavailable: 'недоступен' }[ready.status],
    )}</strong></p>
<section class="card"><h2>Шлюз</h2>${core}</section>
<section class="card" id="health-onec"><h2>Базы 1С</h2>${onec}</section>
<section class="card" id="health-banks"><h2>Банки</h2>${banks}</section>
<section class="card" id="health-registers"><h2>Кассы</h2>${regs}</section>
<section class="card"><h2>Проверки мониторинга</h2>${rules}</section>`;
    sendPage(ctx, layout({ title: 'Состояние', active: '/admin/health', session: s, flash, body }));
  });
}
