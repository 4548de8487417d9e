import type { OrganizationConfig } from '../config';
import type { RegisterConfig } from '../config/fiscal';
import type { ReceiptRules } from '../domain/receipt-rules';
import { Semaphore } from '../limiter';
import type {
  AcquiringProvider,
  FiscalRegister,
  OneCContractSource,
  OneCInvoiceSource,
  OneCOrderSource,
  OneCSink,
  ProviderName,
  StatementSource,
} from '../ports';

/**
 * The outside systems each organization is connected to, built from the configuration in main.ts:
 * acquiring providers, 1C bases, cash registers. Flows look connectors up here and reach them only
 * through the interfaces of ports.ts.
 */

/** The acquiring providers of each organization. */
export class Providers {
  constructor(private readonly byOrg: Map<string, Map<ProviderName, AcquiringProvider>>) {}

  get(organizationId: string, name: string): AcquiringProvider | undefined {
    return this.byOrg.get(organizationId)?.get(name as ProviderName);
  }
}

/** The 1C side of each organization: where payments go, where manager-created orders come from. */
export class OneCBases {
  constructor(
    private readonly sinks: Map<string, OneCSink>,
    private readonly sources: Map<string, OneCOrderSource>,
    /** The organizations whose bank receipts in 1C are read as a statement (payments.invoice.statementsFrom1C). */
    private readonly bankReceipts: Map<string, StatementSource> = new Map(),
    private readonly invoiceSources: Map<string, OneCInvoiceSource> = new Map(),
    private readonly contractSources: Map<string, OneCContractSource> = new Map(),
  ) {}
  /** 1C's own bank receipts as a statement source, where the organization reads them. */
  statements(organizationId: string): StatementSource | undefined {
    return this.bankReceipts.get(organizationId);
  }
  sink(organizationId: string): OneCSink | undefined {
    return this.sinks.get(organizationId);
  }
  source(organizationId: string): OneCOrderSource | undefined {
    return this.sources.get(organizationId);
  }
  /** Where the organization's 1C invoices are read (OData, a mapping with invoiceSource). */
  invoices(organizationId: string): OneCInvoiceSource | undefined {
    return this.invoiceSources.get(organizationId);
  }
  /** Where the organization's buyers' contracts are read (OData, a mapping with contract). */
  contracts(organizationId: string): OneCContractSource | undefined {
    return this.contractSources.get(organizationId);
  }
  all(): [string, OneCSink][] {
    return [...this.sinks];
  }
}

export interface RouteFacts {
  method?: string;
  source?: string;
  pointOfSale?: string;
}

interface Entry {
  register: FiscalRegister;
  config: RegisterConfig;
  /** One send at a time per register in this process: receipts go out in the order they were made. */
  lock: Semaphore;
}

/** Each organization's cash registers and receipt rules, built from the configuration. */
export class FiscalRegisters {
  private readonly byOrg = new Map<string, Map<string, Entry>>();

  constructor(
    registers: { organizationId: string; register: FiscalRegister; config: RegisterConfig }[],
    private readonly rulesByOrg: Map<string, ReceiptRules>,
  ) {
    for (const r of registers) {
      if (!this.byOrg.has(r.organizationId)) this.byOrg.set(r.organizationId, new Map());
      this.byOrg.get(r.organizationId)!.set(r.register.id, { register: r.register, config: r.config, lock: new Semaphore(1) });
    }
  }

  get(organizationId: string, registerId: string): FiscalRegister | undefined {
    return this.byOrg.get(organizationId)?.get(registerId)?.register;
  }

  config(organizationId: string, registerId: string): RegisterConfig | undefined {
    return this.byOrg.get(organizationId)?.get(registerId)?.config;
  }

  lock(organizationId: string, registerId: string): Semaphore {
    const e = this.byOrg.get(organizationId)?.get(registerId);
    if (!e) throw new Error(`no register ${registerId} for ${organizationId}`);
    return e.lock;
  }

  rules(organizationId: string): ReceiptRules | undefined {
    return this.rulesByOrg.get(organizationId);
  }

  all(): { organizationId: string; register: FiscalRegister }[] {
    return [...this.byOrg].flatMap(([organizationId, m]) => [...m.values()].map((e) => ({ organizationId, register: e.register })));
  }

  /** The register a receipt goes to: the first route that matches, else the organization's first register. */
  route(org: OrganizationConfig, facts: RouteFacts): string {
    const f = org.fiscal;
    const hit = f.routes.find(
      (r) =>
        (!r.method || r.method === facts.method) &&
        (!r.source || r.source === facts.source) &&
        (!r.pointOfSale || r.pointOfSale === facts.pointOfSale),
    );
    return hit?.register ?? f.registers[0].id;
  }
}
