export { createLogger, maskPhone } from './logger.ts';
export { createMetrics, type Metrics, type QueueStatsSource } from './metrics.ts';
