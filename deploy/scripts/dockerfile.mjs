// A small reader for the repository's Dockerfile: enough to know each stage's base image, its instructions
// and which build-context paths its COPY instructions take. Used by the tests and by check.sh, which
// rebuilds a stage's context from exactly those paths before running the stage's build commands.
//
//   node deploy/scripts/dockerfile.mjs copy-sources <stage> [Dockerfile]   one context path per line

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** Joins continuation lines and drops comments, keeping each instruction with its starting line number. */
function logicalLines(text) {
  const lines = [];
  let current = null;
  text.split(/\r?\n/).forEach((raw, index) => {
    const trimmed = raw.trim();
    if (current === null && (trimmed === '' || trimmed.startsWith('#'))) {
      return;
    }
    if (current !== null && trimmed.startsWith('#')) {
      return; // comment lines inside a continued instruction are ignored by the builder too
    }
    const continues = /\\\s*$/.test(raw);
    const content = continues ? raw.replace(/\\\s*$/, '') : raw;
    if (current === null) {
      current = { line: index + 1, text: content.trim() };
    } else {
      current.text += ' ' + content.trim();
    }
    if (!continues) {
      lines.push(current);
      current = null;
    }
  });
  if (current !== null) {
    lines.push(current);
  }
  return lines;
}

/** Splits an instruction's arguments: exec (JSON array) form or whitespace-separated words. */
function splitArguments(rest) {
  const words = rest.trim().split(/\s+/).filter(Boolean);
  const flags = {};
  while (words.length > 0 && words[0].startsWith('--')) {
    const [name, ...value] = words.shift().slice(2).split('=');
    flags[name] = value.join('=');
  }
  const remainder = words.join(' ');
  if (remainder.startsWith('[')) {
    try {
      return { flags, args: JSON.parse(remainder), exec: true };
    } catch {
      // not JSON after all: fall through to the shell form
    }
  }
  return { flags, args: words, exec: false };
}

export function parseDockerfile(text) {
  const stages = [];
  for (const { line, text: instructionText } of logicalLines(text)) {
    const match = /^(\w+)\s*(.*)$/s.exec(instructionText);
    if (!match) {
      continue;
    }
    const keyword = match[1].toUpperCase();
    const raw = match[2];
    const { flags, args, exec } = splitArguments(raw);
    const instruction = { keyword, raw, flags, args, exec, line };
    if (keyword === 'FROM') {
      const asIndex = args.findIndex((word) => word.toUpperCase() === 'AS');
      stages.push({
        image: args[0],
        name: asIndex >= 0 ? args[asIndex + 1] : String(stages.length),
        instructions: [],
      });
      continue;
    }
    if (stages.length === 0) {
      continue; // ARG before the first FROM
    }
    stages.at(-1).instructions.push(instruction);
  }
  return stages;
}

/** The build-context paths a stage's COPY/ADD instructions take (COPY --from=... copies from a stage, not the context). */
export function contextSources(stage) {
  return stage.instructions
    .filter((i) => (i.keyword === 'COPY' || i.keyword === 'ADD') && !('from' in i.flags))
    .flatMap((i) => i.args.slice(0, -1));
}

export function readDockerfile(file) {
  return parseDockerfile(readFileSync(file, 'utf8'));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [command, stageName, file] = process.argv.slice(2);
  const dockerfile = file ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'Dockerfile');
  if (command !== 'copy-sources' || !stageName) {
    console.error('usage: dockerfile.mjs copy-sources <stage> [Dockerfile]');
    process.exit(2);
  }
  const stage = readDockerfile(dockerfile).find((s) => s.name === stageName);
  if (!stage) {
    console.error(`no stage named ${stageName} in ${dockerfile}`);
    process.exit(1);
  }
  for (const source of contextSources(stage)) {
    console.log(source);
  }
}
