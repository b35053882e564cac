import { timingSafeEqual } from 'node:crypto';
import { SbError } from '../errors/index.ts';
import { signedParams, type signTwilioRequest, signTwilioString } from '../simulator/index.ts';

/** Form parameters as received: a repeated name carries an array of values. */
export type CallbackParams = Parameters<typeof signTwilioRequest>[2];

/** The auth tokens a callback may be signed with. */
export interface TwilioSignatureVerifierOptions {
  authToken: string;
  /** The token before the last rotation: callbacks signed with it are still accepted. */
  previousAuthToken?: string | undefined;
}

/**
 * Verifies `X-Twilio-Signature` (HMAC-SHA1 over the URL and the sorted form parameters)
 * against the current and the previous auth token. Like Twilio's own SDK it accepts the
 * URL with and without the standard port, since Twilio itself signs either. Every failure
 * is the same error, `SB_CALLBACK_BAD_SIGNATURE`.
 */
export class TwilioSignatureVerifier {
  private readonly tokens: string[];

  constructor(options: TwilioSignatureVerifierOptions) {
    if (!options.authToken) throw new SbError('SB_CONFIG_INVALID', 'a Twilio auth token is required');
    this.tokens = [options.authToken];
    if (options.previousAuthToken && options.previousAuthToken !== options.authToken)
      this.tokens.push(options.previousAuthToken);
  }

  /** Whether the signature matches the URL (as Twilio requested it) and the form parameters. */
  verify(url: string, params: CallbackParams, signatureHeader: string | undefined): boolean {
    if (!signatureHeader) return false;
    const given = Buffer.from(signatureHeader, 'utf8');
    // The parameter part is the same for every candidate: build it once. Each comparison is
    // constant-time; stopping at the first match reveals only that the request is valid.
    const paramsPart = signedParams(params);
    const signs = (candidate: string) =>
      this.tokens.some((token) => {
        const expected = Buffer.from(signTwilioString(token, candidate, paramsPart), 'utf8');
        return expected.length === given.length && timingSafeEqual(expected, given);
      });
    // The URL as called first: it usually decides, and the port variants are then never built.
    if (signs(url)) return true;
    return urlVariants(url).some((candidate) => candidate !== url && signs(candidate));
  }

  /** Like `verify`, but throws `SB_CALLBACK_BAD_SIGNATURE` on any failure. */
  assertValid(url: string, params: CallbackParams, signatureHeader: string | undefined): void {
    if (!this.verify(url, params, signatureHeader)) throw new SbError('SB_CALLBACK_BAD_SIGNATURE');
  }
}

/**
 * The URL as given first (what Twilio signs when it called the configured URL, so one HMAC
 * usually decides), then without its port and with the scheme's standard port, as
 * twilio-node's `validateRequest` tries.
 */
export function urlVariants(url: string): string[] {
  const parts = splitUrl(url);
  if (!parts) return [url];
  const without = parts.scheme + parts.userInfo + parts.host + parts.rest;
  const standard = parts.scheme.toLowerCase() === 'https://' ? ':443' : ':80';
  const withPort = parts.port ? url : parts.scheme + parts.userInfo + parts.host + standard + parts.rest;
  return [...new Set([url, without, withPort])];
}

/** Splits a URL without normalising it, so the path and query keep the exact characters signed. */
function splitUrl(url: string) {
  const match = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)/i.exec(url);
  if (!match) return null;
  const [prefix, scheme, authority] = match as unknown as [string, string, string];
  const userInfoEnd = authority.lastIndexOf('@');
  const hostAndPort = authority.slice(userInfoEnd + 1);
  // In an IPv6 literal, the port starts only after the closing bracket.
  const portStart = hostAndPort.indexOf(':', hostAndPort.lastIndexOf(']') + 1);
  return {
    scheme,
    userInfo: authority.slice(0, userInfoEnd + 1),
    host: portStart === -1 ? hostAndPort : hostAndPort.slice(0, portStart),
    port: portStart === -1 ? '' : hostAndPort.slice(portStart),
    rest: url.slice(prefix.length),
  };
}
