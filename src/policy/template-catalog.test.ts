import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isRefusal, type PolicyRefusal } from './policy-refusal.ts';
import {
  createTemplateCatalog,
  type ResolvedTemplate,
  sha256Hex,
  templatePlaceholders,
  templateSchema,
  templatesSchema,
} from './template-catalog.ts';

const CONTENT_SID = `HX${'a'.repeat(32)}`;

const templates = templatesSchema.parse([
  {
    id: 'order-shipped',
    versions: [
      { version: 1, locale: 'en', status: 'approved', body: 'Order {{order}} shipped.' },
      { version: 2, locale: 'en', status: 'approved', body: 'Hi {{name}}, order {{order}} shipped.' },
      { version: 3, locale: 'en', status: 'pending', body: 'Hey {{name}}! {{order}} is on its way.' },
      { version: 1, locale: 'es', status: 'approved', body: 'Pedido {{order}} enviado.' },
      { version: 1, locale: 'pt-BR', status: 'rejected', body: 'Pedido {{order}} enviado!' },
      { version: 1, locale: 'fr', status: 'pending', body: 'Commande {{order}} expédiée.' },
    ],
  },
  {
    id: 'otp',
    purpose: 'otp',
    versions: [
      { version: 1, locale: 'en-US', status: 'approved', body: 'Code {{1}}. {{1}} expires soon.' },
      { version: 1, locale: 'en-GB', status: 'approved', contentSid: CONTENT_SID },
    ],
  },
]);

function resolved(value: ResolvedTemplate | PolicyRefusal): ResolvedTemplate {
  if (isRefusal(value)) throw new Error(`unexpected refusal ${value.reason}: ${value.message}`);
  return value;
}

describe('template schema', () => {
  it('defaults the purpose to transactional and keeps the Content SID', () => {
    expect(templates[0]!.purpose).toBe('transactional');
    expect(templates[1]!.versions[1]!.contentSid).toBe(CONTENT_SID);
  });

  it('rejects a repeated version and locale, a version with neither body nor contentSid, and bad placeholders', () => {
    const result = templateSchema.safeParse({
      id: 'x',
      versions: [
        { version: 1, locale: 'en', status: 'approved', body: 'a' },
        { version: 1, locale: 'EN', status: 'pending', body: 'b' },
        { version: 2, locale: 'en', status: 'pending' },
        { version: 3, locale: 'en', status: 'pending', body: 'Hi {{ name }}' },
        { version: 4, locale: 'en', status: 'pending', body: 'Hi {{na-me}}' },
      ],
    });
    const issues = result.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(issues).toEqual([
      expect.stringMatching(/^versions\.1: version 1 for locale EN appears twice/),
      expect.stringMatching(/^versions\.2: a version needs a body or a contentSid/),
      expect.stringMatching(/^versions\.3\.body: invalid placeholder near "Hi \{\{ name/),
      expect.stringMatching(/^versions\.4\.body: invalid placeholder/),
    ]);
  });

  it('rejects a malformed locale, id and Content SID', () => {
    const result = templateSchema.safeParse({
      id: 'Bad Id',
      versions: [{ version: 1, locale: 'english_US', status: 'approved', contentSid: 'HX123' }],
    });
    expect(result.error!.issues.map((i) => i.path.join('.'))).toEqual([
      'id',
      'versions.0.locale',
      'versions.0.contentSid',
    ]);
  });

  it('rejects repeated template ids', () => {
    const one = { id: 'a', versions: [{ version: 1, locale: 'en', status: 'approved', body: 'x' }] };
    const result = templatesSchema.safeParse([one, one]);
    expect(result.error!.issues[0]).toMatchObject({
      path: [1, 'id'],
      message: 'template id a appears twice',
    });
  });
});

describe('template catalog: resolve', () => {
  const catalog = createTemplateCatalog(templates);

  it('picks the newest approved version of the locale when no version is given', () => {
    expect(resolved(catalog.resolve({ id: 'order-shipped', locale: 'en' }))).toMatchObject({
      version: 2,
      locale: 'en',
      purpose: 'transactional',
      placeholders: ['name', 'order'],
    });
  });

  it('falls back from a regional locale to its language', () => {
    expect(resolved(catalog.resolve({ id: 'order-shipped', locale: 'es-MX' }))).toMatchObject({
      version: 1,
      locale: 'es',
    });
  });

  it('falls back to the default locale, which is en unless configured', () => {
    expect(resolved(catalog.resolve({ id: 'order-shipped', locale: 'de-AT' })).locale).toBe('en');
    expect(resolved(catalog.resolve({ id: 'order-shipped' })).locale).toBe('en');
    const es = createTemplateCatalog(templates, { defaultLocale: 'es' });
    expect(resolved(es.resolve({ id: 'order-shipped', locale: 'de' })).locale).toBe('es');
  });

  it('falls back past a locale whose versions are all unapproved', () => {
    expect(resolved(catalog.resolve({ id: 'order-shipped', locale: 'fr' })).locale).toBe('en');
  });

  it('matches locales case-insensitively and reports the configured spelling', () => {
    expect(resolved(catalog.resolve({ id: 'otp', locale: 'EN-us' })).locale).toBe('en-US');
  });

  it('returns an explicit approved version even when a newer one exists', () => {
    expect(resolved(catalog.resolve({ id: 'order-shipped', version: 1, locale: 'en' })).body).toBe(
      'Order {{order}} shipped.',
    );
  });

  it('refuses an explicit version that is not approved', () => {
    const refusal = catalog.resolve({ id: 'order-shipped', version: 3 }) as PolicyRefusal;
    expect(refusal).toMatchObject({ reason: 'template_not_approved', field: 'template' });
    expect(refusal.message).toContain('pending');
  });

  it('refuses when no locale in the chain has an approved version', () => {
    const onlyPending = createTemplateCatalog(
      templatesSchema.parse([
        { id: 'p', versions: [{ version: 1, locale: 'en', status: 'pending', body: 'x' }] },
      ]),
    );
    expect(onlyPending.resolve({ id: 'p' })).toMatchObject({ reason: 'template_not_approved' });
  });

  it('refuses an unknown template, version or locale with template_unknown', () => {
    expect(catalog.resolve({ id: 'nope' })).toMatchObject({ reason: 'template_unknown', field: 'template' });
    expect(catalog.resolve({ id: 'order-shipped', version: 9 })).toMatchObject({
      reason: 'template_unknown',
    });
    expect(catalog.resolve({ id: 'otp', locale: 'ja' })).toMatchObject({ reason: 'template_unknown' });
  });

  it('resolves a WhatsApp Content template with no body', () => {
    const t = resolved(catalog.resolve({ id: 'otp', locale: 'en-GB' }));
    expect(t).toMatchObject({ contentSid: CONTENT_SID, body: null, placeholders: [], purpose: 'otp' });
    expect(catalog.render(t, undefined)).toBe('');
  });
});

describe('template catalog: render', () => {
  const catalog = createTemplateCatalog(templates);
  const shipped = resolved(catalog.resolve({ id: 'order-shipped' }));

  it('fills every placeholder, including repeated numbered ones', () => {
    expect(catalog.render(shipped, { name: 'Ana', order: 'A-1' })).toBe('Hi Ana, order A-1 shipped.');
    const otp = resolved(catalog.resolve({ id: 'otp', locale: 'en-US' }));
    expect(otp.placeholders).toEqual(['1']);
    expect(catalog.render(otp, { 1: '123456' })).toBe('Code 123456. 123456 expires soon.');
  });

  it('does not expand placeholders that appear inside variable values', () => {
    expect(catalog.render(shipped, { name: '{{order}}', order: '7' })).toBe('Hi {{order}}, order 7 shipped.');
  });

  it('names missing and extra variables', () => {
    const refusal = catalog.render(shipped, { name: 'Ana', coupon: 'X' }) as PolicyRefusal;
    expect(refusal).toMatchObject({ reason: 'template_variables_mismatch', field: 'template.variables' });
    expect(refusal.message).toContain('missing order');
    expect(refusal.message).toContain('not in the template coupon');
    expect(catalog.render(shipped, undefined)).toMatchObject({ reason: 'template_variables_mismatch' });
  });
});

describe('template helpers', () => {
  it('lists distinct placeholders in order of first appearance', () => {
    expect(templatePlaceholders('{{b}} {{a}} {{b}} {single} {{1}}')).toEqual(['b', 'a', '1']);
  });

  it('hashes a rendered body as hex SHA-256', () => {
    expect(sha256Hex('Hi Ana')).toBe(createHash('sha256').update('Hi Ana').digest('hex'));
    expect(sha256Hex('Hi Ana')).toMatch(/^[0-9a-f]{64}$/);
  });
});
