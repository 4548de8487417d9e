import type { ApiRouter } from '../../api';
import type { HttpDeps } from '../../deps';
import { assetRoutes } from './assets';
import { healthPages } from './health';
import { jobPages } from './jobs';
import { makeKit } from './kit';
import { loginPages } from './login';
import { overviewPage } from './overview';
import { paymentPages } from './payments';
import { receiptPages } from './receipts';
import { reportPages } from './reports';
import { reviewPages } from './review';
import type { AdminSessions } from './session';

/** `/admin`: the server-rendered pages for support and accounting. */
export function adminPages(api: ApiRouter, d: HttpDeps, sessions: AdminSessions): void {
  const kit = makeKit(api, d, sessions);
  assetRoutes(api);
  loginPages(kit);
  overviewPage(kit);
  paymentPages(kit);
  jobPages(kit);
  reviewPages(kit);
  receiptPages(kit);
  reportPages(kit);
  healthPages(kit);
}
