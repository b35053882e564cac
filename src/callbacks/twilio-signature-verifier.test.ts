import twilio from 'twilio';
import { describe, expect, it } from 'vitest';
import { SbError } from '../errors/index.ts';
import { TwilioSignatureVerifier, urlVariants } from './twilio-signature-verifier.ts';

const URL_ = 'https://mycompany.com/myapp.php?foo=1&bar=2';
const PARAMS = {
  CallSid: 'CA1234567890ABCDE',
  Caller: '+14158675309',
  Digits: '1234',
  From: '+14158675309',
  To: '+18005551212',
};

describe('TwilioSignatureVerifier', () => {
  const verifier = new TwilioSignatureVerifier({ authToken: '12345', previousAuthToken: 'old-token' });

  it("accepts Twilio's published test vector", () => {
    expect(verifier.verify(URL_, PARAMS, 'RSOYDt4T1cUTdK1PDd93/VVr8B8=')).toBe(true);
  });

  it('signs each distinct value of a repeated parameter, sorted', () => {
    const params = { Sid: 'CA123', SidAccount: 'AC123', Digits: ['5678', '1234', '1234'] };
    expect(verifier.verify(URL_, params, 'IK+Dwps556ElfBT0I3Rgjkr1wJU=')).toBe(true);
  });

  it('accepts a callback signed with the previous token after a rotation', () => {
    const sig = twilio.getExpectedTwilioSignature('old-token', URL_, PARAMS);
    expect(verifier.verify(URL_, PARAMS, sig)).toBe(true);
  });

  it('refuses a signature made with another token, a changed parameter or another URL', () => {
    const forged = twilio.getExpectedTwilioSignature('not-the-token', URL_, PARAMS);
    expect(verifier.verify(URL_, PARAMS, forged)).toBe(false);
    const good = twilio.getExpectedTwilioSignature('12345', URL_, PARAMS);
    expect(verifier.verify(URL_, { ...PARAMS, Digits: '9999' }, good)).toBe(false);
    expect(verifier.verify(URL_, { ...PARAMS, Extra: '' }, good)).toBe(false);
    expect(verifier.verify('https://mycompany.com/myapp.php?foo=1&bar=3', PARAMS, good)).toBe(false);
  });

  it('refuses a missing, empty, truncated or padded header', () => {
    const good = twilio.getExpectedTwilioSignature('12345', URL_, PARAMS);
    expect(verifier.verify(URL_, PARAMS, undefined)).toBe(false);
    expect(verifier.verify(URL_, PARAMS, '')).toBe(false);
    expect(verifier.verify(URL_, PARAMS, good.slice(0, -1))).toBe(false);
    expect(verifier.verify(URL_, PARAMS, `${good} `)).toBe(false);
  });

  it('accepts the URL signed with or without the standard port, as the Twilio SDK does', () => {
    const withPort = 'https://mycompany.com:443/myapp.php?foo=1&bar=2';
    expect(verifier.verify(URL_, PARAMS, twilio.getExpectedTwilioSignature('12345', withPort, PARAMS))).toBe(
      true,
    );
    expect(verifier.verify(withPort, PARAMS, twilio.getExpectedTwilioSignature('12345', URL_, PARAMS))).toBe(
      true,
    );
    const http = 'http://gw.local/webhooks/twilio/status?mid=m1';
    const http80 = 'http://gw.local:80/webhooks/twilio/status?mid=m1';
    expect(verifier.verify(http, PARAMS, twilio.getExpectedTwilioSignature('12345', http80, PARAMS))).toBe(
      true,
    );
    // The wrong standard port for the scheme is not a variant.
    const wrong = twilio.getExpectedTwilioSignature(
      '12345',
      'https://mycompany.com:80/myapp.php?foo=1&bar=2',
      PARAMS,
    );
    expect(verifier.verify(URL_, PARAMS, wrong)).toBe(false);
  });

  it('agrees with twilio.validateRequest on every port variant', () => {
    const urls = [
      'https://gw.example.com/webhooks/twilio/status?mid=msg_1',
      'https://gw.example.com:443/webhooks/twilio/status?mid=msg_1',
      'https://gw.example.com:8443/webhooks/twilio/status?mid=msg_1',
      'http://[::1]:3000/webhooks/twilio/status?mid=msg_1',
      'http://[::1]/webhooks/twilio/status',
    ];
    for (const signed of urls) {
      const sig = twilio.getExpectedTwilioSignature('12345', signed, PARAMS);
      for (const received of urls) {
        expect(verifier.verify(received, PARAMS, sig), `${signed} vs ${received}`).toBe(
          twilio.validateRequest('12345', sig, received, PARAMS),
        );
      }
    }
  });

  it('lists the URL as given first, then without its port and with the standard port', () => {
    expect(urlVariants('https://a.example/x?y=1')).toEqual([
      'https://a.example/x?y=1',
      'https://a.example:443/x?y=1',
    ]);
    expect(urlVariants('http://a.example:8080/x')).toEqual(['http://a.example:8080/x', 'http://a.example/x']);
    expect(urlVariants('https://a.example:443/x')).toEqual([
      'https://a.example:443/x',
      'https://a.example/x',
    ]);
    expect(urlVariants('not a url')).toEqual(['not a url']);
  });

  it('throws one error type for every failure', () => {
    expect(() => verifier.assertValid(URL_, PARAMS, 'nope')).toThrow(
      expect.objectContaining({ code: 'SB_CALLBACK_BAD_SIGNATURE', status: 403 }),
    );
    expect(() => verifier.assertValid(URL_, PARAMS, undefined)).toThrow(SbError);
    expect(() => verifier.assertValid(URL_, PARAMS, 'RSOYDt4T1cUTdK1PDd93/VVr8B8=')).not.toThrow();
  });

  it('refuses to be built without a token', () => {
    expect(() => new TwilioSignatureVerifier({ authToken: '' })).toThrow(SbError);
  });
});
