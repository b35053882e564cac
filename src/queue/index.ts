export {
  Dispatcher,
  type DispatcherDeps,
  type DispatcherOptions,
  type DispatchPolicy,
  type SendDecision,
} from './dispatcher.ts';
export { type PauseTimers, PollPause, processTimers } from './poll-pause.ts';
export { nextDelay, type RetryPolicy } from './retry-policy.ts';
