export { createLogger, maskPhone } from './logger.ts';
