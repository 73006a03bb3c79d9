// Renders the chart with helm (deploy/check.sh fetches it and sets HELM) and reads the manifests back.

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const deployDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const repoRoot = path.resolve(deployDir, '..');
export const chartDir = path.join(deployDir, 'helm', 'bff');

export const releaseName = 'shop';
export const namespace = 'web';

function helmBinary() {
  const helm = process.env.HELM;
  if (!helm || !existsSync(helm)) {
    throw new Error('HELM is not set to a helm binary: run deploy/check.sh, which fetches helm and runs these tests.');
  }
  return helm;
}

/** The scenario values files under ci/, plus the chart's defaults alone (null). */
export function scenarios() {
  const files = readdirSync(path.join(chartDir, 'ci'))
    .filter((f) => f.endsWith('-values.yaml'))
    .sort()
    .map((f) => path.join('ci', f));
  return [null, ...files];
}

export function scenarioName(valuesFile) {
  return valuesFile ?? 'default values';
}

/**
 * helm template with optional values files, --set/--set-string/--set-json pairs and extra helm arguments.
 * Returns { ok, stderr, documents } where documents are plain objects.
 */
export function render({ valuesFiles = [], set = {}, setString = {}, setJson = {}, extraArgs = [] } = {}) {
  const args = ['template', releaseName, chartDir, '--namespace', namespace, ...extraArgs];
  for (const file of valuesFiles) {
    args.push('--values', path.resolve(chartDir, file));
  }
  for (const [key, value] of Object.entries(set)) {
    args.push('--set', `${key}=${value}`);
  }
  for (const [key, value] of Object.entries(setString)) {
    args.push('--set-string', `${key}=${value}`);
  }
  for (const [key, value] of Object.entries(setJson)) {
    args.push('--set-json', `${key}=${JSON.stringify(value)}`);
  }
  const result = spawnSync(helmBinary(), args, { encoding: 'utf8' });
  if (result.error) {
    throw result.error;
  }
  const ok = result.status === 0;
  const documents = ok
    ? parseAllDocuments(result.stdout)
        .map((doc) => {
          if (doc.errors.length > 0) {
            throw new Error(`helm produced invalid YAML: ${doc.errors[0].message}`);
          }
          return doc.toJS();
        })
        .filter((doc) => doc !== null)
    : [];
  return { ok, stderr: result.stderr, stdout: result.stdout, documents };
}

const cache = new Map();

/** Renders a scenario once per test process; fails the calling test when the chart does not render. */
export function renderScenario(valuesFile) {
  if (!cache.has(valuesFile)) {
    const result = render({ valuesFiles: valuesFile ? [valuesFile] : [] });
    if (!result.ok) {
      throw new Error(`helm template failed for ${scenarioName(valuesFile)}:\n${result.stderr}`);
    }
    cache.set(valuesFile, result.documents);
  }
  return cache.get(valuesFile);
}

export function only(documents, kind) {
  const found = documents.filter((d) => d.kind === kind);
  if (found.length !== 1) {
    throw new Error(`expected exactly one ${kind}, found ${found.length}`);
  }
  return found[0];
}

export function gatewayContainer(deployment) {
  return deployment.spec.template.spec.containers.find((c) => c.name === 'gateway');
}

/** The values a scenario renders with: the chart's values.yaml merged with the scenario file (maps merge, lists replace). */
export async function scenarioValues(valuesFile) {
  const { readFile } = await import('node:fs/promises');
  const { parse } = await import('yaml');
  const defaults = parse(await readFile(path.join(chartDir, 'values.yaml'), 'utf8'));
  if (!valuesFile) {
    return defaults;
  }
  const overrides = parse(await readFile(path.join(chartDir, valuesFile), 'utf8')) ?? {};
  const merge = (base, over) => {
    if (over === null || typeof over !== 'object' || Array.isArray(over) || base === null || typeof base !== 'object' || Array.isArray(base)) {
      return over;
    }
    const out = { ...base };
    for (const [key, value] of Object.entries(over)) {
      out[key] = key in base ? merge(base[key], value) : value;
    }
    return out;
  };
  return merge(defaults, overrides);
}

/**
 * The text helm prints after install (templates/NOTES.txt). helm template does not output NOTES.txt, so
 * this renders it through tpl from a scratch copy of the chart.
 */
export async function renderNotes(options = {}) {
  const { cp, mkdtemp, rm, writeFile } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const scratch = await mkdtemp(path.join(tmpdir(), 'bff-notes-'));
  try {
    const copy = path.join(scratch, 'bff');
    await cp(chartDir, copy, { recursive: true });
    await cp(path.join(copy, 'templates', 'NOTES.txt'), path.join(copy, 'notes.txt'));
    await writeFile(path.join(copy, 'templates', 'zz-notes.yaml'), 'notes: {{ tpl (.Files.Get "notes.txt") . | toJson }}\n');
    const valuesFiles = (options.valuesFiles ?? []).map((f) => path.resolve(chartDir, f));
    const args = ['template', releaseName, copy, '--namespace', namespace, '--show-only', 'templates/zz-notes.yaml'];
    for (const file of valuesFiles) {
      args.push('--values', file);
    }
    for (const [key, value] of Object.entries(options.set ?? {})) {
      args.push('--set', `${key}=${value}`);
    }
    const result = spawnSync(helmBinary(), args, { encoding: 'utf8' });
    if (result.status !== 0) {
      throw new Error(`helm could not render NOTES.txt:\n${result.stderr}`);
    }
    return parseAllDocuments(result.stdout).map((d) => d.toJS()).find((d) => d)?.notes;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
