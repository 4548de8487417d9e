import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MONITOR_RULES } from '../../../gateway/flows/monitoring/rules';

/**
 * For shops that run Prometheus: the alerting rules and the Grafana dashboard in gateway/http/ name the
 * metrics the gateway exports, and promtool accepts the rules.
 */

const DIR = join(__dirname, '../../../gateway/http');
const rulesFile = join(DIR, 'prometheus-rules.yml');
const hasPromtool = spawnSync('promtool', ['--version']).status === 0;
if (!hasPromtool) {
  if (process.env.CI) throw new Error('promtool is missing (Debian package prometheus; .ci/run installs it)');
  console.warn('SKIPPED LOUDLY: promtool is not installed here (apt-get install prometheus); CI runs this check');
}

(hasPromtool ? test : test.skip)('promtool check rules: the file is valid', () => {
  const out = execFileSync('promtool', ['check', 'rules', rulesFile], { encoding: 'utf8' });
  expect(out).toMatch(/SUCCESS: \d+ rules found/);
});

test('every monitoring rule of the gateway pages through gateway_monitor_firing', () => {
  const text = readFileSync(rulesFile, 'utf8');
  for (const r of MONITOR_RULES) {
    expect(text).toContain(`gateway_monitor_firing{rule="${r.name}"}`);
    expect(text).toContain(`summary: "${r.title}"`);
  }
});

test('the dashboard is Grafana JSON whose panels query the gateway’s metrics', () => {
  const dash = JSON.parse(readFileSync(join(DIR, 'grafana-dashboard.json'), 'utf8'));
  expect(dash).toMatchObject({ uid: 'onec-gateway', title: 'onec-gateway' });
  const exprs = dash.panels.flatMap((p: { targets: { expr: string }[] }) => p.targets.map((t) => t.expr)).join('\n');
  for (const metric of [
    'gateway_monitor_firing',
    'gateway_monitor_value',
    'gateway_jobs',
    'gateway_callbacks_total',
    'gateway_http_request_duration_seconds',
  ])
    expect(exprs).toContain(metric);
});
