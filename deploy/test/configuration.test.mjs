// The gateway reads its settings from environment variables named after the configuration contract
// (`Section__Key`, arrays as `__0`, `__1`, ...). These tests read the ConfigMap the pods load.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { chartDir, gatewayContainer, only, render, renderScenario } from './chart.mjs';

function settings(result) {
  assert.ok(result.ok, result.stderr);
  return only(result.documents, 'ConfigMap').data;
}

describe('gateway configuration', () => {
  it('is loaded by the pods from the ConfigMap', () => {
    const documents = renderScenario(null);
    const configMap = only(documents, 'ConfigMap');
    const container = gatewayContainer(only(documents, 'Deployment'));
    assert.deepEqual(container.envFrom, [{ configMapRef: { name: configMap.metadata.name } }]);
  });

  it('uses the contract names for the Bff section', () => {
    const data = settings(render({
      set: {
        'bff.authority': 'https://idp.example.net/realms/shop',
        'bff.clientId': 'shop-bff',
        'bff.session.idleTimeout': '00:10:00',
        'bff.cookie.sameSite': 'Lax',
        'bff.spa.rootPath': '/srv/spa',
        'bff.forwardedHeaders.knownNetworks[0]': '10.244.0.0/16',
        'bff.forwardedHeaders.knownNetworks[1]': 'fd00::/8',
        'bff.forwardedHeaders.knownProxies[0]': '10.0.0.10',
      },
      setString: { 'bff.scopes': 'openid profile offline_access orders.read' },
    }));
    assert.equal(data.Bff__Authority, 'https://idp.example.net/realms/shop');
    assert.equal(data.Bff__ClientId, 'shop-bff');
    assert.equal(data.Bff__Scopes, 'openid profile offline_access orders.read');
    assert.equal(data.Bff__RequireHttpsMetadata, 'true');
    assert.equal(data.Bff__CallbackPath, '/signin-oidc');
    assert.equal(data.Bff__SignedOutCallbackPath, '/signout-callback-oidc');
    assert.equal(data.Bff__Session__Store, 'InMemory');
    assert.equal(data.Bff__Session__IdleTimeout, '00:10:00');
    assert.equal(data.Bff__Session__AbsoluteTimeout, '08:00:00');
    assert.equal(data.Bff__Cookie__Name, '__Host-bff');
    assert.equal(data.Bff__Cookie__SameSite, 'Lax');
    assert.equal(data.Bff__Tokens__RefreshBeforeExpiry, '00:01:00');
    assert.equal(data.Bff__ClientAuthentication__AssertionHeaderType, 'Jwt');
    assert.equal(data.Bff__Spa__RootPath, '/srv/spa');
    assert.equal(data.Bff__ForwardedHeaders__KnownNetworks__0, '10.244.0.0/16');
    assert.equal(data.Bff__ForwardedHeaders__KnownNetworks__1, 'fd00::/8');
    assert.equal(data.Bff__ForwardedHeaders__KnownProxies__0, '10.0.0.10');
  });

  it('leaves out what is not set, so the gateway keeps its defaults', () => {
    const data = settings(render({ set: { 'bff.session.idleTimeout': '' } }));
    assert.equal('Bff__Session__IdleTimeout' in data, false);
    assert.equal('Bff__Spa__RootPath' in data, false);
    assert.equal(Object.keys(data).some((k) => k.startsWith('Bff__ForwardedHeaders')), false, 'no proxy is trusted by default');
    assert.equal('OTEL_EXPORTER_OTLP_ENDPOINT' in data, false, 'nothing is exported without an endpoint');
  });

  it('turns routes and clusters into the ReverseProxy section', () => {
    const data = settings(render({ valuesFiles: ['ci/single-replica-inmemory-values.yaml'] }));
    assert.equal(data.ReverseProxy__Routes__api__ClusterId, 'api');
    assert.equal(data.ReverseProxy__Routes__api__Match__Path, '/api/{**rest}');
    assert.equal(data['ReverseProxy__Routes__api__Metadata__Bff.Token'], 'User');
    assert.equal(data.ReverseProxy__Routes__api__Transforms__0__PathRemovePrefix, '/api');
    assert.equal(data.ReverseProxy__Clusters__api__Destinations__primary__Address, 'http://orders-api.orders.svc.cluster.local:8080');
  });

  it('writes whole numbers as integers and booleans as true/false', () => {
    const data = settings(render({
      set: {
        'routes.api.ClusterId': 'api',
        'routes.api.Order': 10,
        'routes.api.Metadata.Bff\\.Csrf': false,
        'clusters.api.Destinations.primary.Address': 'http://api:8080',
        'clusters.api.HttpClient.MaxConnectionsPerServer': 10000000,
      },
    }));
    assert.equal(data.ReverseProxy__Routes__api__Order, '10');
    assert.equal(data['ReverseProxy__Routes__api__Metadata__Bff.Csrf'], 'false');
    assert.equal(data.ReverseProxy__Clusters__api__HttpClient__MaxConnectionsPerServer, '10000000');
  });

  it('points Bff:ClientAuthentication at the mounted keys and passes their passwords from the Secret', () => {
    const result = render({ valuesFiles: ['ci/private-key-jwt-values.yaml'] });
    const data = settings(result);
    assert.equal(data.Bff__ClientAuthentication__Method, 'PrivateKeyJwt');
    assert.equal(data.Bff__ClientAuthentication__Audience, 'TokenEndpoint');
    assert.equal(data.Bff__ClientAuthentication__AssertionHeaderType, 'ClientAuthenticationJwt');
    assert.equal(data.Bff__ClientAuthentication__PublishJwks, 'true');
    assert.equal(data.Bff__ClientAuthentication__Keys__0__Path, '/var/run/secrets/bff/client-auth/current.pem');
    assert.equal(data.Bff__ClientAuthentication__Keys__0__KeyId, 'bff-2026-01');
    assert.equal(data.Bff__ClientAuthentication__Keys__1__Path, '/var/run/secrets/bff/client-auth/next.p12');
    const env = gatewayContainer(only(result.documents, 'Deployment')).env;
    assert.deepEqual(env.find((e) => e.name === 'Bff__ClientAuthentication__Keys__1__Password').valueFrom.secretKeyRef, { name: 'bff-client-keys', key: 'next-password' });
    assert.equal(env.some((e) => e.name === 'Bff__ClientSecret'), false);
  });

  it('points the TLS methods at the mounted certificate and key', () => {
    const data = settings(render({ set: { 'bff.clientAuthentication.method': 'TlsClientAuth', 'bff.clientAuthentication.existingSecret': 'bff-client-tls' } }));
    assert.equal(data.Bff__ClientAuthentication__Certificate__Path, '/var/run/secrets/bff/client-auth/tls.crt');
    assert.equal(data.Bff__ClientAuthentication__Certificate__KeyPath, '/var/run/secrets/bff/client-auth/tls.key');
    assert.equal(Object.keys(data).some((k) => k.startsWith('Bff__ClientAuthentication__Keys')), false);
  });

  it('sets the OpenTelemetry variables from otel.*', () => {
    const data = settings(render({ set: { 'otel.endpoint': 'http://collector.observability:4318', 'otel.protocol': 'http/protobuf', 'otel.serviceName': 'shop-bff' } }));
    assert.equal(data.OTEL_EXPORTER_OTLP_ENDPOINT, 'http://collector.observability:4318');
    assert.equal(data.OTEL_EXPORTER_OTLP_PROTOCOL, 'http/protobuf');
    assert.equal(data.OTEL_SERVICE_NAME, 'shop-bff');
  });

  it('refuses ids that cannot be environment variable names', () => {
    const result = render({ set: { 'routes.a b.ClusterId': 'api', 'clusters.api.Destinations.primary.Address': 'http://api:8080' } });
    assert.equal(result.ok, false);
    assert.match(result.stderr, /configuration key "ReverseProxy__Routes__a b__ClusterId" cannot be an environment variable name/);
  });
});

describe('kubernetes objects from values', () => {
  it('renders an Ingress with TLS for the ingress scenario', () => {
    const documents = renderScenario('ci/ingress-tls-values.yaml');
    const ingress = only(documents, 'Ingress');
    const service = only(documents, 'Service');
    assert.equal(ingress.spec.ingressClassName, 'nginx');
    assert.deepEqual(ingress.spec.tls, [{ hosts: ['app.example.com'], secretName: 'app-example-com-tls' }]);
    const backend = ingress.spec.rules[0].http.paths[0].backend.service;
    assert.equal(backend.name, service.metadata.name);
    assert.equal(backend.port.name, 'http');
  });

  it('gives the pods the public origin: the value, or the TLS ingress host', () => {
    assert.equal(settings(render({})).Bff__PublicOrigin, 'https://bff.example.com');
    assert.equal(settings(render({ setString: { 'bff.publicOrigin': 'https://shop.example.net/' } })).Bff__PublicOrigin, 'https://shop.example.net');
    assert.equal(only(renderScenario('ci/ingress-tls-values.yaml'), 'ConfigMap').data.Bff__PublicOrigin, 'https://app.example.com');
  });

  it('renders no Ingress and no HPA by default', () => {
    const kinds = renderScenario(null).map((d) => d.kind);
    assert.equal(kinds.includes('Ingress'), false);
    assert.equal(kinds.includes('HorizontalPodAutoscaler'), false);
  });

  it('renders an HPA targeting the Deployment when autoscaling is enabled', () => {
    const documents = renderScenario('ci/autoscaling-redis-values.yaml');
    const hpa = only(documents, 'HorizontalPodAutoscaler');
    assert.equal(hpa.spec.scaleTargetRef.name, only(documents, 'Deployment').metadata.name);
    assert.equal(hpa.spec.minReplicas, 2);
    assert.equal(hpa.spec.maxReplicas, 10);
    assert.deepEqual(hpa.spec.metrics.map((m) => m.resource.name), ['cpu', 'memory']);
  });

  it('keeps a PodDisruptionBudget that never blocks a single replica from being evicted', () => {
    const pdb = only(renderScenario(null), 'PodDisruptionBudget');
    assert.equal(pdb.spec.maxUnavailable, 1);
    assert.equal(pdb.spec.minAvailable, undefined);
    assert.equal(only(renderScenario('ci/redis-three-replicas-values.yaml'), 'PodDisruptionBudget').spec.minAvailable, 2);
  });

  it('lets the ingress controller and the helm test pod in when ingress sources are restricted', () => {
    const documents = renderScenario('ci/ingress-tls-values.yaml');
    const [rule] = only(documents, 'NetworkPolicy').spec.ingress;
    const testPod = only(documents, 'Pod');
    assert.equal(rule.from[0].namespaceSelector.matchLabels['kubernetes.io/metadata.name'], 'ingress-nginx');
    const testPeer = rule.from.find((p) => p.podSelector && !p.namespaceSelector);
    for (const [label, value] of Object.entries(testPeer.podSelector.matchLabels)) {
      assert.equal(testPod.metadata.labels[label], value);
    }
  });

  it('uses the image digest instead of the tag when given, else the chart appVersion', () => {
    const documents = renderScenario('ci/redis-three-replicas-values.yaml');
    assert.equal(
      gatewayContainer(only(documents, 'Deployment')).image,
      'registry.example.com/bff@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
    );
    const { appVersion } = parse(readFileSync(path.join(chartDir, 'Chart.yaml'), 'utf8'));
    assert.equal(gatewayContainer(only(renderScenario(null), 'Deployment')).image, `bff:${appVersion}`);
  });
});
