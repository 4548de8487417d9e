import { loadConfig } from '../config';
import { buildOneC } from '../main';

const HELP = `onec-gateway onec check [--base <organization id>] [--config <file>]

Reads each OData base's $metadata and reports every mapping field, entity and enumeration value the
base does not have, or whose type does not fit, with the mapping line to fix. Exit code 1 when
something is wrong, 2 when a base cannot be read.`;

/** `onec check`: the organizations' mappings against their bases. */
export async function main(args: string[], configPath: string): Promise<void> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  const config = loadConfig(configPath);
  const i = args.indexOf('--base');
  const only = i >= 0 ? args[i + 1] : undefined;
  const orgs = config.organizations.filter((o) => o.onec.transport === 'odata' && (!only || o.id === only));
  if (orgs.length === 0) {
    process.stderr.write(
      only
        ? `onec-gateway: no organization "${only}" with onec.transport odata (have: ${config.organizations.map((o) => o.id).join(', ')})\n`
        : 'onec-gateway: no organization delivers to 1C over OData: nothing to check\n',
    );
    process.exit(2);
  }
  const bases = buildOneC(config);
  let wrong = false;
  let unread = false;
  for (const org of orgs) {
    process.stdout.write(`${org.id}: ${org.onec.baseUrl} (mapping ${org.onec.mapping})\n`);
    try {
      const { errors, warnings } = await bases.sink(org.id)!.verify!();
      for (const line of [...errors, ...warnings]) process.stdout.write(`  ${line}\n`);
      if (errors.length === 0)
        process.stdout.write(
          `  ✓ the base has everything the mapping names${warnings.length ? ' (warnings: documents this organization does not write)' : ''}\n`,
        );
      wrong ||= errors.length > 0;
    } catch (e) {
      process.stdout.write(`  ✗ the base could not be read: ${(e as Error).message}\n`);
      unread = true;
    }
  }
  if (unread) process.exit(2);
  if (wrong) process.exit(1);
}
