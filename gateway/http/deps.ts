import type { FlowDeps } from '../flows/deps';
import type { JobRunner } from '../jobs/types';
import type { Metrics } from './metrics';

export interface HttpDeps extends FlowDeps {
  metrics: Metrics;
  runner: JobRunner;
  version: string;
  /** Body limit for JSON APIs, bytes. */
  bodyLimit: number;
}
