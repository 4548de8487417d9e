import { openInvoices } from '../../store/invoices';
import {
  deadJobs,
  oldestWaitingJob,
  paidNotInOneC,
  paidWithoutCallback,
  SILENT_SAMPLE,
  receiptsStuck,
  reviewItemsOlderThan,
  scheduleLastRun,
} from '../../store/monitoring';
import { nowIso } from '../../store/db';
import { getSyncState, setSyncState } from '../../store/sync-state';
import { OneCError } from '../../ports';
import { noteAuthFailure } from '../alerts/auth-failures';
import { FISCAL_STORAGE_PROBLEMS, registerHealthKey, type RegisterHealthState } from '../fiscal/health';
import { authFailuresSince, pruneAuthFailures } from '../../store/alerts';
import type { FlowDeps } from '../deps';
import { HISTORY_SCHEDULE, historySchedule } from '../history/agent';
import { dueDateOf } from '../invoices/due';
import { moscowDate } from '../payments/invoice';

/** What a rule found: its value (the metric), whether that is past the threshold, and what support reads (Russian). */
export interface Measure {
  value: number;
  firing: boolean;
  detail: string;
}

export interface MonitorRule {
  /** The metric's `rule` label and the alert's key. */
  name: string;
  /** What support reads when it fires, in Russian. */
  title: string;
  severity: 'critical' | 'warning';
  /** Null when the rule does not apply to this set-up (no registry to read, say). */
  measure(d: FlowDeps, now: Date): Promise<Measure | null>;
}

const minutesAgo = (now: Date, m: number) => nowIso(now.getTime() - m * 60_000);
const minutesSince = (now: Date, iso: string) => Math.floor((now.getTime() - Date.parse(iso)) / 60_000);

/** A 1C base's ping, bounded: one that hangs counts as down. A refused login is counted for `auth_failures` too. */
async function reachable(d: FlowDeps, ping: () => Promise<void>, ms: number): Promise<string | null> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([ping(), new Promise((_, rej) => (timer = setTimeout(() => rej(new Error(`no answer in ${ms} ms`)), ms)))]);
    return null;
  } catch (e) {
    await noteAuthFailure(d.store.db, e);
    return e instanceof OneCError ? e.hint : (e as Error).message;
  } finally {
    clearTimeout(timer);
  }
}

/** Minutes as support reads them: seconds under a minute, a decimal under ten, else whole minutes. */
const fmtMinutes = (m: number) =>
  m < 1 ? `${Math.round(m * 60)} с` : `${m >= 10 ? Math.floor(m) : String(Math.round(m * 10) / 10).replace('.', ',')} мин`;

async function registerStates(d: FlowDeps): Promise<{ name: string; state: RegisterHealthState }[] | null> {
  const watched = d.fiscal.all().filter((x) => x.register.health);
  if (watched.length === 0) return null;
  const out: { name: string; state: RegisterHealthState }[] = [];
  for (const { organizationId, register } of watched) {
    const raw = await getSyncState(d.store.db, registerHealthKey(organizationId, register.id));
    if (!raw) continue;
    const org = d.orgs.get(organizationId)?.name ?? organizationId;
    out.push({ name: `касса ${register.id} («${org}»)`, state: JSON.parse(raw) as RegisterHealthState });
  }
  return out;
}

export const MONITOR_RULES: readonly MonitorRule[] = [
  {
    name: 'onec_unreachable_minutes',
    title: 'База 1С недоступна',
    severity: 'critical',
    async measure(d, now) {
      const bases = d.onec.all();
      if (bases.length === 0) return null;
      const m = d.config.monitoring.onecUnreachableMinutes;
      let worst = 0;
      const down: string[] = [];
      for (const [org, sink] of bases) {
        const key = `monitor-onec-down:${org}`;
        const error = await reachable(d, () => sink.ping(), 10_000);
        const since = await getSyncState(d.store.db, key);
        if (error === null) {
          if (since) await setSyncState(d.store, key, '');
          continue;
        }
        const from = since || now.toISOString();
        if (!since) await setSyncState(d.store, key, from);
        const minutes = (now.getTime() - Date.parse(from)) / 60_000;
        worst = Math.max(worst, minutes);
        down.push(`«${d.orgs.get(org)?.name ?? org}»: ${error} (${fmtMinutes(minutes)})`);
      }
      return {
        value: Math.round(worst * 100) / 100,
        firing: worst >= m,
        detail: `Не отвечает дольше ${fmtMinutes(m)}: ${down.join('; ')}. Оплаты ждут и будут записаны, когда база ответит.`,
      };
    },
  },
  {
    name: 'paid_not_in_1c',
    title: 'Оплаты не дошли до 1С',
    severity: 'critical',
    async measure(d, now) {
      const m = d.config.monitoring.paidNotInOneCMinutes;
      const n = await paidNotInOneC(d.store.db, minutesAgo(now, m));
      return {
        value: n,
        firing: n > 0,
        detail: `Оплачено, но не записано в 1С дольше ${m} мин: ${n}. Проверьте доступность базы 1С и мёртвые задания.`,
      };
    },
  },
  {
    name: 'dead_jobs',
    title: 'Есть мёртвые задания',
    severity: 'critical',
    async measure(d) {
      const max = d.config.monitoring.deadJobsMax;
      const n = await deadJobs(d.store.db);
      return {
        value: n,
        firing: n > max,
        detail: `Заданий, исчерпавших попытки: ${n}. Список и повтор: GET /api/v1/admin/jobs?status=dead.`,
      };
    },
  },
  {
    name: 'oldest_waiting_job_minutes',
    title: 'Очередь заданий стоит',
    severity: 'critical',
    async measure(d, now) {
      const m = d.config.monitoring.oldestWaitingJobMinutes;
      const due = await oldestWaitingJob(d.store.db, nowIso(now.getTime()));
      const age = due ? minutesSince(now, due) : 0;
      return {
        value: age,
        firing: age >= m,
        detail: `Самое старое задание ждёт выполнения ${age} мин (порог ${m}): не запущен обработчик заданий или он перегружен.`,
      };
    },
  },
  {
    name: 'receipts_stuck',
    title: 'Чеки не пробиты',
    severity: 'critical',
    async measure(d, now) {
      const m = d.config.monitoring.receiptsStuckMinutes;
      const n = await receiptsStuck(d.store.db, minutesAgo(now, m));
      return {
        value: n,
        firing: n > 0,
        detail: `Чеков с ошибкой или без ответа кассы дольше ${m} мин: ${n}. Список: GET /api/v1/admin/receipts?status=failed.`,
      };
    },
  },
  {
    name: 'review_items_old',
    title: 'Разбор операций ждёт больше суток',
    severity: 'warning',
    async measure(d, now) {
      const h = d.config.monitoring.reviewOlderThanHours;
      const n = await reviewItemsOlderThan(d.store.db, minutesAgo(now, h * 60));
      return {
        value: n,
        firing: n > 0,
        detail: `Банковских строк и операций банков на ручном разборе дольше ${h} ч: ${n}. Списки: /api/v1/admin/statement-lines и /api/v1/admin/operations.`,
      };
    },
  },
  {
    name: 'overdue_invoices',
    title: 'Просроченные счета',
    severity: 'warning',
    async measure(d, now) {
      const today = moscowDate(now.toISOString());
      let n = 0;
      for (let after = ''; ;) {
        const page = await openInvoices(d.store.db, 1000, after);
        if (page.length === 0) break;
        after = page[page.length - 1].invoice.id;
        for (const o of page) {
          const due = dueDateOf(o);
          if (due !== null && due < today) n++;
        }
      }
      const max = d.config.monitoring.overdueInvoicesMax;
      return {
        value: n,
        firing: n > max,
        detail: `Счетов с истёкшим сроком оплаты: ${n}. Список: GET /api/v1/admin/invoices?state=overdue.`,
      };
    },
  },
  {
    name: 'history_silent_hours',
    title: 'Агент истории платежей не запускался',
    severity: 'warning',
    async measure(d, now) {
      if (!historySchedule(d)) return null;
      const h = d.config.monitoring.historySilentHours;
      const last = await scheduleLastRun(d.store.db, HISTORY_SCHEDULE);
      const hours = last ? Math.floor(minutesSince(now, last) / 60) : h;
      return {
        value: hours,
        firing: hours >= h,
        detail: `Реестры операций банков не читались ${last ? `${hours} ч` : 'ни разу'} (порог ${h} ч).`,
      };
    },
  },
  {
    name: 'callbacks_silent_percent',
    title: 'Банк не присылает уведомления об оплате',
    severity: 'critical',
    async measure(d, now) {
      const { callbacksSilentPercent: max, callbacksSilentMinPayments: min } = d.config.monitoring;
      const { paid, silent } = await paidWithoutCallback(d.store.db, minutesAgo(now, 60));
      const percent = paid ? Math.round((silent / paid) * 100) : 0;
      return {
        value: percent,
        firing: paid >= min && percent > max,
        detail:
          `${paid < SILENT_SAMPLE ? `За последний час ${silent} из ${paid}` : `Из последних ${paid} за час ${silent}`} оплат картой и СБП шлюз узнал сам (опросом банка или из реестра), без уведомления банка. ` +
          'Проверьте адрес уведомлений (callback URL) в личном кабинете банка.',
      };
    },
  },
  {
    name: 'auth_failures',
    title: 'Внешняя система не принимает логин шлюза',
    severity: 'critical',
    async measure(d, now) {
      const { authFailuresMax: max, authFailuresWindowMinutes: w } = d.config.monitoring;
      await pruneAuthFailures(d.store.db, minutesAgo(now, Math.max(w, 60) * 24));
      const bySystem = await authFailuresSince(d.store.db, minutesAgo(now, w));
      const n = bySystem.reduce((s, x) => s + x.count, 0);
      return {
        value: n,
        firing: n > max,
        detail:
          `За ${fmtMinutes(w)} отказов в доступе: ${n} (${bySystem.map((x) => `${SYSTEM_NAMES[x.system] ?? x.system}: ${x.count}, последний — ${x.last}`).join('; ')}). ` +
          'Проверьте логин, пароль или токен этой системы в конфигурации шлюза (и не сменили ли их в самой системе); задания с этой ошибкой не повторяются сами — повторите их после исправления.',
      };
    },
  },
  {
    name: 'register_offline_minutes',
    title: 'Касса не отвечает',
    severity: 'critical',
    async measure(d, now) {
      const states = await registerStates(d);
      if (!states) return null;
      const m = d.config.monitoring.registerOfflineMinutes;
      let worst = 0;
      const down: string[] = [];
      for (const { name, state } of states) {
        if (state.online || !state.offlineSince) continue;
        const minutes = (now.getTime() - Date.parse(state.offlineSince)) / 60_000;
        worst = Math.max(worst, minutes);
        down.push(`${name} (${fmtMinutes(minutes)})`);
      }
      return {
        value: Math.round(worst * 100) / 100,
        firing: worst >= m,
        detail: `Не отвечает дольше ${fmtMinutes(m)}: ${down.join('; ')}. Чеки ждут и уйдут по порядку, когда касса ответит; проверьте питание, сеть и веб-сервер драйвера ККТ.`,
      };
    },
  },
  {
    name: 'fiscal_storage_warnings',
    title: 'Предупреждение фискального накопителя',
    severity: 'critical',
    async measure(d) {
      const states = await registerStates(d);
      if (!states) return null;
      const warned = states
        .map(({ name, state }) => ({ name, problems: state.problems.filter((p) => FISCAL_STORAGE_PROBLEMS.has(p.key)) }))
        .filter((x) => x.problems.length > 0);
      const max = d.config.monitoring.fiscalStorageWarningsMax;
      return {
        value: warned.length,
        firing: warned.length > max,
        detail: `Касс с предупреждением ФН или ОФД: ${warned.length} — ${warned.map((x) => `${x.name}: ${x.problems.map((p) => p.title).join(', ')}`).join('; ')}.`,
      };
    },
  },
];

/** The outside systems as support calls them. */
const SYSTEM_NAMES: Record<string, string> = {
  '1c': '1С',
  sber: 'Сбербанк',
  tbank: 'Т-Банк',
  'atol-online': 'АТОЛ Онлайн',
  'atol-driver': 'драйвер ККТ АТОЛ',
};
