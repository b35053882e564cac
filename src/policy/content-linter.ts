/**
 * Content lint: the rules a message body passes at intake before any carrier sees it (URL
 * allowlist, public URL shorteners, keyword rules, opt-out language, segment cap), with Smart
 * Encoding applied first. Everything is compiled once by `createContentLinter`; `lint` builds
 * no regular expression and scans the body for links in one pass.
 */
import { z } from 'zod';
import { PolicyRefusal } from './policy-refusal.ts';
import { analyzeSms, type SmsEncoding, smartEncode } from './sms-encoding.ts';

/** The purposes a message is sent for (keep in sync with the intake and pool schemas). */
export const messagePurposeSchema = z.enum(['otp', 'transactional', 'conversational', 'marketing']);

/**
 * Public URL shorteners that carriers filter or distrust: links through them are always refused.
 * General-purpose services only; a company's own branded short domain belongs in the allowlist.
 */
export const KNOWN_URL_SHORTENERS: readonly string[] = [
  'bit.ly',
  'bitly.com',
  'bit.do',
  'j.mp',
  'tinyurl.com',
  'tiny.one',
  'rotf.lol',
  'tiny.cc',
  'tiny.ie',
  'goo.gl',
  'ow.ly',
  'ht.ly',
  't.co',
  'is.gd',
  'v.gd',
  'buff.ly',
  'rebrand.ly',
  'rb.gy',
  'cutt.ly',
  'cutt.us',
  'shorturl.at',
  'bl.ink',
  't.ly',
  's.id',
  'short.gy',
  'shorte.st',
  'adf.ly',
  'ouo.io',
  'clck.ru',
  'x.co',
  'qr.ae',
  'tr.im',
  'soo.gd',
  'lnkd.in',
  'db.tt',
  'trib.al',
  'snip.ly',
  'po.st',
  'ift.tt',
  'dlvr.it',
  'su.pr',
  'urlz.fr',
  'shrtco.de',
  't2m.io',
  'qrco.de',
  'surl.li',
  'gg.gg',
  'kutt.it',
  'smarturl.it',
  'lnk.to',
];

/**
 * Top-level domains longer than two letters that make a scheme-less `name.tld` a link. Every
 * two-letter (country) TLD counts too, as do the TLDs of the allowlist and the shorteners.
 * Without such a list "Mr.Smith" or "shipped.Thanks" would read as links.
 */
const LINK_TLDS = [
  ...['com', 'net', 'org', 'info', 'biz', 'edu', 'gov', 'mil', 'int', 'app', 'dev', 'xyz', 'site'],
  ...['online', 'shop', 'store', 'top', 'club', 'link', 'click', 'live', 'life', 'world', 'today'],
  ...['news', 'blog', 'tech', 'cloud', 'email', 'page', 'space', 'website', 'digital', 'pro', 'mobi'],
  ...['name', 'asia', 'travel', 'win', 'bid', 'loan', 'loans', 'work', 'vip', 'fun', 'icu', 'buzz'],
  ...['cyou', 'rest', 'monster', 'sbs', 'cfd', 'lol', 'services', 'support', 'help', 'center', 'bank'],
  ...['money', 'cash', 'credit', 'finance', 'delivery', 'express', 'network', 'group', 'company', 'agency'],
];

const domainSchema = z
  .string()
  .trim()
  .toLowerCase()
  .regex(
    /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/,
    'a domain name such as example.com (no scheme, path or wildcard)',
  );

/** Why `source` is not a valid regular expression (flags `iu`, as it is compiled), or null. */
function regexProblem(source: string): string | null {
  try {
    new RegExp(source, 'iu');
    return null;
  } catch (err) {
    return (err as Error).message; // "Invalid regular expression: /(x/iu: Unterminated group"
  }
}

/** A regular expression in config: checked at load so a typo is a config error, not a crash. */
const regexSchema = z.string().superRefine((source, ctx) => {
  const problem = regexProblem(source);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const keywordRuleSchema = z
  .strictObject({
    pattern: z.string().trim().min(1),
    /** word: whole words, any case; phrase: anywhere in the text, any case; regex: a JS regex (flags iu). */
    match: z.enum(['word', 'phrase', 'regex']).default('word'),
    action: z.enum(['refuse', 'warn']).default('refuse'),
    /** Purposes the rule applies to; all when absent. */
    purposes: z.array(messagePurposeSchema).min(1).optional(),
  })
  .superRefine((rule, ctx) => {
    const problem = rule.match === 'regex' ? regexProblem(rule.pattern) : null;
    if (problem) ctx.addIssue({ code: 'custom', path: ['pattern'], message: problem });
  });

/** "Reply STOP", "Text STOP", "STOP to opt out / unsubscribe / end / cancel", "unsubscribe". */
const DEFAULT_OPT_OUT_PATTERN =
  '\\b(?:reply|text|txt)\\W{1,3}stop\\b|\\bstop\\W{1,3}to\\s+(?:opt[\\s-]?out|unsubscribe|end|cancel)\\b|\\bunsubscribe\\b';

/** The `content` policy section: how message bodies are linted at intake and by `switchboard lint`. */
export const contentPolicySchema = z
  .strictObject({
    /** The company's own domains; a subdomain of a listed domain is allowed too. */
    urlAllowlist: z.array(domainSchema).default([]),
    /** Refuse links outside the allowlist (else warn); only when the allowlist is non-empty. */
    refuseUnlistedUrls: z.boolean().default(true),
    /** Added to KNOWN_URL_SHORTENERS. */
    extraShorteners: z.array(domainSchema).default([]),
    keywords: z.array(keywordRuleSchema).default([]),
    optOutLanguage: z
      .strictObject({
        purposes: z.array(messagePurposeSchema).default(['marketing']),
        /** Case-insensitive regex the body must match. */
        pattern: regexSchema.default(DEFAULT_OPT_OUT_PATTERN),
      })
      .prefault({}),
    /** Cap on SMS/MMS segments (billing and carrier filtering grow with length). */
    /** Most segments an SMS may take (none: only Twilio's 1,600-character limit). */
    maxSegments: z.number().int().min(1).max(100).optional(),
    /** Replace Unicode look-alikes so a body stays GSM-7 (SMS/MMS only). */
    smartEncoding: z.boolean().default(true),
  })
  .prefault({});

/** The validated content policy. */
export type ContentPolicy = z.infer<typeof contentPolicySchema>;

/** What a body is linted for. */
export interface LintContext {
  purpose: 'otp' | 'transactional' | 'conversational' | 'marketing';
  channel: 'sms' | 'mms' | 'whatsapp';
}

/** The result of linting one body. */
export interface LintOutcome {
  /** The body to send: after Smart Encoding when enabled and the channel is SMS/MMS. */
  body: string;
  encoding: SmsEncoding;
  /** SMS/MMS segments; 1 for WhatsApp, which is not segmented. */
  segments: number;
  /** The first refusing rule (in the order shorteners, allowlist, keywords, opt-out, segments). */
  refusal: PolicyRefusal | null;
  /** Rules that matched with action `warn` (and unlisted links when `refuseUnlistedUrls` is false). */
  warnings: PolicyRefusal[];
}

/** A compiled content policy. */
export interface ContentLinter {
  lint(body: string, ctx: LintContext): LintOutcome;
}

type Purpose = LintContext['purpose'];

interface CompiledKeyword {
  regex: RegExp;
  refuse: boolean;
  message: string;
}

/**
 * Links with or without a scheme. Group 1: host after http(s)://; group 2: scheme-less host. Paths
 * are consumed so that a domain inside a query string is not taken for a second link; the
 * look-behind keeps e-mail addresses and file names inside paths out.
 */
const LINK_PATTERN =
  /\bhttps?:\/\/(?:[^\s/?#@]*@)?([^\s/?#:'"<>()[\]\\,;!]+)[^\s]*|(?<![\w@./-])((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63})(?![\w-])(?::\d{1,5})?(?:[/?#][^\s]*)?/gi;

const FIELD = 'body';
const PURPOSES: readonly Purpose[] = messagePurposeSchema.options;

/** Compiles a content policy once; the returned linter is pure and cheap per call. */
export function createContentLinter(policy: ContentPolicy): ContentLinter {
  const allowlist = new Set(policy.urlAllowlist);
  const shorteners = new Set([...KNOWN_URL_SHORTENERS, ...policy.extraShorteners]);
  const linkTlds = new Set(LINK_TLDS);
  for (const domain of [...allowlist, ...shorteners]) linkTlds.add(domain.slice(domain.lastIndexOf('.') + 1));
  const refuseUnlisted = policy.refuseUnlistedUrls;
  // A private copy: the global flag makes exec stateful, and lint resets lastIndex on each call.
  const linkRegex = new RegExp(LINK_PATTERN.source, LINK_PATTERN.flags);

  const keywordsByPurpose = new Map<Purpose, CompiledKeyword[]>(PURPOSES.map((p) => [p, []]));
  for (const rule of policy.keywords) {
    const compiled: CompiledKeyword = {
      regex: keywordRegex(rule.pattern, rule.match),
      refuse: rule.action === 'refuse',
      message: `The body matches the content rule "${rule.pattern}".`,
    };
    for (const p of rule.purposes ?? PURPOSES) keywordsByPurpose.get(p)!.push(compiled);
  }
  const optOutPurposes = new Set(policy.optOutLanguage.purposes);
  const optOutRegex = new RegExp(policy.optOutLanguage.pattern, 'iu');
  const { maxSegments, smartEncoding } = policy;

  /** The first refusing link finding; unlisted links only warn when configured so. */
  function lintLinks(body: string, warnings: PolicyRefusal[]): PolicyRefusal | null {
    let refusal: PolicyRefusal | null = null;
    linkRegex.lastIndex = 0;
    for (let m = linkRegex.exec(body); m !== null; m = linkRegex.exec(body)) {
      const schemeHost = m[1];
      const matched = (schemeHost ?? m[2]!).toLowerCase();
      const host = matched.endsWith('.') ? matched.slice(0, -1) : matched;
      if (schemeHost === undefined && !host.startsWith('www.')) {
        const tld = host.slice(host.lastIndexOf('.') + 1);
        if (tld.length !== 2 && !linkTlds.has(tld)) continue;
      }
      if (matchesDomain(host, shorteners)) {
        return new PolicyRefusal(
          'url_shortener',
          `The body links through the public URL shortener ${host}, which carriers filter; link to your own domain.`,
          FIELD,
        );
      }
      if (allowlist.size === 0 || refusal !== null || matchesDomain(host, allowlist)) continue;
      const finding = new PolicyRefusal(
        'url_not_allowed',
        `The body links to ${host}, which is not in the URL allowlist.`,
        FIELD,
      );
      if (refuseUnlisted) refusal = finding;
      else warnings.push(finding);
    }
    return refusal;
  }

  return {
    lint(rawBody, ctx) {
      const sms = ctx.channel !== 'whatsapp';
      const body = sms && smartEncoding ? smartEncode(rawBody) : rawBody;
      const warnings: PolicyRefusal[] = [];
      let refusal = lintLinks(body, warnings);
      for (const keyword of keywordsByPurpose.get(ctx.purpose) ?? []) {
        if (!keyword.regex.test(body)) continue;
        const finding = new PolicyRefusal('keyword_blocked', keyword.message, FIELD);
        if (!keyword.refuse) warnings.push(finding);
        else refusal ??= finding;
      }
      if (refusal === null && optOutPurposes.has(ctx.purpose) && !optOutRegex.test(body)) {
        refusal = new PolicyRefusal(
          'opt_out_language_missing',
          `${capitalize(ctx.purpose)} messages must tell the recipient how to opt out (e.g. "Reply STOP to opt out").`,
          FIELD,
        );
      }
      const analysis = analyzeSms(body);
      const segments = sms ? analysis.segments : 1;
      if (refusal === null && sms && maxSegments !== undefined && segments > maxSegments) {
        refusal = new PolicyRefusal(
          'segment_limit_exceeded',
          `The body needs ${segments} ${analysis.encoding} segments; the cap is ${maxSegments}.`,
          FIELD,
        );
      }
      return { body, encoding: analysis.encoding, segments, refusal, warnings };
    },
  };
}

/** True when `host` is a listed domain or a subdomain of one. */
function matchesDomain(host: string, domains: ReadonlySet<string>): boolean {
  let suffix = host;
  for (;;) {
    if (domains.has(suffix)) return true;
    const dot = suffix.indexOf('.');
    if (dot < 0) return false;
    suffix = suffix.slice(dot + 1);
  }
}

function keywordRegex(pattern: string, match: 'word' | 'phrase' | 'regex'): RegExp {
  if (match === 'regex') return new RegExp(pattern, 'iu');
  // Any run of whitespace in the configured text matches any run in the body.
  const text = pattern
    .split(/\s+/)
    .map((part) => part.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))
    .join('\\s+');
  if (match === 'phrase') return new RegExp(text, 'iu');
  return new RegExp(`(?<![\\p{L}\\p{N}_])${text}(?![\\p{L}\\p{N}_])`, 'iu');
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
