// The security-relevant fields of every rendered scenario: what a platform team's admission policies look for.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gatewayContainer, only, render, renderScenario, scenarios, scenarioName, scenarioValues } from './chart.mjs';

const secretLike = /secret|password|redis__configuration|connectionstring/i;

function podSpec(documents) {
  return only(documents, 'Deployment').spec.template.spec;
}

for (const valuesFile of scenarios()) {
  describe(`security of ${scenarioName(valuesFile)}`, () => {
    it('probes liveness on /health/live and readiness on /health/ready over the http port', () => {
      const container = gatewayContainer(only(renderScenario(valuesFile), 'Deployment'));
      assert.equal(container.livenessProbe.httpGet.path, '/health/live');
      assert.equal(container.readinessProbe.httpGet.path, '/health/ready');
      assert.equal(container.startupProbe.httpGet.path, '/health/live');
      for (const probe of [container.livenessProbe, container.readinessProbe, container.startupProbe]) {
        assert.equal(probe.httpGet.port, 'http');
      }
      assert.deepEqual(container.ports, [{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
    });

    it('runs the pod as a non-root user with seccomp RuntimeDefault', () => {
      const spec = podSpec(renderScenario(valuesFile));
      assert.equal(spec.securityContext.runAsNonRoot, true);
      assert.ok(spec.securityContext.runAsUser > 0);
      assert.equal(spec.securityContext.seccompProfile.type, 'RuntimeDefault');
    });

    it('hardens the container: read-only root, no privilege escalation, all capabilities dropped', () => {
      const sc = gatewayContainer(only(renderScenario(valuesFile), 'Deployment')).securityContext;
      assert.equal(sc.readOnlyRootFilesystem, true);
      assert.equal(sc.allowPrivilegeEscalation, false);
      assert.equal(sc.privileged, false);
      assert.equal(sc.runAsNonRoot, true);
      assert.deepEqual(sc.capabilities.drop, ['ALL']);
      assert.equal(sc.capabilities.add, undefined);
      assert.equal(sc.seccompProfile.type, 'RuntimeDefault');
    });

    it('gives the read-only container one writable place: an emptyDir at /tmp, with TMPDIR and HOME there', () => {
      const documents = renderScenario(valuesFile);
      const spec = podSpec(documents);
      const container = gatewayContainer(only(documents, 'Deployment'));
      const mount = container.volumeMounts.find((m) => m.mountPath === '/tmp');
      assert.ok(mount, 'no volume mounted at /tmp');
      const volume = spec.volumes.find((v) => v.name === mount.name);
      assert.ok(volume.emptyDir, '/tmp is not an emptyDir');
      assert.ok(volume.emptyDir.sizeLimit, 'the emptyDir has no size limit');
      const env = Object.fromEntries(container.env.map((e) => [e.name, e.value]));
      assert.equal(env.TMPDIR, '/tmp');
      assert.equal(env.HOME, '/tmp');
      assert.equal(env.ASPNETCORE_HTTP_PORTS, '8080');
    });

    it('does not mount a service account token', () => {
      const documents = renderScenario(valuesFile);
      assert.equal(podSpec(documents).automountServiceAccountToken, false);
      assert.equal(only(documents, 'ServiceAccount').automountServiceAccountToken, false);
      assert.equal(podSpec(documents).serviceAccountName, only(documents, 'ServiceAccount').metadata.name);
    });

    it('sets resource requests and limits', () => {
      const { resources } = gatewayContainer(only(renderScenario(valuesFile), 'Deployment'));
      assert.ok(resources.requests.cpu && resources.requests.memory, 'requests missing');
      assert.ok(resources.limits.memory, 'memory limit missing');
    });

    it('takes the client secret (and the Redis connection) only from existing Secrets', async () => {
      const documents = renderScenario(valuesFile);
      const values = await scenarioValues(valuesFile);
      assert.equal(documents.filter((d) => d.kind === 'Secret').length, 0, 'the chart must not create Secrets');
      const env = gatewayContainer(only(documents, 'Deployment')).env;
      const clientSecret = env.find((e) => e.name === 'Bff__ClientSecret');
      if (['ClientSecretBasic', 'ClientSecretPost'].includes(values.bff.clientAuthentication.method)) {
        assert.deepEqual(clientSecret.valueFrom.secretKeyRef, {
          name: values.bff.existingSecret,
          key: values.bff.existingSecretKeys.clientSecret,
        });
        assert.equal(clientSecret.value, undefined);
      } else {
        assert.equal(clientSecret, undefined, 'no client secret with a key or TLS method');
      }
      const redis = env.find((e) => e.name === 'Bff__Redis__Configuration');
      if (values.bff.session.store === 'Redis') {
        assert.deepEqual(redis.valueFrom.secretKeyRef, {
          name: values.bff.redis.existingSecret,
          key: values.bff.redis.existingSecretKey,
        });
      } else {
        assert.equal(redis, undefined);
      }
      for (const variable of env.filter((e) => secretLike.test(e.name))) {
        assert.ok(variable.valueFrom?.secretKeyRef, `${variable.name} must come from a secretKeyRef`);
      }
      const configMap = only(documents, 'ConfigMap');
      for (const key of Object.keys(configMap.data)) {
        assert.doesNotMatch(key, secretLike, `ConfigMap key ${key} looks like a secret`);
      }
    });

    it('mounts client keys and certificates read-only from an existing Secret, and only when the method needs them', async () => {
      const documents = renderScenario(valuesFile);
      const values = await scenarioValues(valuesFile);
      const auth = values.bff.clientAuthentication;
      const spec = podSpec(documents);
      const container = gatewayContainer(only(documents, 'Deployment'));
      const mount = container.volumeMounts.find((m) => m.mountPath === '/var/run/secrets/bff/client-auth');
      const data = only(documents, 'ConfigMap').data;
      if (auth.keys.length === 0 && !['TlsClientAuth', 'SelfSignedTlsClientAuth'].includes(auth.method)) {
        assert.equal(mount, undefined);
        return;
      }
      assert.equal(mount.readOnly, true);
      const volume = spec.volumes.find((v) => v.name === mount.name);
      assert.equal(volume.secret.secretName, auth.existingSecret);
      assert.equal(volume.secret.defaultMode, 0o440);
      auth.keys.forEach((key, i) => {
        assert.equal(data[`Bff__ClientAuthentication__Keys__${i}__Path`], `/var/run/secrets/bff/client-auth/${key.key}`);
      });
    });

    it('runs more than one replica only with the Redis session store', async () => {
      const documents = renderScenario(valuesFile);
      const values = await scenarioValues(valuesFile);
      const hpa = documents.find((d) => d.kind === 'HorizontalPodAutoscaler');
      const deployment = only(documents, 'Deployment');
      const maxReplicas = hpa ? hpa.spec.maxReplicas : deployment.spec.replicas;
      assert.equal(hpa === undefined, deployment.spec.replicas !== undefined, 'replicas is set exactly when there is no HPA');
      const store = only(documents, 'ConfigMap').data.Bff__Session__Store;
      assert.equal(store, values.bff.session.store);
      if (maxReplicas > 1) {
        assert.equal(store, 'Redis');
      }
    });

    it('limits traffic with a NetworkPolicy: ingress to the http port, egress only to named destinations', () => {
      const documents = renderScenario(valuesFile);
      const policy = only(documents, 'NetworkPolicy');
      const deployment = only(documents, 'Deployment');
      assert.deepEqual(policy.spec.podSelector.matchLabels, deployment.spec.selector.matchLabels);
      assert.deepEqual([...policy.spec.policyTypes].sort(), ['Egress', 'Ingress']);
      for (const rule of policy.spec.ingress) {
        assert.deepEqual(rule.ports, [{ port: 'http', protocol: 'TCP' }]);
      }
      assert.ok(policy.spec.egress.length > 0);
      for (const rule of policy.spec.egress) {
        assert.ok(Array.isArray(rule.to) && rule.to.length > 0, `egress rule ${JSON.stringify(rule)} allows every destination`);
      }
      const dns = policy.spec.egress.filter((r) => r.ports?.some((p) => p.port === 53));
      assert.ok(dns.length > 0, 'no DNS egress');
    });

    it('lets Redis out of the NetworkPolicy exactly when the Redis store is used', async () => {
      const documents = renderScenario(valuesFile);
      const values = await scenarioValues(valuesFile);
      const egress = JSON.stringify(only(documents, 'NetworkPolicy').spec.egress);
      for (const rule of values.networkPolicy.egress.redis) {
        assert.equal(egress.includes(JSON.stringify(rule.to)), values.bff.session.store === 'Redis');
      }
    });

    it('spreads the pods over zones and nodes, selecting its own pods', () => {
      const documents = renderScenario(valuesFile);
      const spec = podSpec(documents);
      const podLabels = only(documents, 'Deployment').spec.template.metadata.labels;
      const keys = spec.topologySpreadConstraints.map((c) => c.topologyKey);
      assert.ok(keys.includes('topology.kubernetes.io/zone'));
      assert.ok(keys.includes('kubernetes.io/hostname'));
      for (const constraint of spec.topologySpreadConstraints) {
        for (const [label, value] of Object.entries(constraint.labelSelector.matchLabels)) {
          assert.equal(podLabels[label], value);
        }
      }
    });

    it('keeps the helm test pod out of the gateway selector and hardens it too', () => {
      const documents = renderScenario(valuesFile);
      const testPod = only(documents, 'Pod');
      const selector = only(documents, 'Deployment').spec.selector.matchLabels;
      assert.equal(testPod.metadata.annotations['helm.sh/hook'], 'test');
      assert.ok(Object.entries(selector).some(([k, v]) => testPod.metadata.labels[k] !== v));
      assert.match(testPod.spec.containers[0].command.at(-1), /\/health\/ready$/);
      assert.equal(testPod.spec.securityContext.runAsNonRoot, true);
      assert.equal(testPod.spec.containers[0].securityContext.allowPrivilegeEscalation, false);
      assert.equal(testPod.spec.automountServiceAccountToken, false);
    });
  });
}

describe('checksum/config', () => {
  it('changes when a gateway setting changes, so pods roll', () => {
    const checksum = (set) => {
      const result = render({ set });
      assert.ok(result.ok, result.stderr);
      return only(result.documents, 'Deployment').spec.template.metadata.annotations['checksum/config'];
    };
    const before = checksum({});
    assert.match(before, /^[0-9a-f]{64}$/);
    assert.equal(checksum({}), before);
    assert.notEqual(checksum({ 'bff.clientId': 'another-client' }), before);
    assert.notEqual(checksum({ 'bff.forwardedHeaders.knownNetworks[0]': '10.0.0.0/8' }), before);
  });
});

describe('securityContext overrides', () => {
  it('render as given, so a platform can tighten them further', () => {
    const result = render({ set: { 'podSecurityContext.runAsUser': 20000, 'securityContext.runAsUser': 20000 } });
    assert.ok(result.ok, result.stderr);
    const deployment = only(result.documents, 'Deployment');
    assert.equal(deployment.spec.template.spec.securityContext.runAsUser, 20000);
    assert.equal(gatewayContainer(deployment).securityContext.runAsUser, 20000);
  });
});
