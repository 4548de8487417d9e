import { eventually, orderBody, SITE_AUTH, startHarness } from '../helpers/harness';
test('smoke', async () => {
  const h = await startHarness({ fiscal: {} });
  try {
    const order = (await h.call('POST', '/api/v1/orders', orderBody(), SITE_AUTH)).body;
    const payment = (await h.call('POST', `/api/v1/orders/${order.id}/payments`, { method: 'card' }, { ...SITE_AUTH, 'idempotency-key': 'x1' })).body;
    await h.call('POST', `/sandbox/payments/${payment.id}/complete`, { outcome: 'paid' });
    const view = await eventually(async () => { const v = (await h.call('GET', `/api/v1/payments/${payment.id}`, undefined, SITE_AUTH)).body; return v.receipts?.[0]?.status === 'done' && v; }, 10000);
    console.log(JSON.stringify(view.receipts, null, 1));
    console.log(JSON.stringify(h.atol!.snapshot(), null, 1).slice(0, 3000));
  } catch (e) { console.log(h.logs.filter(l => /fiscal|receipt|error/i.test(l)).slice(-20).join('')); throw e; } finally { await h.close(); }
});
