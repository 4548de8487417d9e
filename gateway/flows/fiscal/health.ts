/** What the fiscal devices schedule last saw of a register (sync_state `register-health:<org>:<register>`). */
export interface RegisterHealthState {
  online: boolean;
  /** When it stopped answering, while it does not. */
  offlineSince: string | null;
  problems: { key: string; title: string }[];
  checkedAt: string;
}
export const registerHealthKey = (organizationId: string, registerId: string) => `register-health:${organizationId}:${registerId}`;
/** The problems of the fiscal storage (ФН) and of its exchange with the ОФД. */
export const FISCAL_STORAGE_PROBLEMS = new Set(['fn-missing', 'fn-replace', 'fn-memory', 'fn-resource', 'fn-critical', 'ofd']);
