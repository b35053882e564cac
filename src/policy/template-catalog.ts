/**
 * Message templates: versioned, per locale, with an approval state. Only approved versions
 * resolve without an explicit version, variables must match the placeholders exactly, and a
 * message sent from a template stores a hash of the rendered body rather than the body.
 */
import * as nodeCrypto from 'node:crypto';
import { z } from 'zod';
import { messagePurposeSchema } from './content-linter.ts';
import { PolicyRefusal } from './policy-refusal.ts';
import { MAX_BODY_CHARS } from './sms-encoding.ts';

/** `{{name}}` or WhatsApp's numbered `{{1}}`; group 1 is the name. */
const PLACEHOLDER = /\{\{([A-Za-z0-9_]+)\}\}/g;

const localeSchema = z.string().refine(isBcp47Locale, 'a BCP 47 locale such as en, en-US, es or pt-BR');

const templateVersionSchema = z.strictObject({
  version: z.number().int().min(1),
  locale: localeSchema,
  status: z.enum(['approved', 'pending', 'rejected']),
  /** SMS / WhatsApp text with `{{placeholders}}`. */
  body: z.string().min(1).max(MAX_BODY_CHARS).optional(),
  /** The approved WhatsApp Content template (Content API `HX…` SID). */
  contentSid: z
    .string()
    .regex(/^HX[0-9a-fA-F]{32}$/, 'a Content template SID: HX and 32 hex digits')
    .optional(),
});

/** One template and all its versions and locales. */
export const templateSchema = z
  .strictObject({
    id: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-_.]{0,62}$/, 'template ids are lowercase letters, digits, -, _ and .'),
    purpose: messagePurposeSchema.default('transactional'),
    versions: z.array(templateVersionSchema).min(1),
  })
  .superRefine((template, ctx) => {
    const seen = new Set<string>();
    template.versions.forEach((v, i) => {
      const key = `${v.version}\u0000${v.locale.toLowerCase()}`;
      if (seen.has(key))
        ctx.addIssue({
          code: 'custom',
          path: ['versions', i],
          message: `version ${v.version} for locale ${v.locale} appears twice`,
        });
      seen.add(key);
      if (v.body === undefined && v.contentSid === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['versions', i],
          message: 'a version needs a body or a contentSid',
        });
      const problem = v.body === undefined ? null : placeholderProblem(v.body);
      if (problem) ctx.addIssue({ code: 'custom', path: ['versions', i, 'body'], message: problem });
    });
  });

/** The `templates` config section: a list of templates with unique ids. */
export const templatesSchema = z
  .array(templateSchema)
  .default([])
  .superRefine((templates, ctx) => {
    const seen = new Set<string>();
    templates.forEach((t, i) => {
      if (seen.has(t.id))
        ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `template id ${t.id} appears twice` });
      seen.add(t.id);
    });
  });

/** A template as configured (validated). */
export type TemplateConfig = z.infer<typeof templateSchema>;

/** How a message names its template: newest approved version and the default locale when absent. */
export interface TemplateRef {
  id: string;
  version?: number;
  locale?: string;
}

/** One template version, ready to render. */
export interface ResolvedTemplate {
  id: string;
  version: number;
  locale: string;
  purpose: TemplateConfig['purpose'];
  body: string | null;
  contentSid: string | null;
  /** Distinct placeholder names of the body, in order of first appearance. */
  placeholders: readonly string[];
}

/** Resolves template references and renders bodies. */
export interface TemplateCatalog {
  /**
   * The version to send. Without a version: the newest approved one, trying the exact locale,
   * then its language (es-MX → es), then the catalog's default locale. An explicit version that
   * is not approved is refused with `template_not_approved`; anything missing with `template_unknown`.
   */
  resolve(ref: TemplateRef): ResolvedTemplate | PolicyRefusal;
  /**
   * The body with placeholders filled. The variables must be exactly the placeholders: missing or
   * extra names are refused with `template_variables_mismatch`. A Content-only version (no body)
   * renders to '': its variables travel to Twilio as ContentVariables.
   */
  render(
    t: ResolvedTemplate,
    variables: Readonly<Record<string, string>> | undefined,
  ): string | PolicyRefusal;
}

/** Builds the lookup tables once; `resolve` and `render` then only read them. */
export function createTemplateCatalog(
  templates: readonly TemplateConfig[],
  options: { defaultLocale?: string } = {},
): TemplateCatalog {
  const defaultLocale = options.defaultLocale ?? 'en';
  /** id → lowercased locale → versions, newest first. */
  const index = new Map<string, Map<string, { status: string; resolved: ResolvedTemplate }[]>>();
  for (const t of templates) {
    const byLocale = new Map<string, { status: string; resolved: ResolvedTemplate }[]>();
    for (const v of t.versions) {
      const resolved: ResolvedTemplate = Object.freeze({
        id: t.id,
        version: v.version,
        locale: v.locale,
        purpose: t.purpose,
        body: v.body ?? null,
        contentSid: v.contentSid ?? null,
        placeholders: Object.freeze(v.body === undefined ? [] : templatePlaceholders(v.body)),
      });
      const key = v.locale.toLowerCase();
      const list = byLocale.get(key) ?? [];
      list.push({ status: v.status, resolved });
      byLocale.set(key, list);
    }
    for (const list of byLocale.values()) list.sort((a, b) => b.resolved.version - a.resolved.version);
    index.set(t.id, byLocale);
  }

  return {
    resolve(ref) {
      const byLocale = index.get(ref.id);
      if (byLocale === undefined)
        return new PolicyRefusal('template_unknown', `No template "${ref.id}".`, 'template');
      const requested = ref.locale ?? defaultLocale;
      let unapproved = false;
      for (const locale of localeChain(requested, defaultLocale)) {
        const versions = byLocale.get(locale);
        if (versions === undefined) continue;
        if (ref.version === undefined) {
          const approved = versions.find((v) => v.status === 'approved');
          if (approved) return approved.resolved;
          unapproved = true;
          continue;
        }
        const exact = versions.find((v) => v.resolved.version === ref.version);
        if (exact === undefined) continue;
        if (exact.status === 'approved') return exact.resolved;
        return new PolicyRefusal(
          'template_not_approved',
          `Template "${ref.id}" version ${ref.version} (${exact.resolved.locale}) is ${exact.status}, not approved.`,
          'template',
        );
      }
      if (unapproved)
        return new PolicyRefusal(
          'template_not_approved',
          `Template "${ref.id}" has no approved version for locale ${requested}.`,
          'template',
        );
      const which = ref.version === undefined ? '' : ` version ${ref.version}`;
      return new PolicyRefusal(
        'template_unknown',
        `Template "${ref.id}" has no${which} version for locale ${requested} (nor its language or ${defaultLocale}).`,
        'template',
      );
    },

    render(t, variables) {
      if (t.body === null) return '';
      const given = variables ?? {};
      const missing = t.placeholders.filter((name) => !Object.hasOwn(given, name));
      const expected = new Set(t.placeholders);
      const extra = Object.keys(given).filter((name) => !expected.has(name));
      if (missing.length > 0 || extra.length > 0) {
        const parts = [
          ...(missing.length > 0 ? [`missing ${missing.join(', ')}`] : []),
          ...(extra.length > 0 ? [`not in the template ${extra.join(', ')}`] : []),
        ];
        return new PolicyRefusal(
          'template_variables_mismatch',
          `The variables do not match the placeholders of template "${t.id}": ${parts.join('; ')}.`,
          'template.variables',
        );
      }
      return fillPlaceholders(t.body, (name) => given[name]!);
    },
  };
}

/** Distinct `{{placeholder}}` names of a body, in order of first appearance. */
export function templatePlaceholders(body: string): string[] {
  const names = new Set<string>();
  for (const m of body.matchAll(PLACEHOLDER)) names.add(m[1]!);
  return [...names];
}

/** `body` with each `{{name}}` replaced by `value(name)`, in one pass (values are not re-scanned). */
export function fillPlaceholders(body: string, value: (name: string) => string): string {
  return body.replace(PLACEHOLDER, (_, name: string) => value(name));
}

// The one-shot `crypto.hash` (Node >= 20.12) where present, read from the namespace because
// a named import of a missing export fails to link.
const oneShotHash = nodeCrypto.hash as typeof nodeCrypto.hash | undefined;

/**
 * Hex SHA-256 of a string: a rendered body (what a message stores instead of the raw body),
 * an idempotency payload, an API key.
 */
export function sha256Hex(s: string): string {
  return oneShotHash
    ? oneShotHash('sha256', s, 'hex')
    : nodeCrypto.createHash('sha256').update(s, 'utf8').digest('hex');
}

/** Why a body's placeholder syntax is invalid, or null: braces left after removing valid ones. */
function placeholderProblem(body: string): string | null {
  const rest = body.replace(PLACEHOLDER, '');
  const found = [rest.indexOf('{{'), rest.indexOf('}}')].filter((i) => i >= 0);
  if (found.length === 0) return null;
  const at = Math.min(...found);
  return `invalid placeholder near "${rest.slice(Math.max(0, at - 10), at + 12)}": use {{name}} with letters, digits and _ (or {{1}})`;
}

/** Locales to try, lowercased and without repeats: exact, its language, the default, its language. */
function localeChain(requested: string, defaultLocale: string): string[] {
  const chain: string[] = [];
  for (const locale of [requested, defaultLocale]) {
    const lower = locale.toLowerCase();
    for (const candidate of [lower, lower.split('-')[0]!])
      if (!chain.includes(candidate)) chain.push(candidate);
  }
  return chain;
}

function isBcp47Locale(value: string): boolean {
  if (!/^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$/.test(value)) return false;
  try {
    return Intl.getCanonicalLocales(value).length === 1;
  } catch {
    return false;
  }
}
