import type { Kopecks } from '../../gateway/domain/money';
import { OneCError, type OneCContractSource, type OneCContractTerms } from '../../gateway/ports';
import { lit, type ODataClient } from './client';
import type { Mapping } from './mapping';
import { kopecksOf } from './sink';

/**
 * A buyer's terms from its contract in 1C: the Контрагент found by ИНН (and КПП when given, a branch
 * having its own), then its newest valid contract. УТ 11.5: ОграничиватьСуммуЗадолженности +
 * ДопустимаяСуммаЗадолженности (the credit limit), ЗапрещаетсяПросроченнаяЗадолженность,
 * УстановленСрокОплаты + СрокОплаты (days), Статус = Действует. УНФ: СрокОплатыПокупателя only.
 */
export class ODataContractSource implements OneCContractSource {
  constructor(
    private readonly client: ODataClient,
    private readonly mapping: Mapping,
  ) {}

  async termsOf(buyer: { inn: string; kpp?: string | null }): Promise<OneCContractTerms | null> {
    const spec = this.mapping.contract;
    const cp = this.mapping.counterparty;
    if (!spec) return null;
    if (!cp.fields.inn)
      throw new OneCError(
        'mapping',
        'mapping: counterparty.fields.inn is not given',
        'В сопоставлении (mapping) не указано поле ИНН контрагента.',
      );
    const byInn = `${cp.fields.inn} eq ${lit.string(buyer.inn)} and DeletionMark eq false`;
    let found = buyer.kpp && cp.fields.kpp ? await this.counterparties(`${byInn} and ${cp.fields.kpp} eq ${lit.string(buyer.kpp)}`) : [];
    if (found.length === 0) found = await this.counterparties(byInn);
    for (const ref of found) {
      const owner =
        spec.counterparty === 'Owner'
          ? `Owner eq cast(${lit.guid(ref)},${lit.string(cp.entity)})`
          : `${spec.counterparty} eq ${lit.guid(ref)}`;
      const filter = [owner, 'DeletionMark eq false', spec.validFilter].filter(Boolean).join(' and ');
      const [c] = await this.client.list(spec.entity, { filter, ...(spec.orderBy ? { orderby: `${spec.orderBy} desc` } : {}), top: 1 });
      if (!c) continue;
      const f = spec.fields;
      const flag = (name?: string) => (name ? c[name] === true : true);
      const days = f.deferredDays && flag(f.deferredSet) ? Math.max(0, Math.round(Number(c[f.deferredDays] ?? 0))) : 0;
      return {
        contract: String(c[f.name] ?? c.Ref_Key ?? ''),
        deferredDays: days > 0 ? days : null,
        creditLimit: f.creditLimit && flag(f.creditLimitSet) ? (kopecksOf(c[f.creditLimit]) as Kopecks) : null,
        blockOverdue: f.blockOverdue ? c[f.blockOverdue] === true : null,
      };
    }
    return null;
  }

  private async counterparties(filter: string): Promise<string[]> {
    const rows = await this.client.list(this.mapping.counterparty.entity, { filter, select: ['Ref_Key'], top: 5 });
    return rows.map((r) => String(r.Ref_Key));
  }
}
