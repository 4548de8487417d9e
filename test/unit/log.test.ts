import { createLogger } from '../../gateway/log';

function capture() {
  const chunks: string[] = [];
  const dest = { write: (s: string) => void chunks.push(s) };
  return { log: createLogger('info', dest), text: () => chunks.join('') };
}

const CARD = '4111111111111111';

describe('createLogger redaction', () => {
  test('secret fields, nested tokens and URL credentials do not reach the output; ordinary fields do', () => {
    const { log, text } = capture();
    log.info(
      { password: 'p1', nested: { token: 't1', orderId: 'ord-42' }, url: 'https://x/?password=abc&userName=u', amount: 150000 },
      'calling the bank',
    );
    const out = text();
    expect(out).not.toContain('p1');
    expect(out).not.toContain('t1');
    expect(out).not.toContain('abc');
    expect(out).toContain('ord-42');
    expect(out).toContain('150000');
    expect(out).toContain('https://x/?password=');
    expect(out).toContain('calling the bank');
    expect(JSON.parse(out.trim()).service).toBe('onec-gateway');
  });

  test('an error under err with a password and a card number in its message is scrubbed', () => {
    const { log, text } = capture();
    log.error({ err: new Error(`POST https://bank/?password=secret1 failed for card ${CARD}`), paymentId: 'pay-7' }, 'bank call failed');
    const out = text();
    expect(out).not.toContain('secret1');
    expect(out).not.toContain(CARD);
    expect(out).toContain('411111******1111');
    expect(out).toContain('pay-7');
  });

  test('a secret in the message string is scrubbed', () => {
    const { log, text } = capture();
    log.warn(`retrying https://bank/?password=secret1 for card ${CARD}`);
    const out = text();
    expect(out).not.toContain('secret1');
    expect(out).not.toContain(CARD);
    expect(out).toContain('retrying');
  });

  // Bug: pino copies err.message into `msg` inside its write(), after the logMethod hook (which only scrubs
  // string arguments) and outside formatters.log, so the raw message reaches the output.
  test('an Error logged as the only argument is scrubbed (its message becomes the log msg)', () => {
    const { log, text } = capture();
    log.error(new Error(`password=secret1 card ${CARD}`));
    const out = text();
    expect(out).not.toContain('secret1');
    expect(out).not.toContain(CARD);
  });

  test('an { err } object without a message is scrubbed too (pino copies err.message to msg)', () => {
    const { log, text } = capture();
    log.error({ err: new Error(`password=secret1 card ${CARD}`) });
    const out = text();
    expect(out).not.toContain('secret1');
    expect(out).not.toContain(CARD);
  });
});
