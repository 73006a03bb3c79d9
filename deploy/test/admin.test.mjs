// The admin API is off by default; when on, its port is reachable only inside the cluster: its own ClusterIP Service
// (whatever service.type is), never an ingress backend, and with a NetworkPolicy only from admin.allowFrom.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gatewayContainer, only, render } from './chart.mjs';

const enabled = {
  'admin.enabled': true,
  'admin.audience': 'bff-admin',
  'admin.role': 'session-admin',
};
const allowOps = {
  'admin.allowFrom[0].namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name': 'ops',
};

function documentsOf(set) {
  const result = render({ set });
  assert.ok(result.ok, result.stderr);
  return result.documents;
}

function services(documents) {
  return documents.filter((d) => d.kind === 'Service');
}

describe('admin API', () => {
  it('is off by default: no admin port, Service, setting or policy rule', () => {
    const documents = documentsOf({});
    const container = gatewayContainer(only(documents, 'Deployment'));
    assert.deepEqual(container.ports.map((p) => p.name), ['http']);
    assert.equal(container.env.find((e) => e.name === 'ASPNETCORE_HTTP_PORTS').value, '8080');
    assert.equal(services(documents).length, 1);
    assert.equal(Object.keys(only(documents, 'ConfigMap').data).some((k) => k.startsWith('Bff__Admin')), false);
    assert.equal(only(documents, 'NetworkPolicy').spec.ingress.length, 1);
  });

  it('listens on its own port, behind a ClusterIP Service of its own, even when the public Service is a LoadBalancer', () => {
    const documents = documentsOf({ ...enabled, ...allowOps, 'service.type': 'LoadBalancer', 'ingress.enabled': true });
    const container = gatewayContainer(only(documents, 'Deployment'));
    assert.deepEqual(container.ports.find((p) => p.name === 'admin'), { name: 'admin', containerPort: 9090, protocol: 'TCP' });
    assert.equal(container.env.find((e) => e.name === 'ASPNETCORE_HTTP_PORTS').value, '8080;9090');
    const [publicService, adminService] = [services(documents).find((s) => !s.metadata.name.endsWith('-admin')), services(documents).find((s) => s.metadata.name.endsWith('-admin'))];
    assert.deepEqual(publicService.spec.ports.map((p) => p.targetPort), ['http']);
    assert.equal(adminService.spec.type, 'ClusterIP');
    assert.deepEqual(adminService.spec.ports.map((p) => p.targetPort), ['admin']);
    const backends = only(documents, 'Ingress').spec.rules.flatMap((r) => r.http.paths.map((p) => p.backend.service.name));
    assert.ok(backends.length > 0);
    assert.ok(backends.every((name) => name === publicService.metadata.name));
    const data = only(documents, 'ConfigMap').data;
    assert.equal(data.Bff__Admin__Enabled, 'true');
    assert.equal(data.Bff__Admin__Port, '9090');
    assert.equal(data.Bff__Admin__Audience, 'bff-admin');
    assert.equal(data.Bff__Admin__Role, 'session-admin');
    assert.equal('Bff__Admin__Scope' in data, false);
  });

  it('is reachable through the NetworkPolicy only from admin.allowFrom', () => {
    const policy = only(documentsOf({ ...enabled, ...allowOps }), 'NetworkPolicy');
    const rule = policy.spec.ingress.find((r) => r.ports.some((p) => p.port === 'admin'));
    assert.deepEqual(rule.ports, [{ port: 'admin', protocol: 'TCP' }]);
    assert.deepEqual(rule.from, [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ops' } } }]);
    assert.ok(policy.spec.ingress.filter((r) => r !== rule).every((r) => r.ports.every((p) => p.port === 'http')));
  });

  it('refuses settings that could not work or would open it to anyone', () => {
    const refused = (set, message) => {
      const result = render({ set });
      assert.equal(result.ok, false, `expected helm to refuse ${JSON.stringify(set)}`);
      assert.match(result.stderr, message);
    };
    refused({ ...enabled, 'admin.audience': '' , ...allowOps }, /admin\.enabled needs admin\.audience/);
    refused({ ...enabled, 'admin.role': '', ...allowOps }, /admin\.enabled needs admin\.role or admin\.scope/);
    refused({ ...enabled, 'admin.audience': 'bff', ...allowOps }, /admin\.audience must not be bff\.clientId/);
    refused({ ...enabled }, /needs admin\.allowFrom/);
    refused({ ...enabled, ...allowOps, 'admin.port': 8080 }, /admin\.port/);
    assert.ok(render({ set: { ...enabled, 'networkPolicy.enabled': false } }).ok);
  });
});
