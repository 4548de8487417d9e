import type { ScheduleDefinition } from '../../jobs/types';
import { ALERTS } from '../alerts/catalog';
import type { FlowDeps } from '../deps';
import { sha256 } from '../orders/create';

const EVERY_MS = 60 * 60 * 1000;

/**
 * Each base's mapping checked against the base itself, at start and every hour: a base that lacks
 * what the mapping names gets no documents (the sink refuses before writing), and support hears of
 * it now rather than at the first payment. A base that does not answer is left to the deliveries.
 */
export function checkBasesSchedule(d: FlowDeps): ScheduleDefinition | null {
  const orgs = d.config.organizations.filter((o) => d.onec.sink(o.id)?.verify);
  if (orgs.length === 0) return null;
  return {
    name: 'onec.check-bases',
    everyMs: EVERY_MS,
    handler: async () => {
      for (const org of orgs) {
        let errors: string[];
        try {
          ({ errors } = await d.onec.sink(org.id)!.verify!());
        } catch (e) {
          d.log.warn({ organizationId: org.id, err: e }, '1C base not checked: it did not answer');
          continue;
        }
        if (errors.length === 0) {
          d.log.info({ organizationId: org.id }, '1C base checked: the mapping fits');
          continue;
        }
        d.log.error({ organizationId: org.id, problems: errors }, '1C base does not have what the mapping names');
        const alert = ALERTS.onecMappingMismatch({
          organizationId: org.id,
          mapping: org.onec.mapping,
          errors,
          digest: sha256(errors.join('\n')).slice(0, 16),
        });
        await d.store.db.transaction().execute((trx) => d.alerts.raise(trx, alert));
      }
    },
  };
}
