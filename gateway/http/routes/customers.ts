import type { Middleware } from 'koa';
import { customerInvoicesSchema, customerViewSchema, putCustomerSchema } from '../../../schemas/api';
import { innProblem } from '../../domain/inn';
import { unprocessable } from '../../errors';
import { customerInvoices, customerView, putCustomerTerms } from '../../flows/orders/customers';
import type { ApiRouter } from '../api';
import type { HttpDeps } from '../deps';
import { jsonBody, pickOrganization } from '../middleware';

function innParam(inn: string): string {
  const problem = innProblem(inn);
  if (problem) throw unprocessable('validation_failed', 'the customer’s ИНН is not valid', [{ path: 'inn', message: problem }]);
  return inn;
}

/** B2B customers by ИНН: their terms (deferral, credit limit, overdue block) and what they owe. */
export function customerRoutes(api: ApiRouter, d: HttpDeps, auth: Middleware): void {
  api.route(
    {
      method: 'put',
      path: '/api/v1/customers/:inn',
      summary: 'Set a B2B customer’s terms: deferral, credit limit, the block on overdue debt',
      tag: 'customers',
      auth: 'site',
      body: putCustomerSchema,
      responses: { 200: { description: 'The customer with what it owes', schema: customerViewSchema } },
    },
    auth,
    async (ctx) => {
      const inn = innParam(ctx.params.inn);
      const input = await jsonBody(ctx, putCustomerSchema, d.bodyLimit);
      const org = pickOrganization(ctx, input.organization);
      await putCustomerTerms(d, org, inn, input);
      ctx.body = await customerView(d, org, inn);
    },
  );

  api.route(
    {
      method: 'get',
      path: '/api/v1/customers/:inn',
      summary: 'A B2B customer’s terms, what it owes and what is overdue',
      tag: 'customers',
      auth: 'site',
      responses: { 200: { description: 'The customer', schema: customerViewSchema } },
    },
    auth,
    async (ctx) => {
      const inn = innParam(ctx.params.inn);
      const org = pickOrganization(ctx, typeof ctx.query.organization === 'string' ? ctx.query.organization : undefined);
      ctx.body = await customerView(d, org, inn);
    },
  );

  api.route(
    {
      method: 'get',
      path: '/api/v1/customers/:inn/invoices',
      summary: 'A B2B customer’s invoices (the gateway’s and those its managers made in 1C), newest first, for the site’s B2B cabinet',
      tag: 'customers',
      auth: 'site',
      responses: { 200: { description: 'The invoices', schema: customerInvoicesSchema } },
    },
    auth,
    async (ctx) => {
      const inn = innParam(ctx.params.inn);
      const org = pickOrganization(ctx, typeof ctx.query.organization === 'string' ? ctx.query.organization : undefined);
      ctx.body = await customerInvoices(d, org, inn);
    },
  );
}
