import pino, { type Logger } from 'pino';

/** Masks a phone number for logs: keeps the country prefix and the last two digits. */
export function maskPhone(value: string): string {
  const prefix = value.startsWith('whatsapp:') ? 'whatsapp:' : '';
  const number = value.slice(prefix.length);
  if (!/^\+?\d{5,}$/.test(number)) return value;
  return `${prefix}${number.slice(0, Math.min(3, number.length - 4))}${'*'.repeat(Math.max(0, number.length - 5))}${number.slice(-2)}`;
}

/**
 * The structured JSON logger. Message bodies are never logged (the `body` key is
 * censored as a safety net) and known phone-number fields are masked.
 */
export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino({
    name: options.name ?? 'switchboard',
    level: options.level ?? 'info',
    redact: { paths: ['body', '*.body', 'Body', '*.Body', 'authToken', '*.authToken'], censor: '[redacted]' },
    formatters: {
      log(obj) {
        for (const key of ['to', 'from', 'To', 'From', 'recipient']) {
          const v = obj[key];
          if (typeof v === 'string') obj[key] = maskPhone(v);
        }
        return obj;
      },
    },
  });
}
