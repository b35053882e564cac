export { SB_ERRORS, SbError, type SbErrorCode } from './sb-error.ts';
