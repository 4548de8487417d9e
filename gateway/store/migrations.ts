import { Migrator, sql, type Kysely, type Migration, type MigrationProvider, MssqlAdapter, PostgresAdapter } from 'kysely';
import type { Dialect } from './db';

/** Column types that mean the same on every dialect (MS SQL needs nvarchar for Cyrillic). */
function types(dialect: Dialect) {
  const ms = dialect === 'mssql';
  return {
    id: sql.raw('varchar(36)'),
    str: (n: number) => sql.raw(ms ? `nvarchar(${n})` : `varchar(${n})`),
    ascii: (n: number) => sql.raw(`varchar(${n})`),
    text: sql.raw(ms ? 'nvarchar(max)' : 'text'),
    money: sql.raw(dialect === 'sqlite' ? 'integer' : 'bigint'),
    int: sql.raw('integer'),
    ts: sql.raw('varchar(32)'),
  };
}

function dialectOfDb(db: Kysely<any>): Dialect {
  const adapter = db.getExecutor().adapter;
  if (adapter instanceof PostgresAdapter) return 'postgres';
  if (adapter instanceof MssqlAdapter) return 'mssql';
  return 'sqlite';
}

/** Drops an index: SQL Server names its table, the others do not take it. */
async function dropIndex(db: Kysely<any>, name: string, table: string): Promise<void> {
  const drop = db.schema.dropIndex(name);
  await (dialectOfDb(db) === 'mssql' ? drop.on(table) : drop).execute();
}

const m0001: Migration = {
  async up(db) {
    const t = types(dialectOfDb(db));

    await db.schema
      .createTable('orders')
      .addColumn('id', t.id, (c) => c.primaryKey())
      .addColumn('organization_id', t.ascii(64), (c) => c.notNull())
      .addColumn('external_id', t.str(128), (c) => c.notNull())
      .addColumn('number', t.str(64), (c) => c.notNull())
      .addColumn('source', t.ascii(16), (c) => c.notNull())
      .addColumn('customer', t.text, (c) => c.notNull())
      .addColumn('items', t.text, (c) => c.notNull())
      .addColumn('total', t.money, (c) => c.notNull())
      .addColumn('currency', t.ascii(3), (c) => c.notNull())
      .addColumn('payment_terms', t.text, (c) => c.notNull())
      .addColumn('status', t.ascii(32), (c) => c.notNull())
      .addColumn('paid_amount', t.money, (c) => c.notNull().defaultTo(0))
      .addColumn('refunded_amount', t.money, (c) => c.notNull().defaultTo(0))
      .addColumn('request_hash', t.ascii(64), (c) => c.notNull())
      .addColumn('created_at', t.ts, (c) => c.notNull())
      .addColumn('updated_at', t.ts, (c) => c.notNull())
      .addUniqueConstraint('orders_org_external_id', ['organization_id', 'external_id'])
      .execute();

    await db.schema
      .createTable('payments')
      .addColumn('id', t.id, (c) => c.primaryKey())
      .addColumn('order_id', t.id, (c) => c.notNull().references('orders.id'))
      .addColumn('organization_id', t.ascii(64), (c) => c.notNull())
      .addColumn('method', t.ascii(16), (c) => c.notNull())
      .addColumn('provider', t.ascii(32), (c) => c.notNull())
      .addColumn('amount', t.money, (c) => c.notNull())
      .addColumn('status', t.ascii(32), (c) => c.notNull())
      .addColumn('status_reason', t.str(500))
      .addColumn('refunded_amount', t.money, (c) => c.notNull().defaultTo(0))
      .addColumn('paid_at', t.ts)
      .addColumn('return_url', t.str(2000))
      .addColumn('fail_url', t.str(2000))
      .addColumn('action', t.text)
      .addColumn('created_at', t.ts, (c) => c.notNull())
      .addColumn('updated_at', t.ts, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('payments_order_id').on('payments').column('order_id').execute();

    await db.schema
      .createTable('payment_attempts')
      .addColumn('id', t.id, (c) => c.primaryKey())
      .addColumn('payment_id', t.id, (c) => c.notNull().references('payments.id'))
      .addColumn('organization_id', t.ascii(64), (c) => c.notNull())
      .addColumn('provider', t.ascii(32), (c) => c.notNull())
      .addColumn('order_number', t.ascii(64), (c) => c.notNull())
      .addColumn('provider_ref', t.ascii(128))
      .addColumn('state', t.ascii(16), (c) => c.notNull())
      .addColumn('provider_state', t.ascii(32))
      .addColumn('next_check_at', t.ts)
      .addColumn('checks', t.int, (c) => c.notNull().defaultTo(0))
      .addColumn('error', t.str(1000))
      .addColumn('created_at', t.ts, (c) => c.notNull())
      .addColumn('updated_at', t.ts, (c) => c.notNull())
      .addUniqueConstraint('payment_attempts_provider_order_number', ['provider', 'organization_id', 'order_number'])
      .execute();
    await db.schema.createIndex('payment_attempts_provider_ref').on('payment_attempts').columns(['provider', 'provider_ref']).execute();
    await db.schema.createIndex('payment_attempts_payment_id').on('payment_attempts').column('payment_id').execute();
    await db.schema.createIndex('payment_attempts_next_check').on('payment_attempts').columns(['state', 'next_check_at']).execute();

    await db.schema
      .createTable('payment_events')
      .addColumn('id', t.id, (c) => c.primaryKey())
      .addColumn('organization_id', t.ascii(64), (c) => c.notNull())
      .addColumn('provider', t.ascii(32), (c) => c.notNull())
      .addColumn('attempt_id', t.id)
      .addColumn('kind', t.ascii(16), (c) => c.notNull())
      .addColumn('dedupe_key', t.ascii(200), (c) => c.notNull().unique())
      .addColumn('payload', t.text, (c) => c.notNull())
      .addColumn('outcome', t.str(200))
      .addColumn('received_at', t.ts, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('payment_events_attempt_id').on('payment_events').column('attempt_id').execute();

    await db.schema
      .createTable('refunds')
      .addColumn('id', t.id, (c) => c.primaryKey())
      .addColumn('payment_id', t.id, (c) => c.notNull().references('payments.id'))
      .addColumn('amount', t.money, (c) => c.notNull())
      .addColumn('status', t.ascii(16), (c) => c.notNull())
      .addColumn('refunded_before', t.money, (c) => c.notNull())
      .addColumn('error', t.str(1000))
      .addColumn('created_at', t.ts, (c) => c.notNull())
      .addColumn('updated_at', t.ts, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('refunds_payment_id').on('refunds').column('payment_id').execute();

    await db.schema
      .createTable('idempotency_keys')
      .addColumn('scope', t.ascii(128), (c) => c.notNull())
      .addColumn('key', t.ascii(255), (c) => c.notNull())
      .addColumn('request_hash', t.ascii(64), (c) => c.notNull())
      .addColumn('state', t.ascii(16), (c) => c.notNull())
      .addColumn('response_status', t.int)
      .addColumn('response_body', t.text)
      .addColumn('locked_until', t.ts, (c) => c.notNull())
      .addColumn('created_at', t.ts, (c) => c.notNull())
      .addPrimaryKeyConstraint('idempotency_keys_pk', ['scope', 'key'])
      .execute();

    await db.schema
      .createTable('jobs')
      .addColumn('id', t.id, (c) => c.primaryKey())
      .addColumn('name', t.ascii(64), (c) => c.notNull())
      .addColumn('dedupe_key', t.str(255))
      .addColumn('payload', t.text, (c) => c.notNull())
      .addColumn('status', t.ascii(16), (c) => c.notNull())
      .addColumn('attempts', t.int, (c) => c.notNull().defaultTo(0))
      .addColumn('max_attempts', t.int, (c) => c.notNull())
      .addColumn('run_at', t.ts, (c) => c.notNull())
      .addColumn('locked_until', t.ts)
      .addColumn('locked_by', t.ascii(64))
      .addColumn('last_error', t.str(2000))
      .addColumn('created_at', t.ts, (c) => c.notNull())
      .addColumn('updated_at', t.ts, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('jobs_status_run_at').on('jobs').columns(['status', 'run_at']).execute();
    await db.schema.createIndex('jobs_dedupe_key').on('jobs').column('dedupe_key').unique().where('dedupe_key', 'is not', null).execute();

    await db.schema
      .createTable('schedules')
      .addColumn('name', t.ascii(64), (c) => c.primaryKey())
      .addColumn('next_run_at', t.ts, (c) => c.notNull())
      .addColumn('locked_until', t.ts)
      .addColumn('locked_by', t.ascii(64))
      .addColumn('last_run_at', t.ts)
      .addColumn('last_error', t.str(2000))
      .execute();
  },
  async down(db) {
    for (const table of ['schedules', 'jobs', 'idempotency_keys', 'refunds', 'payment_events', 'payment_attempts', 'payments', 'orders']) {
      await db.schema.dropTable(table).execute();
    }
  },
};

const m0002: Migration = {
  async up(db) {
    const t = types(dialectOfDb(db));
    await db.schema.alterTable('orders').addColumn('onec_ref', t.ascii(64)).execute();
    await db.schema.alterTable('orders').addColumn('pay_token', t.ascii(32)).execute();
    await db.schema.createIndex('orders_pay_token').on('orders').column('pay_token').unique().where('pay_token', 'is not', null).execute();
    await db.schema.createIndex('orders_onec_ref').on('orders').columns(['organization_id', 'onec_ref']).execute();
    for (const table of ['payments', 'refunds']) {
      await db.schema
        .alterTable(table)
        .addColumn('onec_status', t.ascii(16), (c) => c.notNull().defaultTo('not_configured'))
        .execute();
      await db.schema.alterTable(table).addColumn('onec_document', t.ascii(64)).execute();
      await db.schema.alterTable(table).addColumn('onec_number', t.str(64)).execute();
      await db.schema.alterTable(table).addColumn('onec_error', t.str(1000)).execute();
    }
    await db.schema.createIndex('payments_updated_at').on('payments').columns(['organization_id', 'updated_at']).execute();
    await db.schema
      .createTable('sync_state')
      .addColumn('key', t.ascii(128), (c) => c.primaryKey())
      .addColumn('value', t.text, (c) => c.notNull())
      .addColumn('updated_at', t.ts, (c) => c.notNull())
      .execute();
  },
  async down(db) {
    await db.schema.dropTable('sync_state').execute();
  },
};

const m0003: Migration = {
  async up(db) {
    const t = types(dialectOfDb(db));
    const cols: [string, ReturnType<typeof t.str> | typeof t.ts][] = [
      ['exported_at', t.ts],
      ['onec_number', t.str(64)],
      ['onec_status_text', t.str(200)],
      ['onec_paid_number', t.str(64)],
      ['onec_paid_at', t.ts],
      ['shipped_at', t.ts],
      ['onec_shipment_number', t.str(64)],
      ['cancelled_at', t.ts],
      ['cancel_reason', t.str(500)],
    ];
    for (const [name, type] of cols) await db.schema.alterTable('orders').addColumn(name, type).execute();
    await db.schema.createIndex('orders_org_number').on('orders').columns(['organization_id', 'number']).execute();
    await db.schema
      .createTable('exchange_sessions')
      .addColumn('id', t.ascii(64), (c) => c.primaryKey())
      .addColumn('base_id', t.ascii(64), (c) => c.notNull())
      .addColumn('version', t.ascii(8))
      .addColumn('query_at', t.ts)
      .addColumn('query_orders', t.text)
      .addColumn('created_at', t.ts, (c) => c.notNull())
      .addColumn('last_seen_at', t.ts, (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('exchange_files')
      .addColumn('session_id', t.ascii(64), (c) => c.notNull())
      .addColumn('filename', t.str(255), (c) => c.notNull())
      .addColumn('bytes', t.money, (c) => c.notNull())
      .addColumn('state', t.ascii(16), (c) => c.notNull())
      .addColumn('result', t.text)
      .addColumn('updated_at', t.ts, (c) => c.notNull())
      .addPrimaryKeyConstraint('exchange_files_pk', ['session_id', 'filename'])
      .execute();
  },
  async down(db) {
    await db.schema.dropTable('exchange_files').execute();
    await db.schema.dropTable('exchange_sessions').execute();
  },
};

const m0004: Migration = {
  async up(db) {
    const t = types(dialectOfDb(db));
    await db.schema
      .alterTable('payment_attempts')
      .addColumn('method', t.ascii(16), (c) => c.notNull().defaultTo('card'))
      .execute();
    await db.schema.alterTable('payment_attempts').addColumn('amount', t.money).execute();
    await db.schema.alterTable('payment_attempts').addColumn('provider_extra', t.str(1000)).execute();
    await db.schema.alterTable('payment_attempts').addColumn('expires_at', t.ts).execute();
    // led by the provider and the number: a lookup by provider_ref must keep using payment_attempts_provider_ref
    await db.schema.createIndex('payment_attempts_order_number').on('payment_attempts').columns(['provider', 'order_number']).execute();
    await db.schema
      .createTable('payment_operations')
      .addColumn('id', t.id, (c) => c.primaryKey())
      .addColumn('organization_id', t.ascii(64), (c) => c.notNull())
      .addColumn('provider', t.ascii(32), (c) => c.notNull())
      .addColumn('op_key', t.str(200), (c) => c.notNull())
      .addColumn('kind', t.ascii(16), (c) => c.notNull())
      .addColumn('provider_ref', t.str(100), (c) => c.notNull())
      .addColumn('order_number', t.str(100))
      .addColumn('method', t.ascii(16))
      .addColumn('amount', t.money, (c) => c.notNull())
      .addColumn('occurred_at', t.ts, (c) => c.notNull())
      .addColumn('payer_bank', t.str(200))
      .addColumn('purpose', t.str(500))
      .addColumn('channel', t.ascii(16))
      .addColumn('source', t.ascii(16), (c) => c.notNull())
      .addColumn('attempt_id', t.id)
      .addColumn('payment_id', t.id)
      .addColumn('order_id', t.id)
      .addColumn('match_state', t.ascii(16), (c) => c.notNull())
      .addColumn('match_note', t.str(1000))
      .addColumn('lines', t.text)
      .addColumn('raw', t.text)
      .addColumn('created_at', t.ts, (c) => c.notNull())
      .addColumn('updated_at', t.ts, (c) => c.notNull())
      .addUniqueConstraint('payment_operations_key', ['organization_id', 'op_key'])
      .execute();
    await db.schema
      .createIndex('payment_operations_ref')
      .on('payment_operations')
      .columns(['organization_id', 'provider', 'provider_ref'])
      .execute();
    await db.schema.createIndex('payment_operations_state').on('payment_operations').columns(['match_state', 'occurred_at']).execute();
    await db.schema.createIndex('payment_operations_order').on('payment_operations').column('order_id').execute();
  },
  async down(db) {
    await db.schema.dropTable('payment_operations').execute();
  },
};

const m0005: Migration = {
  async up(db) {
    const t = types(dialectOfDb(db));
    await db.schema
      .createTable('receipts')
      .addColumn('id', t.id, (c) => c.primaryKey())
      .addColumn('organization_id', t.ascii(64), (c) => c.notNull())
      .addColumn('order_id', t.id)
      .addColumn('payment_id', t.id)
      .addColumn('refund_id', t.id)
      .addColumn('register_id', t.ascii(32), (c) => c.notNull())
      .addColumn('kind', t.ascii(16), (c) => c.notNull())
      .addColumn('operation', t.ascii(32), (c) => c.notNull())
      .addColumn('external_id', t.ascii(128), (c) => c.notNull().unique())
      .addColumn('request_hash', t.ascii(64))
      .addColumn('attempt', t.int, (c) => c.notNull().defaultTo(0))
      .addColumn('status', t.ascii(16), (c) => c.notNull())
      .addColumn('total', t.money, (c) => c.notNull())
      .addColumn('body', t.text, (c) => c.notNull())
      .addColumn('mirrors', t.id)
      .addColumn('provider_uuid', t.ascii(64))
      .addColumn('fn_number', t.ascii(32))
      .addColumn('fiscal_document_number', t.money)
      .addColumn('fiscal_document_attribute', t.money)
      .addColumn('fiscal_datetime', t.ts)
      .addColumn('ecr_registration_number', t.ascii(32))
      .addColumn('shift_number', t.int)
      .addColumn('ofd_receipt_url', t.str(1000))
      .addColumn('error', t.str(1000))
      .addColumn('error_code', t.ascii(32))
      .addColumn('checks', t.int, (c) => c.notNull().defaultTo(0))
      .addColumn('next_check_at', t.ts)
      .addColumn('sent_at', t.ts)
      .addColumn('done_at', t.ts)
      .addColumn('created_at', t.ts, (c) => c.notNull())
      .addColumn('updated_at', t.ts, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('receipts_payment_id').on('receipts').column('payment_id').execute();
    await db.schema.createIndex('receipts_order_id').on('receipts').column('order_id').execute();
    await db.schema
      .createIndex('receipts_register_status')
      .on('receipts')
      .columns(['organization_id', 'register_id', 'status', 'created_at'])
      .execute();
    await db.schema.createIndex('receipts_status_check').on('receipts').columns(['status', 'next_check_at']).execute();
  },
  async down(db) {
    await db.schema.dropTable('receipts').execute();
  },
};

/** `waiting_for_order` (a payment whose order 1C has not got yet) is longer than the 16 characters onec_status had. */
const m0006: Migration = {
  async up(db) {
    const dialect = dialectOfDb(db);
    for (const table of ['payments', 'refunds']) {
      // SQLite does not enforce a varchar's length; SQL Server keeps the default constraint when only the length grows
      if (dialect === 'postgres') await sql`alter table ${sql.table(table)} alter column onec_status type varchar(32)`.execute(db);
      if (dialect === 'mssql') await sql`alter table ${sql.table(table)} alter column onec_status varchar(32) not null`.execute(db);
    }
  },
};

/**
 * CommerceML export marks per 1C base: which state of an order each base confirmed (`mode=success`).
 * `orders.exported_at` stays as the mark of orders confirmed before, for a base with none of its own.
 */
const m0007: Migration = {
  async up(db) {
    const t = types(dialectOfDb(db));
    await db.schema
      .createTable('exchange_exports')
      .addColumn('base_id', t.ascii(64), (c) => c.notNull())
      .addColumn('order_id', t.id, (c) => c.notNull())
      .addColumn('exported_at', t.ts, (c) => c.notNull())
      .addPrimaryKeyConstraint('exchange_exports_pk', ['base_id', 'order_id'])
      .execute();
  },
  async down(db) {
    await db.schema.dropTable('exchange_exports').execute();
  },
};

/** Incoming bank statement lines (a statement file, a bank API, 1C's documents), each stored once, and what they were matched to. */
const m0008: Migration = {
  async up(db) {
    const t = types(dialectOfDb(db));
    await db.schema
      .createTable('statement_lines')
      .addColumn('id', t.id, (c) => c.primaryKey())
      .addColumn('organization_id', t.ascii(64), (c) => c.notNull())
      .addColumn('line_key', t.str(200), (c) => c.notNull())
      .addColumn('source', t.ascii(32), (c) => c.notNull())
      .addColumn('account', t.ascii(34), (c) => c.notNull())
      .addColumn('kind', t.str(64), (c) => c.notNull())
      .addColumn('number', t.str(64), (c) => c.notNull())
      .addColumn('doc_date', t.ts, (c) => c.notNull())
      .addColumn('bank_date', t.ts)
      .addColumn('amount', t.money, (c) => c.notNull())
      .addColumn('payer_name', t.str(500), (c) => c.notNull())
      .addColumn('payer_inn', t.ascii(12))
      .addColumn('payer_kpp', t.ascii(9))
      .addColumn('payer_account', t.ascii(34))
      .addColumn('payer_bik', t.ascii(9))
      .addColumn('purpose', t.str(1000), (c) => c.notNull())
      .addColumn('uip', t.str(25))
      .addColumn('match_state', t.ascii(16), (c) => c.notNull())
      .addColumn('match_note', t.str(1000))
      .addColumn('allocations', t.text)
      .addColumn('advance', t.money, (c) => c.notNull().defaultTo(0))
      .addColumn('flags', t.str(200))
      .addColumn('created_at', t.ts, (c) => c.notNull())
      .addColumn('updated_at', t.ts, (c) => c.notNull())
      .addUniqueConstraint('statement_lines_key', ['organization_id', 'line_key'])
      .execute();
    await db.schema.createIndex('statement_lines_state').on('statement_lines').columns(['organization_id', 'match_state']).execute();
  },
  async down(db) {
    await db.schema.dropTable('statement_lines').execute();
  },
};

/** B2B invoices (payment by bank transfer) and their numbering, a series per organization and year. */
const m0009: Migration = {
  async up(db) {
    const t = types(dialectOfDb(db));
    await db.schema
      .createTable('invoices')
      .addColumn('id', t.id, (c) => c.primaryKey())
      .addColumn('organization_id', t.ascii(64), (c) => c.notNull())
      .addColumn('order_id', t.id, (c) => c.notNull().references('orders.id'))
      .addColumn('payment_id', t.id, (c) => c.notNull().references('payments.id'))
      .addColumn('year', t.int, (c) => c.notNull())
      .addColumn('seq', t.int, (c) => c.notNull())
      .addColumn('number', t.str(32), (c) => c.notNull())
      .addColumn('date', t.ascii(10), (c) => c.notNull())
      .addColumn('due_date', t.ascii(10))
      .addColumn('due_days_after_shipment', t.int)
      .addColumn('amount', t.money, (c) => c.notNull())
      .addColumn('token', t.ascii(64), (c) => c.notNull().unique())
      .addColumn('bank_number', t.str(32))
      .addColumn('bank_date', t.ascii(10))
      .addColumn('created_at', t.ts, (c) => c.notNull())
      .addUniqueConstraint('invoices_number', ['organization_id', 'year', 'seq'])
      .execute();
    await db.schema.createIndex('invoices_order_id').on('invoices').column('order_id').execute();
    await db.schema
      .createTable('invoice_series')
      .addColumn('organization_id', t.ascii(64), (c) => c.notNull())
      .addColumn('year', t.int, (c) => c.notNull())
      .addColumn('last', t.int, (c) => c.notNull())
      .addPrimaryKeyConstraint('invoice_series_pk', ['organization_id', 'year'])
      .execute();
  },
  async down(db) {
    await db.schema.dropTable('invoices').execute();
    await db.schema.dropTable('invoice_series').execute();
  },
};

/**
 * B2B customers and their terms (the gateway's own, when no 1C contract gives them), and each
 * order's buyer ИНН, by which a customer's debt is found.
 */
const m0010: Migration = {
  async up(db) {
    const t = types(dialectOfDb(db));
    await db.schema
      .createTable('customers')
      .addColumn('organization_id', t.ascii(64), (c) => c.notNull())
      .addColumn('inn', t.ascii(12), (c) => c.notNull())
      .addColumn('kpp', t.ascii(9))
      .addColumn('name', t.str(256), (c) => c.notNull())
      .addColumn('deferred_days', t.int)
      .addColumn('deferred_from', t.ascii(16))
      .addColumn('credit_limit', t.money)
      .addColumn('block_overdue', t.int, (c) => c.notNull().defaultTo(1))
      .addColumn('updated_at', t.ts, (c) => c.notNull())
      .addPrimaryKeyConstraint('customers_pk', ['organization_id', 'inn'])
      .execute();
    await db.schema.alterTable('orders').addColumn('customer_inn', t.ascii(12)).execute();
    await db.schema.createIndex('orders_customer_inn').on('orders').columns(['organization_id', 'customer_inn']).execute();
  },
  async down(db) {
    await dropIndex(db, 'orders_customer_inn', 'orders');
    await db.schema.alterTable('orders').dropColumn('customer_inn').execute();
    await db.schema.dropTable('customers').execute();
  },
};

/**
 * Invoices paid in parts: what each invoice has been paid so far, its УИП (field 22 «Код» of the
 * payment order, when the organization prints one), and each bank transfer applied to it — a statement
 * line's share, once, with the payment it became (a part or the last of the invoice); and when each
 * matched line was applied.
 */
const m0011: Migration = {
  async up(db) {
    const t = types(dialectOfDb(db));
    await db.schema
      .alterTable('invoices')
      .addColumn('paid', t.money, (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema.alterTable('invoices').addColumn('uip', t.ascii(25)).execute();
    await db.schema
      .createTable('invoice_transfers')
      .addColumn('statement_line_id', t.id, (c) => c.notNull())
      .addColumn('invoice_id', t.id, (c) => c.notNull().references('invoices.id'))
      .addColumn('payment_id', t.id, (c) => c.notNull().references('payments.id'))
      .addColumn('amount', t.money, (c) => c.notNull())
      .addColumn('bank_number', t.str(32), (c) => c.notNull())
      .addColumn('bank_date', t.ascii(10), (c) => c.notNull())
      .addColumn('created_at', t.ts, (c) => c.notNull())
      .addPrimaryKeyConstraint('invoice_transfers_pk', ['statement_line_id', 'invoice_id'])
      .execute();
    await db.schema.createIndex('invoice_transfers_payment_id').on('invoice_transfers').column('payment_id').execute();
    await db.schema.createIndex('invoice_transfers_invoice_id').on('invoice_transfers').column('invoice_id').execute();
    // a matched line is applied once; the ones still to apply are found without reading every line ever matched
    await db.schema.alterTable('statement_lines').addColumn('applied_at', t.ts).execute();
    await db.schema
      .createIndex('statement_lines_to_apply')
      .on('statement_lines')
      .columns(['organization_id', 'applied_at', 'match_state'])
      .execute();
  },
  async down(db) {
    await dropIndex(db, 'statement_lines_to_apply', 'statement_lines');
    await db.schema.alterTable('statement_lines').dropColumn('applied_at').execute();
    await db.schema.dropTable('invoice_transfers').execute();
    await db.schema.alterTable('invoices').dropColumn('uip').execute();
    await db.schema.alterTable('invoices').dropColumn('paid').execute();
  },
};

/** A bank line read from 1C's own bank documents keeps the document it came from (the gateway writes none for it). */
const m0012: Migration = {
  async up(db) {
    const t = types(dialectOfDb(db));
    await db.schema.alterTable('statement_lines').addColumn('onec_ref', t.ascii(36)).execute();
    await db.schema.alterTable('statement_lines').addColumn('onec_number', t.str(32)).execute();
  },
  async down(db) {
    await db.schema.alterTable('statement_lines').dropColumn('onec_number').execute();
    await db.schema.alterTable('statement_lines').dropColumn('onec_ref').execute();
  },
};

/** Invoices a manager made in 1C: the 1C document each one is (how it is found again on the next pull). */
const m0013: Migration = {
  async up(db) {
    const t = types(dialectOfDb(db));
    await db.schema.alterTable('invoices').addColumn('onec_ref', t.ascii(36)).execute();
    // one gateway invoice per 1C invoice, whichever process pulls it (SQL Server: a filtered index, else it
    // would allow a single NULL)
    await db.schema
      .createIndex('invoices_onec_ref')
      .unique()
      .on('invoices')
      .columns(['organization_id', 'onec_ref'])
      .where('onec_ref', 'is not', null)
      .execute();
  },
  async down(db) {
    await dropIndex(db, 'invoices_onec_ref', 'invoices');
    await db.schema.alterTable('invoices').dropColumn('onec_ref').execute();
  },
};

/**
 * What statement matching reads of an invoice kept on the invoice itself — its order's number and the
 * buyer's ИНН and КПП (an order's number and customer do not change) — so the organization's open
 * invoices are read by one index in the order of their ids, without an order looked up for each.
 */
const m0014: Migration = {
  async up(db) {
    const dialect = dialectOfDb(db);
    const t = types(dialect);
    await db.schema.alterTable('invoices').addColumn('order_number', t.str(64)).execute();
    await db.schema.alterTable('invoices').addColumn('buyer_inn', t.ascii(12)).execute();
    await db.schema.alterTable('invoices').addColumn('buyer_kpp', t.ascii(9)).execute();
    const field = (name: 'inn' | 'kpp') =>
      dialect === 'postgres'
        ? sql`(cast(o.customer as jsonb) ->> ${sql.lit(name)})`
        : dialect === 'mssql'
          ? sql`json_value(o.customer, ${sql.lit(`$.${name}`)})`
          : sql`json_extract(o.customer, ${sql.lit(`$.${name}`)})`;
    await sql`update invoices set
        order_number = (select o.number from orders o where o.id = invoices.order_id),
        buyer_inn = (select ${field('inn')} from orders o where o.id = invoices.order_id),
        buyer_kpp = (select ${field('kpp')} from orders o where o.id = invoices.order_id)`.execute(db);
    await db.schema.createIndex('invoices_org_id').on('invoices').columns(['organization_id', 'id']).execute();
  },
  async down(db) {
    await dropIndex(db, 'invoices_org_id', 'invoices');
    await db.schema.alterTable('invoices').dropColumn('buyer_kpp').execute();
    await db.schema.alterTable('invoices').dropColumn('buyer_inn').execute();
    await db.schema.alterTable('invoices').dropColumn('order_number').execute();
  },
};

/**
 * Reports: the acquirer's fee of an operation where the bank reports one, and the indexes the reports
 * read a period by (payments paid, refunds made, operations and statement lines of the days asked).
 */
const m0015: Migration = {
  async up(db) {
    const t = types(dialectOfDb(db));
    await db.schema.alterTable('payment_operations').addColumn('fee', t.money).execute();
    await db.schema
      .createIndex('payments_paid_at')
      .on('payments')
      .columns(['paid_at', 'id', 'status', 'organization_id', 'method', 'provider', 'amount'])
      .execute();
    await db.schema.createIndex('refunds_created_at').on('refunds').column('created_at').execute();
    await db.schema
      .createIndex('payment_operations_payment')
      .on('payment_operations')
      .columns(['payment_id', 'kind', 'amount', 'fee', 'occurred_at'])
      .execute();
    await db.schema.createIndex('payment_operations_occurred').on('payment_operations').columns(['occurred_at', 'id']).execute();
    await db.schema.createIndex('invoice_transfers_bank_date').on('invoice_transfers').columns(['bank_date', 'invoice_id']).execute();
    await db.schema.createIndex('statement_lines_doc_date').on('statement_lines').columns(['doc_date', 'id']).execute();
  },
  async down(db) {
    await dropIndex(db, 'statement_lines_doc_date', 'statement_lines');
    await dropIndex(db, 'invoice_transfers_bank_date', 'invoice_transfers');
    await dropIndex(db, 'payment_operations_occurred', 'payment_operations');
    await dropIndex(db, 'payment_operations_payment', 'payment_operations');
    await dropIndex(db, 'refunds_created_at', 'refunds');
    await dropIndex(db, 'payments_paid_at', 'payments');
    await db.schema.alterTable('payment_operations').dropColumn('fee').execute();
  },
};

/** Every alert raised, where it went and how that went; the connectors' refused logins (monitoring counts them). */
const m0016: Migration = {
  async up(db) {
    const t = types(dialectOfDb(db));
    await db.schema
      .createTable('alerts')
      .addColumn('id', t.id, (c) => c.primaryKey())
      // sha256 of key and hour: one alert per key and hour, whichever process raises it
      .addColumn('dedupe', t.ascii(64), (c) => c.notNull().unique())
      .addColumn('key_hash', t.ascii(64), (c) => c.notNull())
      .addColumn('key', t.str(1000), (c) => c.notNull())
      .addColumn('kind', t.ascii(128), (c) => c.notNull())
      .addColumn('severity', t.ascii(16), (c) => c.notNull())
      .addColumn('title', t.str(500), (c) => c.notNull())
      .addColumn('text', t.text, (c) => c.notNull())
      .addColumn('context', t.text)
      .addColumn('channels', t.text, (c) => c.notNull())
      .addColumn('digest', t.ascii(16))
      .addColumn('raised_at', t.ts, (c) => c.notNull())
      .addColumn('resolved_at', t.ts)
      .execute();
    await db.schema.createIndex('alerts_key_hash').on('alerts').column('key_hash').execute();
    await db.schema.createIndex('alerts_open').on('alerts').columns(['resolved_at', 'raised_at']).execute();
    await db.schema.createIndex('alerts_digest').on('alerts').columns(['digest', 'raised_at']).execute();
    await db.schema
      .createTable('alert_deliveries')
      .addColumn('alert_id', t.id, (c) => c.notNull().references('alerts.id'))
      .addColumn('channel', t.ascii(64), (c) => c.notNull())
      .addColumn('status', t.ascii(16), (c) => c.notNull())
      .addColumn('fallback', t.int, (c) => c.notNull().defaultTo(0))
      .addColumn('attempts', t.int, (c) => c.notNull().defaultTo(0))
      .addColumn('last_error', t.str(1000))
      .addColumn('updated_at', t.ts, (c) => c.notNull())
      .addPrimaryKeyConstraint('alert_deliveries_pk', ['alert_id', 'channel'])
      .execute();
    await db.schema
      .createTable('auth_failures')
      .addColumn('id', t.id, (c) => c.primaryKey())
      .addColumn('system', t.ascii(32), (c) => c.notNull())
      .addColumn('code', t.ascii(64), (c) => c.notNull())
      .addColumn('message', t.str(500), (c) => c.notNull())
      .addColumn('at', t.ts, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('auth_failures_at').on('auth_failures').columns(['at', 'system']).execute();
  },
  async down(db) {
    await db.schema.dropTable('auth_failures').execute();
    await db.schema.dropTable('alert_deliveries').execute();
    await db.schema.dropTable('alerts').execute();
  },
};

/** Sessions of the /admin pages, shared by every gateway process and kept across restarts. */
const m0017: Migration = {
  async up(db) {
    const t = types(dialectOfDb(db));
    await db.schema
      .createTable('admin_sessions')
      .addColumn('id', t.ascii(64), (c) => c.primaryKey())
      .addColumn('csrf', t.ascii(64), (c) => c.notNull())
      .addColumn('key_id', t.ascii(64), (c) => c.notNull())
      .addColumn('created_at', t.ts, (c) => c.notNull())
      .addColumn('last_seen_at', t.ts, (c) => c.notNull())
      .addColumn('expires_at', t.ts, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('admin_sessions_expires_at').on('admin_sessions').column('expires_at').execute();
  },
  async down(db) {
    await db.schema.dropTable('admin_sessions').execute();
  },
};

/**
 * The next free instant (epoch ms, the database's clock) of each outside call kept to a rate across
 * every gateway process (a bank's registry: 1 request/s).
 */
const m0018: Migration = {
  async up(db) {
    const t = types(dialectOfDb(db));
    await db.schema
      .createTable('rate_limits')
      .addColumn('key', t.ascii(200), (c) => c.primaryKey())
      .addColumn('next_at', sql.raw('bigint'), (c) => c.notNull())
      .execute();
  },
  async down(db) {
    await db.schema.dropTable('rate_limits').execute();
  },
};

/**
 * One index of statement lines by state where there were two (by state; by applied_at then state):
 * the lines to match (state `new`) and the matched lines still to apply (applied_at null) are both
 * found through (organization, state, applied_at), and matching 100 000 lines, which changes every
 * line's state, keeps one index instead of two (its write-back took 0.69 s with two, 0.48 s with one).
 */
const m0019: Migration = {
  async up(db) {
    await dropIndex(db, 'statement_lines_state', 'statement_lines');
    await dropIndex(db, 'statement_lines_to_apply', 'statement_lines');
    await db.schema
      .createIndex('statement_lines_state_applied')
      .on('statement_lines')
      .columns(['organization_id', 'match_state', 'applied_at'])
      .execute();
  },
  async down(db) {
    await dropIndex(db, 'statement_lines_state_applied', 'statement_lines');
    await db.schema.createIndex('statement_lines_state').on('statement_lines').columns(['organization_id', 'match_state']).execute();
    await db.schema
      .createIndex('statement_lines_to_apply')
      .on('statement_lines')
      .columns(['organization_id', 'applied_at', 'match_state'])
      .execute();
  },
};

/** Every migration, in order. Append only. */
export const migrations: Record<string, Migration> = {
  '0001_init': m0001,
  '0002_onec': m0002,
  '0003_exchange': m0003,
  '0004_sbp_history': m0004,
  '0005_fiscal': m0005,
  '0006_onec_waiting': m0006,
  '0007_exchange_exports': m0007,
  '0008_statement_lines': m0008,
  '0009_invoices': m0009,
  '0010_customers': m0010,
  '0011_invoice_transfers': m0011,
  '0012_statement_onec': m0012,
  '0013_onec_invoices': m0013,
  '0014_invoice_match_fields': m0014,
  '0015_reports': m0015,
  '0016_alerts': m0016,
  '0017_admin_sessions': m0017,
  '0018_rate_limits': m0018,
  '0019_statement_state_index': m0019,
};

class InCodeProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations;
  }
}

/** Brings the schema up to date; safe to run from several processes at once (Kysely takes a lock). */
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  // On PostgreSQL the migrator looks for its tables in every schema of the database unless told
  // which one: another application's (or another test's) tables in a neighbouring schema would
  // make it skip creating ours. Its tables live in the schema the connection works in.
  const migrationTableSchema =
    dialectOfDb(db) === 'postgres'
      ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(db)).rows[0]?.schema
      : undefined;
  const migrator = new Migrator({ db, provider: new InCodeProvider(), ...(migrationTableSchema ? { migrationTableSchema } : {}) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
