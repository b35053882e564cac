import { type CountryCode, parsePhoneNumberFromString } from 'libphonenumber-js/max';
import type { Determinism } from './determinism.ts';

/** How one carrier treats traffic: latency, failure rates, filtering, outage. */
export interface CarrierProfile {
  id: string;
  name: string;
  country: string;
  mcc: string;
  mnc: string;
  latencyMedianMs: number;
  latencyP95Ms: number;
  /** Per message: handset off or out of coverage (30003). */
  unreachableRate: number;
  /** Per number: the number does not exist (30005). */
  unknownNumberRate: number;
  /** Per number: a landline that cannot receive SMS (30006). */
  landlineRate: number;
  /** Per message: unknown carrier error (30008). */
  unknownErrorRate: number;
  /** Extra keywords this carrier filters (30007), in addition to the global list. */
  filterKeywords: string[];
  /** US carriers filter unregistered 10DLC (30034) and unverified toll-free (30032) traffic. */
  enforcesRegistration: boolean;
  /** While true every message to this carrier fails (30008) after its latency. */
  outage: boolean;
}

const US_BASE = {
  country: 'US',
  latencyMedianMs: 1_500,
  latencyP95Ms: 6_000,
  unreachableRate: 0.01,
  unknownNumberRate: 0.005,
  landlineRate: 0.01,
  unknownErrorRate: 0.002,
  filterKeywords: [] as string[],
  enforcesRegistration: true,
  outage: false,
};
const INTL_BASE = { ...US_BASE, latencyMedianMs: 2_500, latencyP95Ms: 12_000, enforcesRegistration: false };

/** The built-in carrier table; the config file can override any field per carrier id. */
export const DEFAULT_CARRIERS: CarrierProfile[] = [
  { ...US_BASE, id: 'att', name: 'AT&T Wireless', mcc: '310', mnc: '410' },
  { ...US_BASE, id: 'tmobile', name: 'T-Mobile USA, Inc.', mcc: '310', mnc: '260' },
  { ...US_BASE, id: 'verizon', name: 'Verizon Wireless', mcc: '311', mnc: '480' },
  { ...US_BASE, id: 'uscellular', name: 'U.S. Cellular', mcc: '311', mnc: '580', unreachableRate: 0.02 },
  { ...INTL_BASE, id: 'rogers', name: 'Rogers Wireless', country: 'CA', mcc: '302', mnc: '720' },
  { ...INTL_BASE, id: 'bell', name: 'Bell Mobility', country: 'CA', mcc: '302', mnc: '610' },
  { ...INTL_BASE, id: 'vodafone-uk', name: 'Vodafone UK', country: 'GB', mcc: '234', mnc: '15' },
  { ...INTL_BASE, id: 'ee', name: 'EE', country: 'GB', mcc: '234', mnc: '30' },
  { ...INTL_BASE, id: 'telekom-de', name: 'Telekom Deutschland', country: 'DE', mcc: '262', mnc: '01' },
  {
    ...INTL_BASE,
    id: 'jio',
    name: 'Reliance Jio',
    country: 'IN',
    mcc: '405',
    mnc: '857',
    unreachableRate: 0.03,
  },
  { ...INTL_BASE, id: 'vivo-br', name: 'Vivo', country: 'BR', mcc: '724', mnc: '06' },
  { ...INTL_BASE, id: 'intl', name: 'International Carrier', country: '*', mcc: '901', mnc: '01' },
];

/** What the simulator knows about a destination number, stable for a seed. */
export interface Destination {
  e164: string;
  country: string;
  carrier: CarrierProfile;
  lineType: 'mobile' | 'landline' | 'tollFree' | 'fixedVoip' | 'nonFixedVoip';
  exists: boolean;
  nationalFormat: string;
  callingCode: string;
}

/** Assigns each destination to a carrier and line type, deterministically under the seed. */
export class CarrierNetwork {
  private readonly byCountry = new Map<string, CarrierProfile[]>();
  private readonly byId = new Map<string, CarrierProfile>();
  // Destinations repeat a lot; parsing a number is the costly part of assignment.
  private readonly cache = new Map<string, Destination | null>();

  constructor(
    private readonly det: Determinism,
    carriers: CarrierProfile[],
  ) {
    for (const c of carriers) {
      this.byId.set(c.id, c);
      const list = this.byCountry.get(c.country) ?? [];
      list.push(c);
      this.byCountry.set(c.country, list);
    }
  }

  /** Every carrier profile, for inspection. */
  list(): CarrierProfile[] {
    return [...this.byId.values()];
  }

  /** The profile with this id, or undefined. */
  get(id: string): CarrierProfile | undefined {
    return this.byId.get(id);
  }

  /** Resolves an E.164 number; null when it is not a valid phone number. */
  resolve(e164: string): Destination | null {
    const hit = this.cache.get(e164);
    if (hit !== undefined) return hit;
    const result = this.compute(e164);
    if (this.cache.size > 100_000) this.cache.clear();
    this.cache.set(e164, result);
    return result;
  }

  private compute(e164: string): Destination | null {
    if (!/^\+[1-9]\d{6,14}$/.test(e164)) return null;
    const parsed = parsePhoneNumberFromString(e164);
    if (!parsed?.isValid()) return null;
    const country = (parsed.country ?? 'ZZ') as CountryCode | 'ZZ';
    const pool = this.byCountry.get(country) ?? this.byCountry.get('*') ?? [...this.byId.values()];
    const carrier = pool[this.det.int(`carrier:${e164}`) % pool.length]!;
    const type = parsed.getType();
    const landline = type === 'FIXED_LINE' || this.det.uniform(`landline:${e164}`) < carrier.landlineRate;
    let lineType: Destination['lineType'] = landline ? 'landline' : 'mobile';
    if (type === 'TOLL_FREE') lineType = 'tollFree';
    else if (type === 'VOIP') lineType = 'nonFixedVoip';
    return {
      e164,
      country,
      carrier,
      lineType,
      exists: this.det.uniform(`exists:${e164}`) >= carrier.unknownNumberRate,
      nationalFormat: parsed.formatNational(),
      callingCode: parsed.countryCallingCode,
    };
  }
}
