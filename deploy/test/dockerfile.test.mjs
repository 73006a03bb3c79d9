// What the image promises (non-root, port 8080, read-only friendly, SPA in wwwroot), and that it agrees with
// the chart and with the commands deploy/check.sh runs in its place (no container engine runs here).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { contextSources, parseDockerfile, readDockerfile } from '../scripts/dockerfile.mjs';
import { gatewayContainer, only, renderScenario, repoRoot } from './chart.mjs';

const stages = readDockerfile(path.join(repoRoot, 'Dockerfile'));
const stage = (name) => {
  const found = stages.find((s) => s.name === name);
  assert.ok(found, `no stage ${name}`);
  return found;
};
const runs = (s) => s.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args.join(' '));
const envOf = (s) => Object.fromEntries(
  s.instructions.filter((i) => i.keyword === 'ENV').flatMap((i) => i.args.map((a) => a.split('='))),
);
const runtime = stages.at(-1);

describe('Dockerfile', () => {
  it('builds in three stages on the expected images', () => {
    assert.deepEqual(stages.map((s) => s.name), ['spa', 'build', 'runtime']);
    assert.match(stage('spa').image, /^node:\d+/);
    assert.equal(stage('build').image, 'mcr.microsoft.com/dotnet/sdk:10.0');
    assert.equal(runtime.image, 'mcr.microsoft.com/dotnet/aspnet:10.0');
  });

  it('runs the build commands that check.sh runs in its place', () => {
    assert.deepEqual(runs(stage('spa')), ['npm ci --no-audit --no-fund', 'npm run build']);
    const build = runs(stage('build'));
    assert.equal(build.at(-1), 'dotnet publish Bff.Host/Bff.Host.csproj -c Release -o /out --no-restore -p:UseAppHost=false');
    assert.ok(build.includes('dotnet restore Bff.Host/Bff.Host.csproj'));
    assert.ok(contextSources(stage('build')).includes('Bff.Host/'));
    // The host is a thin composition of the library: the image needs both.
    assert.ok(contextSources(stage('build')).includes('Bff/'));
    assert.ok(contextSources(stage('spa')).includes('spa-sample/'));
  });

  it('puts the published gateway in /app and the built SPA in /app/wwwroot', () => {
    const copies = runtime.instructions.filter((i) => i.keyword === 'COPY');
    const workdir = runtime.instructions.find((i) => i.keyword === 'WORKDIR').args[0];
    assert.equal(workdir, '/app');
    assert.ok(copies.some((c) => c.flags.from === 'build' && c.args[0] === '/out/' && c.args[1] === './'));
    assert.ok(copies.some((c) => c.flags.from === 'spa' && c.args[0] === '/src/spa-sample/dist/' && /^(\.\/|\/app\/)wwwroot\/?$/.test(c.args[1])));
    assert.equal(contextSources(runtime).length, 0, 'the runtime stage takes nothing from the build context');
  });

  it('runs as the numeric non-root app user (1654), the one the chart runs as', () => {
    const users = runtime.instructions.filter((i) => i.keyword === 'USER');
    assert.equal(users.length, 1);
    const uid = users[0].args[0];
    assert.match(uid, /^\d+(:\d+)?$/, 'USER must be numeric for runAsNonRoot to be verifiable');
    assert.equal(uid.split(':')[0], '1654');
    const deployment = only(renderScenario(null), 'Deployment');
    assert.equal(String(gatewayContainer(deployment).securityContext.runAsUser), '1654');
    assert.equal(String(deployment.spec.template.spec.securityContext.runAsUser), '1654');
  });

  it('listens on 8080 as the chart expects, writes only under /tmp, and starts dotnet Bff.Host.dll', () => {
    const env = envOf(runtime);
    assert.equal(env.ASPNETCORE_HTTP_PORTS, '8080');
    assert.equal(env.TMPDIR, '/tmp');
    assert.equal(env.HOME, '/tmp');
    assert.deepEqual(runtime.instructions.find((i) => i.keyword === 'EXPOSE').args, ['8080']);
    const entrypoint = runtime.instructions.find((i) => i.keyword === 'ENTRYPOINT');
    assert.equal(entrypoint.exec, true);
    assert.deepEqual(entrypoint.args, ['dotnet', 'Bff.Host.dll']);
    const deployment = only(renderScenario(null), 'Deployment');
    assert.equal(gatewayContainer(deployment).ports[0].containerPort, 8080);
  });

  it('keeps local build output, dependencies and git state out of the build context', () => {
    const ignored = readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8').split(/\r?\n/).map((l) => l.trim());
    for (const pattern of ['.git/', '**/bin/', '**/obj/', '**/node_modules/', 'spa-sample/dist/', '.tools/']) {
      assert.ok(ignored.includes(pattern), `.dockerignore lacks ${pattern}`);
    }
    const sources = stages.flatMap(contextSources);
    for (const pattern of ignored.filter((l) => l && !l.startsWith('#'))) {
      const folder = pattern.replace(/^\*\*\//, '').replace(/\/$/, '');
      assert.ok(!sources.some((s) => s === folder || s.startsWith(`${folder}/`)), `${pattern} is ignored but copied`);
    }
  });
});

describe('Dockerfile reader', () => {
  it('reads continued lines, flags and the exec form', () => {
    const text = 'FROM alpine:3 AS one\nENV A=1 \\\n    B=2\nCOPY --from=x --chown=1:1 /a /b\nCMD ["sh", "-c", "true"]\n';
    const [s] = parseDockerfile(text);
    assert.equal(s.name, 'one');
    assert.deepEqual(s.instructions.map((i) => i.keyword), ['ENV', 'COPY', 'CMD']);
    assert.deepEqual(s.instructions[0].args, ['A=1', 'B=2']);
    assert.deepEqual(s.instructions[1].flags, { from: 'x', chown: '1:1' });
    assert.deepEqual(s.instructions[2].args, ['sh', '-c', 'true']);
    assert.equal(contextSources(s).length, 0);
  });
});
