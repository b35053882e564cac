import { timingSafeEqual } from 'node:crypto';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import type { Determinism } from './determinism.ts';
import { DEFAULT_MPS, type SenderType, type SimAccount, type SimSender } from './model.ts';
import { TwilioApiError } from './twilio-errors.ts';

/** A sender as the config file or a caller describes it. */
export interface SenderSpec {
  address: string;
  type: SenderType;
  country?: string | undefined;
  mps?: number | undefined;
  registered?: boolean | undefined;
  smsUrl?: string | null | undefined;
  statusCallback?: string | null | undefined;
  friendlyName?: string | undefined;
}

/** The senders every default account starts with: one of each type, registered and not. */
export const DEFAULT_SENDERS: SenderSpec[] = [
  { address: '+14155550100', type: 'long_code', friendlyName: '10DLC registered (SF)' },
  { address: '+14155550101', type: 'long_code', friendlyName: '10DLC registered (SF)' },
  { address: '+12125550102', type: 'long_code', friendlyName: '10DLC registered (NYC)' },
  { address: '+14155550199', type: 'long_code', registered: false, friendlyName: '10DLC unregistered' },
  { address: '+18885550100', type: 'toll_free', friendlyName: 'Toll-free verified' },
  { address: '+18885550199', type: 'toll_free', registered: false, friendlyName: 'Toll-free unverified' },
  { address: '55501', type: 'short_code', country: 'US', friendlyName: 'Short code' },
  { address: 'SWITCHBD', type: 'alphanumeric', country: 'GB', friendlyName: 'Alphanumeric sender ID' },
  { address: '+447400100100', type: 'long_code', country: 'GB', mps: 10, friendlyName: 'UK long code' },
  { address: 'whatsapp:+14155238886', type: 'whatsapp', friendlyName: 'WhatsApp sender' },
];

/** Who a request authenticated as. */
export interface Principal {
  account: SimAccount;
  /** The credential's SID: the account SID or an SK API key SID. */
  credentialSid: string;
}

/** Accounts, subaccounts, API keys and the senders they own. */
export class AccountRegistry {
  private readonly accounts = new Map<string, SimAccount>();
  private readonly senders = new Map<string, SimSender>();
  private readonly keyOwner = new Map<string, string>();
  private counter = 0;

  constructor(
    private readonly det: Determinism,
    private readonly now: () => number,
  ) {}

  /** Adds an account (or subaccount of `parentSid`) with the given senders. */
  add(
    spec: { sid: string; authToken: string; friendlyName?: string | undefined; parentSid?: string | null },
    senders: SenderSpec[],
  ): SimAccount {
    const account: SimAccount = {
      sid: spec.sid,
      authToken: spec.authToken,
      friendlyName: spec.friendlyName ?? (spec.parentSid ? 'Subaccount' : 'Switchboard simulator account'),
      parentSid: spec.parentSid ?? null,
      dateCreated: this.now(),
      apiKeys: new Map(),
      inflight: 0,
    };
    this.accounts.set(account.sid, account);
    for (const s of senders) this.addSender(account.sid, s);
    return account;
  }

  /** Creates a subaccount with its own token and a generated set of senders. */
  createSubaccount(parent: SimAccount, friendlyName: string | undefined): SimAccount {
    const n = ++this.counter;
    const sid = this.det.sid('AC', `subaccount:${parent.sid}:${n}`);
    const authToken = this.det.sid('', `token:${sid}`);
    const digits = (k: number) => String(this.det.int(`number:${sid}:${k}`) % 10_000).padStart(4, '0');
    return this.add(
      { sid, authToken, friendlyName: friendlyName ?? `Subaccount ${n}`, parentSid: parent.sid },
      [
        { address: `+1415${String(200 + (n % 700)).padStart(3, '0')}${digits(1)}`, type: 'long_code' },
        { address: `+1888${String(200 + (n % 700)).padStart(3, '0')}${digits(2)}`, type: 'toll_free' },
      ],
    );
  }

  /** Registers a sender for an account; an address already owned elsewhere is moved. */
  addSender(accountSid: string, spec: SenderSpec): SimSender {
    const sender: SimSender = {
      sid: this.det.sid(spec.type === 'short_code' ? 'SC' : 'PN', `sender:${spec.address}`),
      accountSid,
      address: spec.address,
      type: spec.type,
      country: spec.country ?? inferCountry(spec.address),
      mps: spec.mps ?? DEFAULT_MPS[spec.type],
      registered: spec.registered ?? true,
      friendlyName: spec.friendlyName ?? spec.address,
      smsUrl: spec.smsUrl ?? null,
      statusCallback: spec.statusCallback ?? null,
      dateCreated: this.now(),
    };
    this.senders.set(spec.address, sender);
    return sender;
  }

  /** The account with this SID, if any. */
  get(sid: string): SimAccount | undefined {
    return this.accounts.get(sid);
  }

  /** All accounts. */
  list(): SimAccount[] {
    return [...this.accounts.values()];
  }

  /** The sender with this address, if any account owns it. */
  sender(address: string): SimSender | undefined {
    return this.senders.get(address);
  }

  /** The senders an account owns. */
  sendersOf(accountSid: string): SimSender[] {
    return [...this.senders.values()].filter((s) => s.accountSid === accountSid);
  }

  /** Every sender. */
  allSenders(): SimSender[] {
    return [...this.senders.values()];
  }

  /** Creates an API key (SK…) for an account; returns its SID and secret. */
  createApiKey(
    account: SimAccount,
    friendlyName: string,
  ): { sid: string; secret: string; dateCreated: number } {
    const sid = this.det.sid('SK', `key:${account.sid}:${account.apiKeys.size}:${friendlyName}`);
    const secret = this.det.sid('', `secret:${sid}`);
    const dateCreated = this.now();
    account.apiKeys.set(sid, { secret, friendlyName, dateCreated });
    this.keyOwner.set(sid, account.sid);
    return { sid, secret, dateCreated };
  }

  /** Replaces the account's primary auth token; callbacks are signed with the new one from now on. */
  rotateToken(account: SimAccount, newToken?: string): string {
    account.authToken = newToken ?? this.det.sid('', `token:${account.sid}:${++this.counter}`);
    return account.authToken;
  }

  /**
   * Checks HTTP Basic credentials against the account in the URL path. The account's own
   * token or API key, or its parent's, are accepted, as on Twilio. Throws 20003 otherwise.
   */
  authenticate(authorization: string | undefined, pathAccountSid: string | null): Principal {
    const creds = parseBasic(authorization);
    if (!creds) throw TwilioApiError.of(20003, 'Authentication Error - No credentials provided');
    const ownerSid = creds.user.startsWith('SK') ? this.keyOwner.get(creds.user) : creds.user;
    const owner = ownerSid ? this.accounts.get(ownerSid) : undefined;
    if (!owner) throw TwilioApiError.of(20003, 'Authentication Error - invalid username');
    const expected = creds.user.startsWith('SK') ? owner.apiKeys.get(creds.user)?.secret : owner.authToken;
    if (expected === undefined || !safeEqual(expected, creds.password)) {
      throw TwilioApiError.of(20003, 'Authentication Error - invalid username or password');
    }
    if (pathAccountSid === null || pathAccountSid === owner.sid)
      return { account: owner, credentialSid: creds.user };
    const target = this.accounts.get(pathAccountSid);
    if (target && target.parentSid === owner.sid) return { account: target, credentialSid: creds.user };
    if (!target)
      throw TwilioApiError.of(
        20404,
        `The requested resource /2010-04-01/Accounts/${pathAccountSid} was not found`,
      );
    throw TwilioApiError.of(20003, 'Authentication Error - credentials do not grant access to this account');
  }
}

function parseBasic(header: string | undefined): { user: string; password: string } | null {
  const h = header ?? '';
  if (h.slice(0, 6).toLowerCase() !== 'basic ') return null;
  const decoded = Buffer.from(h.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function inferCountry(address: string): string {
  return parsePhoneNumberFromString(address.replace(/^whatsapp:/, ''))?.country ?? 'US';
}
