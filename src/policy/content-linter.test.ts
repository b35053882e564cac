import { describe, expect, it } from 'vitest';
import {
  type ContentLinter,
  type ContentPolicy,
  contentPolicySchema,
  createContentLinter,
  type LintContext,
} from './content-linter.ts';

const SMS_TX: LintContext = { purpose: 'transactional', channel: 'sms' };
const SMS_MKT: LintContext = { purpose: 'marketing', channel: 'sms' };
const EMOJI = '\u{1F600}';

function linter(policy: Partial<Record<keyof ContentPolicy, unknown>> = {}) {
  return createContentLinter(contentPolicySchema.parse(policy));
}

/** The refusal reason (or null) of each body, keyed by body so a failure names it. */
function reasons(lint: ContentLinter, bodies: string[], ctx: LintContext = SMS_TX) {
  return Object.fromEntries(bodies.map((b) => [b, lint.lint(b, ctx).refusal?.reason ?? null]));
}

function all<T>(bodies: string[], value: T) {
  return Object.fromEntries(bodies.map((b) => [b, value]));
}

describe('contentPolicySchema', () => {
  it('fills every default from an absent section', () => {
    const policy = contentPolicySchema.parse(undefined);
    expect(policy).toMatchObject({
      urlAllowlist: [],
      refuseUnlistedUrls: true,
      extraShorteners: [],
      keywords: [],
      smartEncoding: true,
      optOutLanguage: { purposes: ['marketing'] },
    });
    // No segment cap unless configured: Twilio's own limit is 1,600 characters.
    expect(policy.maxSegments).toBeUndefined();
  });

  it('rejects an invalid keyword regex at load with the path of the pattern', () => {
    const result = contentPolicySchema.safeParse({ keywords: [{ pattern: '(unclosed', match: 'regex' }] });
    expect(result.success).toBe(false);
    const issue = result.error!.issues[0]!;
    expect(issue.path).toEqual(['keywords', 0, 'pattern']);
    expect(issue.message).toMatch(/^Invalid regular expression: .*Unterminated group/);
  });

  it('rejects an invalid opt-out pattern and a domain written as a URL', () => {
    const result = contentPolicySchema.safeParse({
      optOutLanguage: { pattern: '[' },
      urlAllowlist: ['https://example.com'],
    });
    expect(result.error!.issues.map((i) => i.path.join('.')).sort()).toEqual([
      'optOutLanguage.pattern',
      'urlAllowlist.0',
    ]);
  });

  it('lowercases allowlisted domains', () => {
    expect(contentPolicySchema.parse({ urlAllowlist: ['Example.COM'] }).urlAllowlist).toEqual([
      'example.com',
    ]);
  });
});

describe('content linter: links', () => {
  it('refuses a public URL shortener with or without a scheme', () => {
    const bodies = ['Track: https://bit.ly/x1', 'Track: bit.ly/x1', 'Go to HTTP://TinyURL.com/abc now'];
    expect(reasons(linter(), bodies)).toEqual(all(bodies, 'url_shortener'));
    expect(linter().lint(bodies[0]!, SMS_TX).refusal?.field).toBe('body');
  });

  it('refuses a shortener even when it is listed in the allowlist', () => {
    const lint = linter({ urlAllowlist: ['bit.ly', 'example.com'] });
    expect(lint.lint('See https://bit.ly/abc', SMS_TX).refusal?.reason).toBe('url_shortener');
  });

  it('refuses an extra shortener from config and its subdomains', () => {
    const lint = linter({ extraShorteners: ['sho.rt'] });
    expect(lint.lint('Open go.sho.rt/q', SMS_TX).refusal?.reason).toBe('url_shortener');
  });

  it('allows the allowlist and its subdomains and refuses other links, with or without a scheme', () => {
    const expected = {
      'Your code: https://example.com/verify?c=1': null,
      'Open www.example.com today': null,
      'Visit app.EU.Example.com/orders.': null,
      'Track at example.com': null,
      'Pay at https://examp1e.com/pay': 'url_not_allowed',
      'Pay at www.other.net': 'url_not_allowed',
      'Pay at pay-now.xyz/login': 'url_not_allowed',
      'Pay at notexample.com': 'url_not_allowed',
      'Pay at example.com.evil.io/x': 'url_not_allowed',
      // Not links: an e-mail address, a domain inside a link's query, missing spaces, a number.
      'Write to help@other.com': null,
      'See https://example.com/r?next=other.com/x': null,
      'Dear Mr.Smith, your order shipped.Thanks': null,
      'Version 2.5 is out': null,
    };
    expect(reasons(linter({ urlAllowlist: ['example.com'] }), Object.keys(expected))).toEqual(expected);
  });

  it('only warns about unlisted links when refuseUnlistedUrls is false', () => {
    const outcome = linter({ urlAllowlist: ['example.com'], refuseUnlistedUrls: false }).lint(
      'See other.org',
      SMS_TX,
    );
    expect(outcome.refusal).toBeNull();
    expect(outcome.warnings.map((w) => w.reason)).toEqual(['url_not_allowed']);
  });

  it('allows any non-shortener link when the allowlist is empty', () => {
    expect(linter().lint('See https://anything.example.org/x', SMS_TX).refusal).toBeNull();
  });
});

describe('content linter: keywords', () => {
  const lint = linter({
    keywords: [
      { pattern: 'free' },
      { pattern: 'act now', match: 'phrase', action: 'warn' },
      { pattern: 'loan\\s*approved', match: 'regex' },
      { pattern: 'winner', purposes: ['marketing'] },
    ],
  });

  it('refuses a whole-word match in any case and names the rule', () => {
    const { refusal } = lint.lint('Get it FREE today', SMS_TX);
    expect(refusal?.reason).toBe('keyword_blocked');
    expect(refusal?.message).toContain('"free"');
    expect(refusal?.field).toBe('body');
  });

  it('does not match a word inside another word', () => {
    expect(lint.lint('Carefree living', SMS_TX).refusal).toBeNull();
  });

  it('refuses a regex match', () => {
    expect(lint.lint('Your LOAN approved!', SMS_TX).refusal?.reason).toBe('keyword_blocked');
  });

  it('reports a warn rule as a warning without refusing', () => {
    const outcome = lint.lint('Act   now to keep your seat', SMS_TX);
    expect(outcome.refusal).toBeNull();
    expect(outcome.warnings).toHaveLength(1);
    expect(outcome.warnings[0]).toMatchObject({ reason: 'keyword_blocked', field: 'body' });
  });

  it('applies a rule only to its purposes', () => {
    expect(lint.lint('You are a winner', SMS_TX).refusal).toBeNull();
    expect(lint.lint('You are a winner. Reply STOP to opt out', SMS_MKT).refusal?.reason).toBe(
      'keyword_blocked',
    );
  });
});

describe('content linter: opt-out language', () => {
  const lint = linter();

  it('refuses marketing without opt-out language', () => {
    const { refusal } = lint.lint('Big sale this weekend!', SMS_MKT);
    expect(refusal?.reason).toBe('opt_out_language_missing');
    expect(refusal?.field).toBe('body');
  });

  it('accepts the usual opt-out phrasings', () => {
    const bodies = [
      'Sale! Reply STOP to opt out',
      'Sale! Text STOP to quit',
      'Sale! Reply "STOP" to end',
      'Sale! STOP to unsubscribe',
      'Sale! Stop to cancel',
      'Sale! Unsubscribe: example.com/u',
    ];
    expect(reasons(lint, bodies, SMS_MKT)).toEqual(all(bodies, null));
  });

  it('accepts curly quotes around STOP after smart encoding', () => {
    expect(lint.lint('Sale! Reply \u201CSTOP\u201D to opt out', SMS_MKT).refusal).toBeNull();
  });

  it('does not require opt-out language outside marketing', () => {
    expect(lint.lint('Your order shipped', SMS_TX).refusal).toBeNull();
    expect(lint.lint('Your code is 123456', { purpose: 'otp', channel: 'sms' }).refusal).toBeNull();
  });

  it('requires it for the configured purposes only', () => {
    const custom = linter({ optOutLanguage: { purposes: ['conversational'] } });
    expect(custom.lint('Hi there', { purpose: 'conversational', channel: 'sms' }).refusal?.reason).toBe(
      'opt_out_language_missing',
    );
    expect(custom.lint('Big sale!', SMS_MKT).refusal).toBeNull();
  });
});

describe('content linter: encoding and segments', () => {
  it('keeps a curly-quote message GSM-7 in one segment with smart encoding', () => {
    const outcome = linter().lint('Your order\u2019s on its way \u2014 \u201Cthanks\u201D\u2026', SMS_TX);
    expect(outcome).toMatchObject({ encoding: 'GSM-7', segments: 1, refusal: null });
    expect(outcome.body).toBe('Your order\'s on its way - "thanks"...');
  });

  it('leaves the body and its encoding alone when smart encoding is off', () => {
    const outcome = linter({ smartEncoding: false }).lint('Don\u2019t', SMS_TX);
    expect(outcome).toMatchObject({ body: 'Don\u2019t', encoding: 'UCS-2' });
  });

  it('counts UCS-2 segments of an emoji body against the cap', () => {
    // A 67-unit segment holds 33 emoji (surrogate pairs are never split): 100 emoji need 4 segments.
    const body = EMOJI.repeat(100);
    expect(linter({ maxSegments: 4 }).lint(body, SMS_TX)).toMatchObject({
      encoding: 'UCS-2',
      segments: 4,
      refusal: null,
    });
    const { refusal, segments } = linter({ maxSegments: 3 }).lint(body, SMS_TX);
    expect(segments).toBe(4);
    expect(refusal?.reason).toBe('segment_limit_exceeded');
    expect(refusal?.message).toContain('cap is 3');
  });

  it('applies no segment cap and no smart encoding to WhatsApp', () => {
    const outcome = linter({ maxSegments: 1 }).lint(`\u2019${'a'.repeat(400)}`, {
      purpose: 'transactional',
      channel: 'whatsapp',
    });
    expect(outcome).toMatchObject({ segments: 1, refusal: null });
    expect(outcome.body.startsWith('\u2019')).toBe(true);
  });

  it('applies the cap to MMS bodies', () => {
    expect(
      linter({ maxSegments: 1 }).lint('a'.repeat(200), { purpose: 'transactional', channel: 'mms' }).refusal
        ?.reason,
    ).toBe('segment_limit_exceeded');
  });

  it('reports the first refusing rule when several fail', () => {
    const { refusal } = linter({ maxSegments: 1, keywords: [{ pattern: 'sale' }] }).lint(
      `Sale at bit.ly/x ${'a'.repeat(300)}`,
      SMS_MKT,
    );
    expect(refusal?.reason).toBe('url_shortener');
  });
});
