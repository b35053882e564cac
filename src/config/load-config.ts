import { readFileSync } from 'node:fs';
import { type Document, LineCounter, parseDocument } from 'yaml';
import { SbError } from '../errors/index.ts';
import { sha256Hex } from '../policy/index.ts';
import { type GatewayConfig, gatewayConfigSchema } from './gateway-config.ts';
import { locateYamlPath } from './yaml-locations.ts';

/** Command-line settings that override the file and the environment. */
export interface ConfigOverrides {
  configFile?: string | undefined;
  port?: number | undefined;
  host?: string | undefined;
  database?: string | undefined;
  role?: 'all' | 'api' | 'worker' | undefined;
  publicUrl?: string | undefined;
}

/** The hex SHA-256 of an API key, as keys are stored. */
export function hashApiKey(key: string): string {
  return sha256Hex(key);
}

/**
 * Builds the gateway config once, from (lowest to highest precedence) defaults, the YAML
 * file, the environment and the command line; validates it and freezes it. This is the only
 * place that reads `process.env`. Errors name the file, the line and the field.
 */
export function loadGatewayConfig(overrides: ConfigOverrides, env: NodeJS.ProcessEnv): GatewayConfig {
  const file = overrides.configFile ?? env.SWITCHBOARD_CONFIG;
  const source = file ? readYaml(file) : null;
  const raw: Record<string, unknown> = source?.value ?? {};
  const server = { ...((raw.server as object | undefined) ?? {}) } as Record<string, unknown>;
  const twilio = { ...((raw.twilio as object | undefined) ?? {}) } as Record<string, unknown>;
  const setIf = (o: Record<string, unknown>, k: string, v: unknown) => {
    if (v !== undefined && v !== '') o[k] = v;
  };
  setIf(server, 'port', env.SWITCHBOARD_PORT === undefined ? undefined : Number(env.SWITCHBOARD_PORT));
  setIf(server, 'host', env.SWITCHBOARD_HOST);
  setIf(server, 'publicUrl', env.SWITCHBOARD_PUBLIC_URL);
  setIf(server, 'port', overrides.port);
  setIf(server, 'host', overrides.host);
  setIf(server, 'publicUrl', overrides.publicUrl);
  setIf(twilio, 'accountSid', env.TWILIO_ACCOUNT_SID);
  setIf(twilio, 'authToken', env.TWILIO_AUTH_TOKEN);
  setIf(twilio, 'previousAuthToken', env.TWILIO_PREVIOUS_AUTH_TOKEN);
  setIf(twilio, 'baseUrl', env.TWILIO_API_BASE_URL);
  const merged: Record<string, unknown> = { ...raw, server, twilio };
  setIf(merged, 'database', env.SWITCHBOARD_DB);
  setIf(merged, 'database', overrides.database);
  setIf(merged, 'role', env.SWITCHBOARD_ROLE);
  setIf(merged, 'role', overrides.role);
  if (env.SWITCHBOARD_API_KEY) {
    const tenants = [...((merged.tenants as { id: string; apiKeySha256: string[] }[] | undefined) ?? [])];
    const hash = hashApiKey(env.SWITCHBOARD_API_KEY);
    const existing = tenants.find((t) => t.id === 'default');
    if (existing) existing.apiKeySha256 = [...existing.apiKeySha256, hash];
    else tenants.push({ id: 'default', apiKeySha256: [hash] });
    merged.tenants = tenants;
  }
  const result = gatewayConfigSchema.safeParse(merged);
  if (!result.success) {
    const where = (path: PropertyKey[]) => {
      const at = source ? locateYamlPath(source.doc, source.lines, path) : null;
      return at ? `${file}:${at.line}:${at.col}` : (file ?? 'config');
    };
    throw new SbError(
      'SB_CONFIG_INVALID',
      result.error.issues
        .map((i) => `${where(i.path)}: ${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('\n'),
    );
  }
  const config = result.data;
  if (Boolean(config.twilio.accountSid) !== Boolean(config.twilio.authToken)) {
    throw new SbError(
      'SB_CONFIG_INVALID',
      'twilio.accountSid and twilio.authToken go together (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN)',
    );
  }
  return deepFreeze(config);
}

function readYaml(path: string): { value: Record<string, unknown>; doc: Document; lines: LineCounter } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new SbError('SB_CONFIG_INVALID', `${path}: cannot read: ${(err as Error).message}`);
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: true, lineCounter: lines });
  if (doc.errors.length > 0) {
    throw new SbError(
      'SB_CONFIG_INVALID',
      doc.errors.map((e) => `${path}:${e.linePos?.[0]?.line ?? 0}: ${e.message}`).join('\n'),
    );
  }
  const value = doc.toJS() ?? {};
  if (typeof value !== 'object' || Array.isArray(value))
    throw new SbError('SB_CONFIG_INVALID', `${path}: the top level must be a mapping`);
  return { value: value as Record<string, unknown>, doc, lines };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
