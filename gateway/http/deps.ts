import type { FlowDeps } from '../flows/deps';
import type { JobRunner } from '../jobs/types';
import type { AuthThrottle } from './auth-throttle';
import type { Metrics } from './metrics';

export interface HttpDeps extends FlowDeps {
  metrics: Metrics;
  runner: JobRunner;
  version: string;
  /** Body limit for JSON APIs, bytes. */
  bodyLimit: number;
  /** Failed authentications per address (429 past the limit). */
  authThrottle: AuthThrottle;
  /** `draining`: shutdown has begun (readiness answers 503, connections are not kept alive). */
  lifecycle: { draining: boolean };
}
