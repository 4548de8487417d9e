import { readFileSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { configSchema, type GatewayConfig } from './schema';

export * from './schema';

/**
 * The gateway's configuration: one YAML file, `${ENV}` placeholders for secrets,
 * validated here at start. A bad file stops the start with the key path and the reason.
 */

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** `a.b[0].c` from a zod issue path. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || '(root)';
}

/** Replaces `${NAME}` (and `${NAME:-default}`) in every string of the tree; a missing variable is an error naming the key. */
export function interpolateEnv(value: unknown, env: NodeJS.ProcessEnv, path: PropertyKey[] = []): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_m, name: string, fallback?: string) => {
      const v = env[name];
      if (v !== undefined && v !== '') return v;
      if (fallback !== undefined) return fallback;
      throw new ConfigError(`${formatPath(path)}: environment variable ${name} is not set`);
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolateEnv(v, env, [...path, i]));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateEnv(v, env, [...path, k])]));
  }
  return value;
}

/** Validates a parsed config object (after interpolation) and applies the env overrides. */
export function parseConfig(raw: unknown, env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const interpolated = interpolateEnv(raw ?? {}, env) as Record<string, any>;
  if (env.DATABASE_URL) interpolated.database = { ...(interpolated.database ?? {}), url: env.DATABASE_URL };
  if (env.REDIS_URL) interpolated.redis = { ...(interpolated.redis ?? {}), url: env.REDIS_URL };
  if (env.PORT) interpolated.server = { ...(interpolated.server ?? {}), port: Number(env.PORT) };
  if (env.LOG_LEVEL) interpolated.log = { ...(interpolated.log ?? {}), level: env.LOG_LEVEL };
  const result = configSchema.safeParse(interpolated);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${formatPath(i.path)}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}

export function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const file = resolve(path);
  if (!existsSync(file)) {
    throw new ConfigError(
      `configuration file ${file} not found. Create it (see README, "Configuration") and point GATEWAY_CONFIG at it, or try the gateway with emulated banks and 1C: npm run sandbox`,
    );
  }
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError(`${file}: not valid YAML: ${(e as Error).message}`);
  }
  try {
    return parseConfig(raw, env);
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`${file}: ${e.message}`);
    throw e;
  }
}
