import type { GatewayConfig, OrganizationConfig } from '../config';
import type { JobQueue } from '../jobs/queue';
import type { Job, ScheduleDefinition } from '../jobs/types';
import type { Logger } from '../log';
import type { BuyerMessenger, InvoiceRenderer, SiteNotifier, StatementSource } from '../ports';
import type { Store } from '../store/db';
import type { Alerts } from './alerts/alerts';
import type { MatchingThread } from './statements/matching-thread';
import type { FiscalRegisters, OneCBases, Providers } from './registries';

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
  /** The site's webhook of each organization that has one. */
  sites: ReadonlyMap<string, SiteNotifier>;
  /** Messages to buyers (invoice reminders). */
  buyers: BuyerMessenger;
  /** The printed «Счет на оплату» (PDF, HTML). */
  invoiceDocuments: InvoiceRenderer;
  /** A bank statement file (1CClientBankExchange) as a statement source. */
  statementFile: (bytes: Buffer) => StatementSource;
  /** The bank statement API of each organization that reads one (payments.invoice.statementApi). */
  statementApis: ReadonlyMap<string, StatementSource>;
  log: Logger;
  /** The store the reports read (`reports.databaseUrl`, a replica); absent: the main store. */
  reportsStore?: Store;
  /** Statement matching on a thread of its own (a store in an SQLite file); absent: matching runs on the event loop. */
  matchingThread?: MatchingThread;
}

/**
 * One capability of the gateway as the job runner sees it: the kinds of job it defines and the
 * schedules it runs (a schedule the configuration does not call for is null). Each feature folder's
 * index.ts exports one; main.ts registers them.
 */
export interface Feature {
  name: string;
  jobs: Job<any, FlowDeps>[];
  schedules?: (d: FlowDeps) => (ScheduleDefinition | null)[];
}
