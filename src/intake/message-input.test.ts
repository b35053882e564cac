import { describe, expect, it } from 'vitest';
import { SbError } from '../errors/index.ts';
import { type MessageInput, parseMessageInput } from './message-input.ts';

const input = (raw: Record<string, unknown>, header?: string): MessageInput => {
  const parsed = parseMessageInput(raw, header);
  if (parsed instanceof SbError) throw parsed;
  return parsed;
};

describe('parseMessageInput', () => {
  it('applies the sms default and lets the Idempotency-Key header supply the key', () => {
    const m = input({ to: '+14155550123', body: 'hi', purpose: 'otp' }, 'k-1');
    expect(m).toMatchObject({ channel: 'sms', idempotencyKey: 'k-1' });
  });

  it('accepts an MMS that carries only media', () => {
    const m = input({
      to: '+14155550123',
      purpose: 'transactional',
      channel: 'mms',
      mediaUrls: ['https://x.example/a b.png'],
    });
    expect(m.mediaUrls).toEqual(['https://x.example/a%20b.png']);
  });
});
