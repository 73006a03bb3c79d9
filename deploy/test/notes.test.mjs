// What helm prints after an install: the Secret to create, how to reach the gateway, and warnings about
// settings that install but will not work as the user expects.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renderNotes } from './chart.mjs';

describe('NOTES.txt', () => {
  it('tells how to create the client secret the release expects and how to test it', async () => {
    const notes = await renderNotes({ set: { 'bff.existingSecret': 'shop-oidc', 'bff.existingSecretKeys.clientSecret': 'secret' } });
    assert.match(notes, /kubectl -n web create secret generic shop-oidc \\\n\s+--from-literal=secret='<client secret>'/);
    assert.match(notes, /helm test shop -n web/);
    assert.doesNotMatch(notes, /WARNING/);
  });

  it('names the Redis Secret with the Redis store', async () => {
    const notes = await renderNotes({ valuesFiles: ['ci/redis-three-replicas-values.yaml'] });
    assert.match(notes, /session store: Redis, 3 replica\(s\)/);
    assert.match(notes, /The Redis connection string comes from Secret "bff-secrets", key "redis-configuration"/);
  });

  it('shows the connection string the Redis topology expects', async () => {
    const sentinel = await renderNotes({ valuesFiles: ['ci/redis-sentinel-values.yaml'] });
    assert.match(sentinel, /Redis behind Sentinel: the Secret lists the Sentinels and the service name/);
    assert.match(sentinel, /serviceName=mymaster/);
    const cluster = await renderNotes({ valuesFiles: ['ci/redis-cluster-values.yaml'] });
    assert.match(cluster, /Redis Cluster: the Secret lists some or all of the cluster's nodes/);
    const standalone = await renderNotes({ valuesFiles: ['ci/redis-three-replicas-values.yaml'] });
    assert.match(standalone, /Standalone Redis: the Secret names the primary/);
  });

  it('shows the https address of a TLS ingress that trusts its controller, without warnings', async () => {
    const notes = await renderNotes({ valuesFiles: ['ci/ingress-tls-values.yaml'] });
    assert.match(notes, /https:\/\/app\.example\.com\//);
    assert.doesNotMatch(notes, /WARNING/);
  });

  it('warns about an ingress without trusted forwarded headers and about blocked egress', async () => {
    const notes = await renderNotes({
      set: {
        'ingress.enabled': true,
        'otel.endpoint': 'http://collector:4317',
        'routes.api.ClusterId': 'api',
        'clusters.api.Destinations.primary.Address': 'http://api:8080',
      },
    });
    assert.match(notes, /WARNING: the ingress is enabled but bff\.forwardedHeaders trusts no proxy/);
    assert.match(notes, /WARNING: routes are configured but networkPolicy\.egress\.apis is empty/);
    assert.match(notes, /WARNING: otel\.endpoint is set but networkPolicy\.egress\.otel is empty/);
  });
});
