/**
 * Twilio's default opt-out handling: a message whose whole body (trimmed, case-insensitive)
 * is one of these keywords opts the sender out of, back into, or asks for help about the
 * number it wrote to. A sentence that merely contains "stop" is not a keyword. Source:
 * Twilio's "Default Opt-Out Keywords" (support article 223134027), which added OPTOUT and
 * REVOKE to STOP, STOPALL, UNSUBSCRIBE, CANCEL, END and QUIT.
 */
export const OPT_OUT_KEYWORDS: ReadonlySet<string> = new Set([
  'STOP',
  'STOPALL',
  'UNSUBSCRIBE',
  'CANCEL',
  'END',
  'QUIT',
  'OPTOUT',
  'REVOKE',
]);
/** Keywords that opt a recipient back in. */
export const OPT_IN_KEYWORDS: ReadonlySet<string> = new Set(['START', 'YES', 'UNSTOP']);
/** Keywords that ask for help. */
export const HELP_KEYWORDS: ReadonlySet<string> = new Set(['HELP', 'INFO']);

/** What an inbound keyword asks for. */
export type InboundKeyword = 'opt_out' | 'opt_in' | 'help';

/** Classifies an inbound body: a keyword alone (surrounding spaces and end punctuation ignored), else null. */
export function classifyInboundKeyword(body: string): InboundKeyword | null {
  const word = body
    .trim()
    .replace(/[.!?]+$/, '')
    .toUpperCase();
  if (OPT_OUT_KEYWORDS.has(word)) return 'opt_out';
  if (OPT_IN_KEYWORDS.has(word)) return 'opt_in';
  if (HELP_KEYWORDS.has(word)) return 'help';
  return null;
}
