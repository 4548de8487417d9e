import type { BuyerMessage, BuyerMessenger } from '../../gateway/ports';
import type { AlertLog } from './log';

/** An e-mail address as a log line may show it: the first letter and the domain. */
const masked = (email?: string) => (email ? email.replace(/^(.)[^@]*/, '$1***') : undefined);

/** Messages to buyers as log lines (the recipient's address masked): the channel every set-up has. */
export class LogBuyerMessenger implements BuyerMessenger {
  readonly name = 'log';
  constructor(private readonly log: AlertLog) {}
  async send(m: BuyerMessage): Promise<void> {
    this.log.info(
      {
        buyerMessage: {
          organizationId: m.organizationId,
          to: { name: m.to.name, email: masked(m.to.email) },
          subject: m.subject,
          // the link is the invoice's secret: not in the log
          ...(m.attachments?.length ? { attachments: m.attachments.map((a) => ({ filename: a.filename, size: a.content.length })) } : {}),
        },
      },
      m.text,
    );
  }
}
