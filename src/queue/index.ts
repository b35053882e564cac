export type { DispatchPolicy, SendDecision } from './dispatch-policy.ts';
export { Dispatcher, type DispatcherDeps, type DispatcherOptions } from './dispatcher.ts';
export { type PauseTimers, PollPause, processTimers } from './poll-pause.ts';
export { nextDelay, type RetryPolicy } from './retry-policy.ts';
