// Policy evaluation cost on a realistic config: 7 pools of every sender type with registrations,
// 30 templates in 3 locales, a URL allowlist, 12 keyword rules, opt-out language, quiet hours,
// caps and spike protection. Measures (1) the intake admission (templates, lint, smart encoding,
// routing, registration, quiet hours) over a mix of messages, in-process; (2) the check before
// each send (opt-out lookup among 10,000 opt-outs, WhatsApp window, caps, spike counters) on the
// embedded SQLite store. A bare node:http server measured in the same run gives the ceiling of
// one HTTP request, and the result says what share of a bare request one evaluation costs.
// Prints exactly one JSON line; progress goes to stderr.
//
//   node --import tsx bench/policy-eval.ts        BENCH_SECONDS=2 for a quick run
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gatewayConfigSchema } from '../src/config/index.ts';
import { createLogger } from '../src/observability/index.ts';
import { type IntakeRequest, PolicyEngine } from '../src/policy/index.ts';
import { type MessageRow, openDatabase, setOptOut } from '../src/store/index.ts';
import { log, round } from './lib/env.ts';
import { closedLoop, ratio } from './lib/measure.ts';
import { benchPath, spawnServer } from './lib/server-child.ts';
import { runLength } from './lib/settings.ts';

const { seconds, warmupSeconds } = runLength();
const reg = { kind: '10dlc', id: 'CM1', status: 'approved' } as const;
const config = gatewayConfigSchema.parse({
  pools: [
    {
      id: 'otp-sc',
      senderType: 'short_code',
      purposes: ['otp'],
      countries: ['US'],
      numbers: [{ address: '55501', mps: 100 }],
    },
    {
      id: 'tx-10dlc',
      senderType: 'long_code',
      purposes: ['otp', 'transactional'],
      countries: ['US', 'CA'],
      numbers: Array.from({ length: 20 }, (_, i) => ({
        address: `+1${[212, 415, 312, 303, 617][i % 5]}55501${String(i).padStart(2, '0')}`,
        mps: 4,
        registration: reg,
      })),
    },
    {
      id: 'chat',
      senderType: 'long_code',
      purposes: ['conversational'],
      countries: ['US'],
      numbers: Array.from({ length: 10 }, (_, i) => ({
        address: `+1${[212, 415][i % 2]}55502${String(i).padStart(2, '0')}`,
        mps: 4,
        registration: reg,
      })),
    },
    {
      id: 'marketing-tf',
      senderType: 'toll_free',
      purposes: ['marketing'],
      countries: ['US', 'CA'],
      numbers: Array.from({ length: 5 }, (_, i) => ({
        address: `+1888555010${i}`,
        mps: 3,
        registration: { kind: 'toll_free_verification', id: 'TF', status: 'approved' },
      })),
    },
    {
      id: 'mms',
      senderType: 'long_code',
      channel: 'mms',
      purposes: ['transactional', 'marketing'],
      countries: ['US'],
      numbers: [{ address: '+14155550150', mps: 4, registration: reg }],
    },
    {
      id: 'wa',
      senderType: 'whatsapp',
      channel: 'whatsapp',
      purposes: ['otp', 'transactional', 'conversational'],
      countries: ['*'],
      numbers: [{ address: 'whatsapp:+14155238886', mps: 80 }],
    },
    {
      id: 'intl',
      senderType: 'alphanumeric',
      purposes: ['otp', 'transactional'],
      countries: ['GB', 'DE', 'FR', 'ES', 'IN', 'BR'],
      numbers: [{ address: 'SWITCHBD', mps: 10 }],
    },
  ],
  templates: Array.from({ length: 30 }, (_, t) => ({
    id: `tpl-${t}`,
    purpose: t % 3 === 0 ? 'otp' : 'transactional',
    versions: ['en', 'es', 'pt-BR'].flatMap((locale) => [
      {
        version: 1,
        locale,
        status: 'approved',
        body: `(${locale}) Hi {{name}}, your code ${t} is {{code}}.`,
      },
      { version: 2, locale, status: 'pending', body: `(${locale}) {{name}}: ${t} {{code}}` },
    ]),
  })),
  policy: {
    content: {
      urlAllowlist: ['example.com', 'example-mail.com', 'cdn.example.net'],
      keywords: [
        ...['free money', 'act now', 'winner', 'cash prize', 'casino', 'loan approval'].map((pattern) => ({
          pattern,
          match: 'phrase',
        })),
        ...['crypto', 'bitcoin', 'viagra'].map((pattern) => ({ pattern, match: 'word' })),
        { pattern: '\\b\\d{16}\\b', match: 'regex' },
        { pattern: 'guaranteed', match: 'word', action: 'warn' },
        { pattern: 'limited time', match: 'phrase', action: 'warn', purposes: ['marketing'] },
      ],
    },
    caps: { firstContactPerHour: 1_000_000, dailySpendUsd: { US: 1_000_000 } },
    spikeProtection: { perMinute: 1_000_000_000 },
  },
});

const recipients = ['+12125550123', '+14155550123', '+13125550123', '+16175550123', '+447400123456'];
const countries = ['US', 'US', 'US', 'US', 'GB'];
const MIX: ((i: number) => IntakeRequest)[] = [
  (i) => ({
    channel: 'sms',
    purpose: 'transactional',
    recipient: recipients[i % 4]!,
    country: 'US',
    body: `Your order ${i} has shipped \u2014 track it at https://shop.example.com/t/${i} \u201cthanks\u201d`,
    template: null,
    mediaUrls: null,
  }),
  (i) => ({
    channel: 'sms',
    purpose: 'otp',
    recipient: recipients[i % 5]!,
    country: countries[i % 5]!,
    body: null,
    template: {
      id: `tpl-${(i % 10) * 3}`,
      locale: ['en', 'es-MX', 'pt-BR'][i % 3],
      variables: { name: 'Ada', code: String(100000 + i) },
    },
    mediaUrls: null,
  }),
  (i) => ({
    channel: 'sms',
    purpose: 'marketing',
    recipient: recipients[i % 4]!,
    country: 'US',
    body: `Spring sale: 20% off everything at https://example.com/s?i=${i}. Reply STOP to opt out.`,
    template: null,
    mediaUrls: null,
  }),
  (i) => ({
    channel: 'sms',
    purpose: 'conversational',
    recipient: recipients[i % 4]!,
    country: 'US',
    body: `Sure, see you at ${i % 12}pm. Anything else I can help with?`,
    template: null,
    mediaUrls: null,
  }),
  (i) => ({
    channel: 'whatsapp',
    purpose: 'transactional',
    recipient: recipients[i % 5]!,
    country: countries[i % 5]!,
    body: `Your appointment ${i} is confirmed for tomorrow.`,
    template: null,
    mediaUrls: null,
  }),
];

async function measureBare(): Promise<number> {
  const bare = await spawnServer(benchPath('servers/bare-form.ts'), { label: 'bare-form' });
  try {
    const body = 'MessageSid=SM0123&MessageStatus=delivered&To=%2B14155550123';
    const result = await closedLoop(
      'bare-form',
      bare.info.url,
      () => ({
        method: 'POST',
        path: '/',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': 'bench' },
        body,
      }),
      { connections: 32, concurrency: 64, seconds: Math.min(seconds, 4), warmupSeconds },
    );
    return result.perSecond;
  } finally {
    await bare.stop();
  }
}

/** Runs `fn` in a loop for `ms` (after a warm-up) and returns calls per second. */
async function rate(label: string, ms: number, fn: (i: number) => unknown): Promise<number> {
  const deadline = performance.now() + warmupSeconds * 1000;
  let i = 0;
  while (performance.now() < deadline) await fn(i++);
  const start = performance.now();
  const end = start + ms;
  let n = 0;
  while (performance.now() < end && n < 50_000_000) {
    for (let k = 0; k < 100; k++) await fn(n++);
  }
  const perS = n / ((performance.now() - start) / 1000);
  log(`${label}: ${Math.round(perS)}/s`);
  return perS;
}

const logger = createLogger({ level: 'silent' });
const db = await openDatabase(
  `sqlite:${join(tmpdir(), `sb-policy-bench-${randomBytes(4).toString('hex')}.db`)}`,
);
const engine = new PolicyEngine(
  { db, logger },
  { pools: config.pools, templates: config.templates, policy: config.policy },
);
await engine.start();
const now = Date.now();
for (let k = 0; k < 10_000; k++) {
  await setOptOut(db, {
    scope: 'account',
    recipient: `+1646555${String(k).padStart(4, '0')}`,
    optedOut: true,
    keyword: 'STOP',
    now,
  });
}

// (1) Intake admission: pure CPU, synchronous.
let refused = 0;
const admitPerS = await rate('admission', seconds * 1000, (i) => {
  const r = engine.admit(MIX[i % MIX.length]!(i));
  if (!('pool' in r)) refused++;
});

// (2) The check before a send, with the store: one row per mix entry, admitted once.
const rows: { row: MessageRow; poolId: string }[] = MIX.map((make, k) => {
  const req = make(k);
  const a = engine.admit(req);
  if (!('pool' in a)) throw new Error(`mix entry ${k} refused: ${a.reason}`);
  return {
    poolId: a.pool.id,
    row: {
      id: `msg_${k}`,
      tenant_id: 'bench',
      recipient: req.recipient,
      country: req.country,
      purpose: req.purpose,
      channel: a.channel,
      body: a.body,
      media_urls: null,
      user_id: null,
      template_id: a.templateId,
      template_version: a.templateVersion,
      template_locale: a.templateLocale,
      content_variables: req.template?.variables ? JSON.stringify(req.template.variables) : null,
    } as MessageRow,
  };
});
const gatePerS = await rate('check before send', Math.min(seconds, 4) * 1000, async (i) => {
  const { row, poolId } = rows[i % rows.length]!;
  const pool = engine.compiled.pools.get(poolId)!;
  const sender = pool.numbers[0]!.address;
  await engine.check(row, pool, { sender, registered: true });
});
engine.stop();
await db.close();

const barePerS = await measureBare();
process.stdout.write(
  `${JSON.stringify({
    bench: 'policy-eval',
    admissions_per_s: round(admitPerS),
    admission_us: round(1e6 / admitPerS, 2),
    refused_in_mix: refused,
    send_checks_per_s: round(gatePerS),
    send_check_us: round(1e6 / gatePerS, 1),
    bare_http_per_s: round(barePerS),
    // What share of one bare HTTP request's time an admission costs (lower is better).
    admission_share_of_bare_request: ratio(barePerS, admitPerS, 4),
    templates: config.templates.length,
    pools: config.pools.length,
  })}\n`,
);
