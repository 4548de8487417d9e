import { jobsMentioning, lastCallbacks, paidSince, receiptsByRegister, searchPayments } from '../../../gateway/store/admin-queries';
import { liveAdminSession, purgeAdminSessions, touchAdminSession } from '../../../gateway/store/admin-sessions';
import { migrations } from '../../../gateway/store/migrations';
import { mssqlRecorder } from '../../helpers/mssql-recorder';

/** The /admin pages' table and queries as SQL Server gets them (no server: the dialect, not the run). */

describe('the /admin store on SQL Server', () => {
  const { db, statements, flat } = mssqlRecorder();
  beforeEach(() => statements.splice(0));

  test('the sessions table: ascii keys, timestamps as text, an index on the absolute end', async () => {
    await migrations['0017_admin_sessions'].up(db);
    const ddl = statements.map(flat);
    expect(ddl[0]).toBe(
      'create table "admin_sessions" ("id" varchar(64) primary key, "csrf" varchar(64) not null, "key_id" varchar(64) not null, ' +
        '"created_at" varchar(32) not null, "last_seen_at" varchar(32) not null, "expires_at" varchar(32) not null)',
    );
    expect(ddl[1]).toBe('create index "admin_sessions_expires_at" on "admin_sessions" ("expires_at")');
  });

  test('sessions: looked up live, touched, purged', async () => {
    await liveAdminSession(db, 'h', 'now', 'idle');
    await touchAdminSession(db, 'h', 'now');
    await purgeAdminSessions(db, 'now', 'idle');
    expect(statements.map(flat)).toEqual([
      'select * from "admin_sessions" where "id" = @1 and "expires_at" > @2 and "last_seen_at" > @3',
      'update "admin_sessions" set "last_seen_at" = @1 where "id" = @2',
      'delete from "admin_sessions" where ("expires_at" <= @1 or "last_seen_at" <= @2)',
    ]);
  });

  test('payment search, the week’s takings and the jobs naming a payment take TOP, never LIMIT', async () => {
    await searchPayments(db, { orderNumber: 'A-1', amount: 150000, from: 'a', to: 'b', status: 'paid', notInOneC: true, limit: 100 });
    await paidSince(db, 'a');
    await jobsMentioning(db, 'pay-1');
    const [search, paid, jobs] = statements.map(flat);
    expect(search).toMatch(/^select top\(100\) "p"\.\*, "o"\."number" as "order_number" from "payments" as "p" inner join "orders" as "o"/);
    expect(search).toContain(
      'exists (select "a"."id" from "payment_attempts" as "a" where "a"."payment_id" = "p"."id" and "a"."order_number" = @',
    );
    expect(search).not.toMatch(/\blimit\b/);
    expect(paid).toMatch(/^select top\(100000\) "method", "amount", "paid_at" from "payments" where "paid_at" >= @1/);
    expect(jobs).toBe('select top(50) * from "jobs" where "payload" like @1 order by "created_at" desc, "id" desc');
    expect(statements[2].parameters).toEqual(['%"pay-1"%']);
  });

  test('the health page’s last callbacks and registers group per organization', async () => {
    await lastCallbacks(db);
    await receiptsByRegister(db);
    const [callbacks, registers] = statements.map(flat);
    expect(callbacks).toBe(
      'select "organization_id", "provider", max("received_at") as "last" from "payment_events" where "kind" = @1 group by "organization_id", "provider"',
    );
    expect(registers).toContain("sum(case when status = 'failed' then 1 else 0 end)");
  });
});
