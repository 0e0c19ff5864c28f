// Structured logs: one JSON object per line on stderr, so log shippers need no parser.
// Secrets registered with redact() never reach the output, whatever field they hide in.

export type LogLevel = "debug" | "info" | "warn" | "error";

const LEVEL_ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const REDACTED = "[REDACTED]";
/** Field names whose values are never printed, even before a secret is registered. */
const SECRET_FIELDS = /^(token|authorization|password|secret)$/i;

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** A logger whose lines also carry `fields` (e.g. the component). */
  with(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  write?: (line: string) => void;
  /** Strings to scrub from every line (the node token). */
  secrets?: string[];
  now?: () => Date;
}

export function createLogger(opts: LoggerOptions = {}, base: Record<string, unknown> = {}): Logger {
  const min = LEVEL_ORDER[opts.level ?? "info"];
  const write = opts.write ?? ((line: string) => process.stderr.write(line));
  const secrets = (opts.secrets ?? []).filter((s) => s.length > 0);
  const now = opts.now ?? (() => new Date());
  const scrub = (text: string): string => secrets.reduce((t, s) => t.split(s).join(REDACTED), text);
  const emit = (level: LogLevel, msg: string, fields: Record<string, unknown> = {}) => {
    if (LEVEL_ORDER[level] < min) return;
    const record: Record<string, unknown> = { ts: now().toISOString(), level, msg, ...base, ...fields };
    const json = JSON.stringify(record, (key, value) => {
      if (SECRET_FIELDS.test(key)) return REDACTED;
      if (value instanceof Error) return value.message;
      return value;
    });
    write(`${scrub(json)}\n`);
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    with: (fields) => createLogger(opts, { ...base, ...fields }),
  };
}

/** A logger that drops everything (tests that do not look at logs). */
export const silentLogger: Logger = createLogger({ write: () => {} });
