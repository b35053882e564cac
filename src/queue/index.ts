export { Dispatcher, type DispatcherDeps, type DispatcherOptions } from './dispatcher.ts';
export { nextDelay, type RetryPolicy } from './retry-policy.ts';
