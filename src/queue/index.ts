export {
  Dispatcher,
  type DispatcherDeps,
  type DispatcherOptions,
  type DispatchPolicy,
  type SendDecision,
} from './dispatcher.ts';
export { nextDelay, type RetryPolicy } from './retry-policy.ts';
