import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { type Document, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { formatYamlIssues, gatewayConfigSchema, locateYamlPath } from '../config/index.ts';
import {
  contentPolicySchema,
  createContentLinter,
  fillPlaceholders,
  type TemplateConfig,
  templatesSchema,
} from '../policy/index.ts';

/** Where the lint command writes, and how it sets the exit code (the process's, unless a test injects its own). */
export interface LintIo {
  out(line: string): void;
  err(line: string): void;
  exit(code: 0 | 1 | 2): void;
}

/** What linting one file printed and its exit code: 0 clean (warnings allowed), 1 findings, 2 unreadable. */
export interface LintReport {
  /** Findings and schema errors, one `file:line…` line each. */
  out: string[];
  /** Why the file could not be read or parsed. */
  err: string[];
  exitCode: 0 | 1 | 2;
}

/** What each placeholder becomes when a body is linted: long enough to count segments honestly. */
const SAMPLE_VALUE = 'X'.repeat(6);

/**
 * Top-level keys that make a file a gateway config rather than a templates file (`templates`
 * is in both; a templates file's rules are under `content`).
 */
const GATEWAY_KEYS = new Set(Object.keys(gatewayConfigSchema.shape).filter((k) => k !== 'templates'));

/** A templates file: nothing else at the top level, so a misspelt key is reported. */
const templatesFileSchema = z.strictObject({ templates: templatesSchema, content: contentPolicySchema });

/** The two sections of a gateway config this command checks; the gateway's loader checks the rest. */
const gatewaySectionsSchema = z.object({
  templates: templatesSchema,
  policy: z.object({ content: contentPolicySchema }).prefault({}),
});

/** Adds `switchboard lint <file>`: the intake content rules over every template version, for a producer's CI. */
export function registerLintCommand(program: Command, io: LintIo = processIo()): void {
  program
    .command('lint')
    .description(
      'Lint a templates file ({ templates, content }) or a gateway config (templates, policy.content) with the content rules',
    )
    .argument('<file>', 'YAML file')
    .option('-v, --verbose', 'also print the encoding and segment count of every version')
    .action((file: string, opts: { verbose?: boolean }) => {
      const report = lintTemplatesFile(file, { verbose: opts.verbose === true });
      for (const line of report.out) io.out(line);
      for (const line of report.err) io.err(line);
      io.exit(report.exitCode);
    });
}

/**
 * Validates the file's `templates` and content policy (schema errors as `file:line:col: path:
 * message`), then lints the body of every approved or pending version, placeholders filled with a
 * sample, as `file:line: template <id> v<version> <locale>: <reason>: <message>`.
 */
export function lintTemplatesFile(file: string, options: { verbose?: boolean } = {}): LintReport {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { out: [], err: [`${file}: cannot read: ${(err as Error).message}`], exitCode: 2 };
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const err = doc.errors.map((e) => {
      const at = lineCounter.linePos(e.pos[0]);
      return `${file}:${at.line}:${at.col}: ${e.message}`;
    });
    return { out: [], err, exitCode: 2 };
  }
  const raw: unknown = doc.toJS();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    return { out: [`${file}:1:1: (root): the top level must be a mapping`], err: [], exitCode: 1 };

  const gatewayConfig = Object.keys(raw).some((key) => GATEWAY_KEYS.has(key));
  const parsed = gatewayConfig ? gatewaySectionsSchema.safeParse(raw) : templatesFileSchema.safeParse(raw);
  if (!parsed.success)
    return { out: formatYamlIssues(file, doc, lineCounter, parsed.error.issues), err: [], exitCode: 1 };
  const { templates } = parsed.data;
  const content = 'policy' in parsed.data ? parsed.data.policy.content : parsed.data.content;
  const out = lintBodies(file, doc, lineCounter, templates, createContentLinter(content), options);
  return { out: out.lines, err: [], exitCode: out.refused ? 1 : 0 };
}

function lintBodies(
  file: string,
  doc: Document,
  lineCounter: LineCounter,
  templates: readonly TemplateConfig[],
  linter: ReturnType<typeof createContentLinter>,
  options: { verbose?: boolean },
): { lines: string[]; refused: boolean } {
  const lines: string[] = [];
  let refused = false;
  templates.forEach((t, i) => {
    t.versions.forEach((v, j) => {
      const at = locateYamlPath(doc, lineCounter, ['templates', i, 'versions', j, 'body']);
      const prefix = `${file}:${at?.line ?? 1}: template ${t.id} v${v.version} ${v.locale}`;
      if (v.body === undefined || v.status === 'rejected') {
        if (options.verbose)
          lines.push(
            `${prefix}: not linted (${v.body === undefined ? `Content template ${v.contentSid}` : 'rejected'})`,
          );
        return;
      }
      const sample = fillPlaceholders(v.body, () => SAMPLE_VALUE);
      // A version with a Content SID is WhatsApp text: no Smart Encoding, no segment cap.
      const outcome = linter.lint(sample, { purpose: t.purpose, channel: v.contentSid ? 'whatsapp' : 'sms' });
      if (outcome.refusal) {
        refused = true;
        lines.push(`${prefix}: ${outcome.refusal.reason}: ${outcome.refusal.message}`);
      }
      for (const w of outcome.warnings) lines.push(`${prefix}: ${w.reason}: warning: ${w.message}`);
      if (options.verbose) {
        const encoded = outcome.body === sample ? '' : ' after smart encoding';
        lines.push(`${prefix}: ${outcome.encoding}, ${outcome.segments} segment(s)${encoded}`);
      }
    });
  });
  return { lines, refused };
}

function processIo(): LintIo {
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    exit: (code) => {
      process.exitCode = code;
    },
  };
}
