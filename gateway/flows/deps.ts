import type { GatewayConfig, OrganizationConfig } from '../config';
import type { JobQueue } from '../jobs/queue';
import type { Logger } from '../log';
import type { AcquiringProvider, ProviderName } from '../ports';
import type { Store } from '../store/db';
import type { Alerts } from './alerts/alerts';
import type { FiscalRegisters } from './registries';
import type { OneCBases } from './onec/delivery';

/** The acquiring providers of each organization, built from the configuration. */
export class Providers {
  constructor(private readonly byOrg: Map<string, Map<ProviderName, AcquiringProvider>>) {}

  get(organizationId: string, name: string): AcquiringProvider | undefined {
    return this.byOrg.get(organizationId)?.get(name as ProviderName);
  }
}

/** Everything a flow may use; built once in main.ts. */
export interface FlowDeps {
  config: GatewayConfig;
  orgs: Map<string, OrganizationConfig>;
  store: Store;
  jobs: JobQueue;
  providers: Providers;
  alerts: Alerts;
  onec: OneCBases;
  fiscal: FiscalRegisters;
  log: Logger;
}
