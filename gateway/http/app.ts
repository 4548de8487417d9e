import Koa from 'koa';
import type { ApiRouter } from './api';
import type { HttpDeps } from './deps';
import { authFailures, errorHandler, requestContext, siteAuth } from './middleware';
import { adminPages } from './pages/admin';
import { AdminSessions, adminApiAuth } from './pages/admin/session';
import { adminRoutes } from './routes/admin';
import { invoiceRoutes } from './routes/invoices';
import { callbackRoutes } from './routes/callbacks';
import { EXCHANGE_PATHS, exchangeRoutes } from './routes/exchange';
import { historyRoutes } from './routes/history';
import { onecRoutes } from './routes/onec';
import { opsRoutes } from './routes/ops';
import { customerRoutes } from './routes/customers';
import { orderRoutes } from './routes/orders';
import { payRoutes } from './routes/pay';
import { paymentRoutes } from './routes/payments';
import { receiptRoutes } from './routes/receipts';
import { reportRoutes } from './routes/reports';

/** Site key → organizations it serves, from every organization's `siteKeys`. */
export function siteKeyMap(d: HttpDeps): Map<string, Set<string>> {
  const keys = new Map<string, Set<string>>();
  for (const org of d.config.organizations) {
    for (const k of org.siteKeys) {
      if (!keys.has(k)) keys.set(k, new Set());
      keys.get(k)!.add(org.id);
    }
  }
  return keys;
}

/** The Koa application: every inbound route of the gateway. `extra` adds routes (the sandbox controls). */
export function buildApp(d: HttpDeps, api: ApiRouter, extra: ((api: ApiRouter) => void)[] = []): Koa {
  const app = new Koa({ proxy: d.config.server.trustProxy });
  app.silent = true;
  const site = siteAuth(siteKeyMap(d));
  const sessions = new AdminSessions(d);
  // the admin API: an admin key, or the session of the /admin pages (with its CSRF token on changes)
  const admin = adminApiAuth(d.config.admin.keys, sessions);

  orderRoutes(api, d, site);
  customerRoutes(api, d, site);
  paymentRoutes(api, d, site);
  payRoutes(api, d, site);
  receiptRoutes(api, d, site);
  onecRoutes(api, d);
  exchangeRoutes(api, d);
  callbackRoutes(api, d);
  adminRoutes(api, d, admin);
  invoiceRoutes(api, d, admin);
  historyRoutes(api, d, admin);
  reportRoutes(api, d, admin);
  opsRoutes(api, d);
  adminPages(api, d, sessions);
  for (const add of extra) add(api);

  app.use(requestContext(d.log, d.metrics));
  app.use(errorHandler());
  app.use(authFailures(d.authThrottle, EXCHANGE_PATHS));
  app.use(api.router.routes());
  app.use(api.router.allowedMethods());
  return app;
}
