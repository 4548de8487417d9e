import type { Middleware } from 'koa';
import { createOrderSchema, createPaymentSchema, orderViewSchema, paymentViewSchema } from '../../../schemas/api';
import { createOrder, getOrderFor } from '../../flows/orders/create';
import { createPayment } from '../../flows/payments/create';
import { loadPaymentView, orderView } from '../../flows/views';
import type { ApiRouter } from '../api';
import type { HttpDeps } from '../deps';
import { idempotent } from '../idempotency';
import { jsonBody, pickOrganization } from '../middleware';

export function orderRoutes(api: ApiRouter, d: HttpDeps, auth: Middleware): void {
  api.route(
    {
      method: 'post',
      path: '/api/v1/orders',
      summary: 'Create an order (the same externalId and body again returns the same order)',
      tag: 'orders',
      auth: 'site',
      body: createOrderSchema,
      responses: {
        201: { description: 'Created', schema: orderViewSchema },
        200: { description: 'The same order was created before', schema: orderViewSchema },
        409: { description: 'The externalId exists with different content' },
      },
    },
    auth,
    async (ctx) => {
      const input = await jsonBody(ctx, createOrderSchema, d.bodyLimit);
      const org = pickOrganization(ctx, input.organization);
      const { order, created } = await createOrder(d, org, input);
      ctx.status = created ? 201 : 200;
      ctx.body = await orderView(d.store.db, order);
    },
  );

  api.route(
    {
      method: 'get',
      path: '/api/v1/orders/:id',
      summary: 'An order with its payments',
      tag: 'orders',
      auth: 'site',
      responses: { 200: { description: 'The order', schema: orderViewSchema } },
    },
    auth,
    async (ctx) => {
      ctx.body = await orderView(d.store.db, await getOrderFor(d, ctx.state.orgs!, ctx.params.id));
    },
  );

  api.route(
    {
      method: 'post',
      path: '/api/v1/orders/:id/payments',
      summary: 'Start a payment of what is left to pay on the order',
      tag: 'payments',
      auth: 'site',
      body: createPaymentSchema,
      idempotencyKey: 'required',
      responses: {
        201: { description: 'Created; `action` says what the customer does next', schema: paymentViewSchema },
        409: { description: 'The order is already paid or cancelled; or the same Idempotency-Key is in flight' },
        502: { description: 'The payment provider did not accept the payment' },
      },
    },
    auth,
    async (ctx) => {
      const input = await jsonBody(ctx, createPaymentSchema, d.bodyLimit);
      await idempotent(ctx, d.store, async () => {
        const payment = await createPayment(d, ctx.state.orgs!, ctx.params.id, input);
        ctx.state.paymentId = payment.id;
        return { status: 201, body: await loadPaymentView(d.store.db, payment) };
      });
    },
  );
}
