import twilio from 'twilio';
import { describe, expect, it } from 'vitest';
import { signTwilioRequest } from './twilio-signature.ts';

const URL = 'https://mycompany.com/myapp.php?foo=1&bar=2';

describe('signTwilioRequest', () => {
  it("matches Twilio's published vector for a form POST", () => {
    const params = {
      CallSid: 'CA1234567890ABCDE',
      Caller: '+14158675309',
      Digits: '1234',
      From: '+14158675309',
      To: '+18005551212',
    };
    expect(signTwilioRequest('12345', URL, params)).toBe('RSOYDt4T1cUTdK1PDd93/VVr8B8=');
  });

  it('signs each distinct value of a repeated parameter once, sorted', () => {
    const params = { Sid: 'CA123', SidAccount: 'AC123', Digits: ['5678', '1234', '1234'] };
    expect(signTwilioRequest('12345', URL, params)).toBe('IK+Dwps556ElfBT0I3Rgjkr1wJU=');
  });

  it('orders parameter names as the twilio SDK does, for a few names and for many', () => {
    // Mixed case, digits, punctuation and non-ASCII, in no particular order.
    const names = [
      'b',
      'B',
      'a1',
      'A10',
      'A2',
      '_x',
      'Z',
      'z',
      'é',
      'Ω',
      'To',
      'to',
      'Body',
      'MessageSid',
      '0',
    ];
    for (const count of [5, names.length, 40]) {
      const params: Record<string, string> = {};
      for (let i = 0; i < count; i++)
        params[`${names[(i * 7) % names.length]}${i >= names.length ? i : ''}`] = `v${i}`;
      expect(signTwilioRequest('12345', URL, params)).toBe(
        twilio.getExpectedTwilioSignature('12345', URL, params),
      );
    }
  });

  it('gives a different signature for another token', () => {
    const params = { To: '+18005551212' };
    expect(signTwilioRequest('12345', URL, params)).not.toBe(signTwilioRequest('54321', URL, params));
  });
});
