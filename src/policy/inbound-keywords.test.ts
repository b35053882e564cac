import { describe, expect, it } from 'vitest';
import { classifyInboundKeyword } from './inbound-keywords.ts';

describe('classifyInboundKeyword', () => {
  it('recognizes Twilio\u2019s keywords alone, whatever the case, spaces and end punctuation', () => {
    expect(
      ['STOP', 'stop', ' Stop ', 'unsubscribe', 'STOPALL', 'optout', 'Revoke', 'quit.'].map(
        classifyInboundKeyword,
      ),
    ).toEqual(Array(8).fill('opt_out'));
    expect(['START', 'yes', 'Unstop!'].map(classifyInboundKeyword)).toEqual(['opt_in', 'opt_in', 'opt_in']);
    expect(['HELP', 'info?'].map(classifyInboundKeyword)).toEqual(['help', 'help']);
  });

  it('ignores a sentence that merely contains a keyword', () => {
    expect(classifyInboundKeyword('please stop texting me')).toBeNull();
    expect(classifyInboundKeyword('yes please')).toBeNull();
    expect(classifyInboundKeyword('')).toBeNull();
  });
});
