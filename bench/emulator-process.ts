import { SberEmulator } from '../test/emulators/sber/server';
import { SANDBOX } from '../test/sandbox/config';

/** The emulated bank in a process of its own (a real bank is not on the gateway's event loop). */
async function main() {
  const sber = new SberEmulator(
    [
      {
        userName: SANDBOX.sber.userName,
        password: SANDBOX.sber.password,
        callbackSecret: SANDBOX.sber.callbackSecret,
        callbackMode: 'symmetric',
      },
    ],
    { callbacks: 'off' },
  );
  await sber.start(0);
  // control channel: {complete: mdOrder} → the signed callback query for it
  process.on('message', (m: { id: number; complete?: string }) => {
    if (m.complete) {
      const order = sber.complete(m.complete, 'paid');
      process.send!({ id: m.id, query: new URLSearchParams(sber.callbackParams(order, 'deposited', 1)).toString() });
    }
  });
  // the benchmark ended or failed (its process gone): nothing is left to serve
  process.on('disconnect', () => process.exit(0));
  process.send!({ url: sber.restUrl });
}
void main();
