// Values that cannot work are refused at render time with a message that says what to change.
// Each case has a near neighbour that renders, so a chart that refused everything would fail here too.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { render } from './chart.mjs';

const redisSecret = { 'bff.redis.existingSecret': 'bff-redis' };
const redisEgress = {
  'networkPolicy.egress.redis[0].to[0].podSelector.matchLabels.app': 'redis',
  'networkPolicy.egress.redis[0].ports[0].port': 6379,
};

function assertRefused(set, message, setString = {}) {
  const result = render({ set, setString });
  assert.equal(result.ok, false, `expected helm to refuse ${JSON.stringify({ ...set, ...setString })}`);
  assert.match(result.stderr, message);
}

function assertRenders(set, setString = {}) {
  const result = render({ set, setString });
  assert.equal(result.ok, true, result.stderr);
}

describe('session store and replicas', () => {
  it('refuses several replicas with the in-memory session store', () => {
    assertRefused({ replicaCount: 3 }, /bff\.session\.store=InMemory keeps sessions in one pod's memory, so it cannot run 3 replicas/);
    assertRenders({ replicaCount: 1 });
  });

  it('refuses autoscaling above one replica with the in-memory session store', () => {
    assertRefused(
      { 'autoscaling.enabled': true, 'autoscaling.minReplicas': 1, 'autoscaling.maxReplicas': 4 },
      /bff\.session\.store=InMemory .* cannot run 4 replicas/,
    );
  });

  it('allows several replicas and autoscaling with the Redis store', () => {
    assertRenders({ replicaCount: 3, 'bff.session.store': 'Redis', ...redisSecret, ...redisEgress });
    assertRenders({ 'autoscaling.enabled': true, 'autoscaling.maxReplicas': 8, 'bff.session.store': 'Redis', ...redisSecret, ...redisEgress });
  });

  it('refuses the Redis store without a Secret for the Redis connection', () => {
    assertRefused({ 'bff.session.store': 'Redis', ...redisEgress }, /bff\.session\.store=Redis needs the Redis connection string from a Secret: set bff\.redis\.existingSecret/);
    assertRefused(
      { 'bff.session.store': 'Redis', ...redisSecret, 'bff.redis.existingSecretKey': '', ...redisEgress },
      /set bff\.redis\.existingSecret \(and bff\.redis\.existingSecretKey\)/,
    );
  });

  it('refuses the Redis store when the NetworkPolicy would block Redis', () => {
    assertRefused({ 'bff.session.store': 'Redis', ...redisSecret }, /needs networkPolicy\.egress\.redis/);
    assertRenders({ 'bff.session.store': 'Redis', ...redisSecret, 'networkPolicy.enabled': false });
  });

  it('documents and checks the three Redis shapes: Standalone, Sentinel, Cluster', () => {
    for (const topology of ['Standalone', 'Sentinel', 'Cluster']) {
      assertRenders({ 'bff.session.store': 'Redis', ...redisSecret, 'bff.redis.topology': topology, 'networkPolicy.enabled': false });
    }
    assertRenders({ 'bff.session.store': 'Redis', ...redisSecret, ...redisEgress, 'bff.redis.topology': 'Cluster' });
    assertRefused({ 'bff.session.store': 'Redis', ...redisSecret, 'bff.redis.topology': 'Replicated' }, /bff\.redis\.topology must be one of the following: "Standalone", "Sentinel", "Cluster"/);
  });

  it('refuses Sentinel when the NetworkPolicy would block the Sentinels or the primary they name', () => {
    assertRefused(
      { 'bff.session.store': 'Redis', ...redisSecret, ...redisEgress, 'bff.redis.topology': 'Sentinel' },
      /bff\.redis\.topology=Sentinel with networkPolicy\.enabled needs networkPolicy\.egress\.redis to allow both the Sentinels' port \(26379\)/,
    );
    assertRefused(
      {
        'bff.session.store': 'Redis', ...redisSecret, 'bff.redis.topology': 'Sentinel',
        'networkPolicy.egress.redis[0].to[0].podSelector.matchLabels.app': 'redis',
        'networkPolicy.egress.redis[0].ports[0].port': 26379,
      },
      /allow both the Sentinels' port \(26379\) and the port of the Redis pods/,
    );
    assertRenders({
      'bff.session.store': 'Redis', ...redisSecret, ...redisEgress, 'bff.redis.topology': 'Sentinel',
      'networkPolicy.egress.redis[0].ports[1].port': 26379,
    });
  });

  it('refuses a Redis topology without the Redis store', () => {
    assertRefused({ 'bff.redis.topology': 'Cluster' }, /bff\.redis\.topology=Cluster applies to the Redis session store only/);
    assertRenders({ 'bff.redis.topology': 'Standalone' });
  });

  it('refuses an unknown session store', () => {
    assertRefused({ 'bff.session.store': 'Memory' }, /bff\.session\.store must be one of the following: "InMemory", "Redis"/);
  });
});

describe('secrets', () => {
  it('refuses a release without a client secret reference', () => {
    assertRefused({ 'bff.existingSecret': '' }, /bff\.existingSecret is empty: the gateway needs its OIDC client secret/);
    assertRefused({ 'bff.existingSecretKeys.clientSecret': '' }, /bff\.existingSecretKeys\.clientSecret is empty/);
  });

  it('refuses a client secret or Redis password given as a value', () => {
    assertRefused({}, /Additional property clientSecret is not allowed/, { 'bff.clientSecret': 'hunter2' });
    assertRefused({}, /Additional property password is not allowed/, { 'bff.redis.password': 'hunter2' });
    assertRefused({}, /Additional property configuration is not allowed/, { 'bff.redis.configuration': 'redis:6379,password=hunter2' });
  });

  it('refuses a secret-looking extra environment variable with a literal value', () => {
    assertRefused(
      { 'extraEnv[0].name': 'Bff__ClientSecret', 'extraEnv[0].value': 'hunter2' },
      /extraEnv Bff__ClientSecret has a literal value: secrets are never taken from values/,
    );
    assertRenders({
      'extraEnv[0].name': 'Bff__ClientSecret',
      'extraEnv[0].valueFrom.secretKeyRef.name': 'other',
      'extraEnv[0].valueFrom.secretKeyRef.key': 'k',
    });
  });
});

describe('provider and gateway settings', () => {
  it('refuses an http authority unless requireHttpsMetadata is false', () => {
    assertRefused({ 'bff.authority': 'http://idp.local' }, /bff\.authority uses http:\/\/ while bff\.requireHttpsMetadata is true/);
    assertRenders({ 'bff.authority': 'http://idp.local', 'bff.requireHttpsMetadata': false });
  });

  it('refuses SameSite=None for the session cookie', () => {
    assertRefused({ 'bff.cookie.sameSite': 'None' }, /bff\.cookie\.sameSite must be one of the following: "Strict", "Lax"/);
  });

  it('refuses a route whose cluster is not defined', () => {
    assertRefused({ 'routes.api.ClusterId': 'api', 'routes.api.Match.Path': '/api/{**rest}' }, /routes\.api points to cluster "api", which is not under clusters/);
    assertRenders({
      'routes.api.ClusterId': 'api',
      'routes.api.Match.Path': '/api/{**rest}',
      'clusters.api.Destinations.primary.Address': 'http://api:8080',
    });
  });

  it('refuses an unknown Bff.Token kind in route metadata', () => {
    assertRefused(
      { 'routes.api.ClusterId': 'api', 'routes.api.Metadata.Bff\\.Token': 'Always', 'clusters.api.Destinations.primary.Address': 'http://api:8080' },
      /Bff\.Token must be one of the following/,
    );
  });

  it('refuses probe settings that would change the probed paths', () => {
    assertRefused({ 'livenessProbe.httpGet.path': '/' }, /Additional property httpGet is not allowed/);
  });
});

describe('network policy', () => {
  it('refuses an egress rule without destinations, which would allow every destination', () => {
    assertRefused({ 'networkPolicy.egress.apis[0].ports[0].port': 8080 }, /networkPolicy\.egress\.apis\.0: to is required/);
    const rule = { to: [], ports: [{ port: 8080 }] };
    const result = render({ setJson: { 'networkPolicy.egress.apis': [rule] } });
    assert.equal(result.ok, false);
    assert.match(result.stderr, /networkPolicy\.egress\.apis\.0\.to: Array must have at least 1 items/);
  });

  it('refuses an egress rule without destinations even when the values schema is skipped', () => {
    const rule = { to: [], ports: [{ port: 6379 }] };
    const result = render({ setJson: { 'networkPolicy.egress.redis': [rule] }, extraArgs: ['--skip-schema-validation'] });
    assert.equal(result.ok, false);
    assert.match(result.stderr, /networkPolicy\.egress\.redis\[0\] has no `to`: a rule without destinations would allow every destination/);
  });

  it('refuses a policy that leaves no way to the provider', () => {
    assertRefused({ 'networkPolicy.egress.provider': 'null' }, /needs networkPolicy\.egress\.provider/);
    assertRenders({ 'networkPolicy.egress.provider': 'null', 'networkPolicy.enabled': false });
  });
});

describe('public origin', () => {
  const ingress = { 'ingress.enabled': true, 'ingress.hosts[0].host': 'app.example.com', 'ingress.hosts[0].paths[0].path': '/', 'ingress.hosts[0].paths[0].pathType': 'Prefix' };
  const tls = { 'ingress.tls[0].secretName': 'app-tls', 'ingress.tls[0].hosts[0]': 'app.example.com' };

  it('refuses no public origin and no ingress to take it from', () => {
    assertRefused({ 'bff.publicOrigin': 'null' }, /bff\.publicOrigin is empty and there is no ingress to take it from/);
    assertRefused({}, /bff\.publicOrigin is empty and there is no ingress/, { 'bff.publicOrigin': '' });
    assertRenders({}, { 'bff.publicOrigin': 'https://app.example.com' });
  });

  it('refuses a public origin with a path, a query or a user', () => {
    for (const origin of ['https://app.example.com/app', 'https://app.example.com/?a=1', 'https://user@app.example.com', 'app.example.com']) {
      assertRefused({}, /bff\.publicOrigin: Does not match pattern/, { 'bff.publicOrigin': origin });
    }
  });

  it('refuses a public origin the ingress does not serve', () => {
    assertRefused({ ...ingress }, /bff\.publicOrigin https:\/\/bff\.example\.com names host bff\.example\.com, which the ingress does not serve \(app\.example\.com\)/);
    assertRenders({ ...ingress }, { 'bff.publicOrigin': 'https://APP.example.com:8443' });
  });

  it('takes the origin from a single TLS ingress host, and refuses when it cannot tell', () => {
    assertRenders({ ...ingress, ...tls }, { 'bff.publicOrigin': '' });
    assertRefused({ ...ingress }, /ingress\.tls does not list app\.example\.com, so the chart cannot tell whether browsers use https/, { 'bff.publicOrigin': '' });
    assertRefused(
      { ...ingress, ...tls, 'ingress.hosts[1].host': 'www.example.com', 'ingress.hosts[1].paths[0].path': '/', 'ingress.hosts[1].paths[0].pathType': 'Prefix' },
      /the ingress has 2 hosts: the gateway answers one origin/,
      { 'bff.publicOrigin': '' },
    );
  });

  it('refuses trusting every address for forwarded headers', () => {
    assertRefused({ 'bff.forwardedHeaders.knownNetworks[0]': '0.0.0.0/0' }, /knownNetworks contains 0\.0\.0\.0\/0, which trusts every address/);
    assertRefused({ 'bff.forwardedHeaders.knownNetworks[0]': '::/0' }, /knownNetworks contains ::\/0, which trusts every address/);
    assertRenders({ 'bff.forwardedHeaders.knownNetworks[0]': '10.244.0.0/16' });
  });
});

describe('client authentication', () => {
  const keys = {
    'bff.clientAuthentication.method': 'PrivateKeyJwt',
    'bff.clientAuthentication.existingSecret': 'bff-client-keys',
    'bff.clientAuthentication.keys[0].key': 'client.pem',
  };

  it('needs no client secret with private_key_jwt, but a Secret with the signing key', () => {
    assertRenders({ ...keys, 'bff.existingSecret': '' });
    assertRefused({ ...keys, 'bff.clientAuthentication.existingSecret': '' }, /bff\.clientAuthentication\.method=PrivateKeyJwt needs bff\.clientAuthentication\.existingSecret/);
    assertRefused({ 'bff.clientAuthentication.method': 'PrivateKeyJwt', 'bff.clientAuthentication.existingSecret': 'bff-client-keys' }, /needs bff\.clientAuthentication\.keys/);
  });

  it('needs the certificate from a Secret with the mutual-TLS methods', () => {
    assertRenders({ 'bff.clientAuthentication.method': 'TlsClientAuth', 'bff.clientAuthentication.existingSecret': 'bff-client-tls' });
    assertRefused({ 'bff.clientAuthentication.method': 'SelfSignedTlsClientAuth' }, /SelfSignedTlsClientAuth needs bff\.clientAuthentication\.existingSecret/);
  });

  it('refuses an unknown method', () => {
    assertRefused({ 'bff.clientAuthentication.method': 'ClientSecretJwt' }, /method/);
  });

  it('refuses an assertion typ the gateway does not know', () => {
    assertRenders({ ...keys, 'bff.clientAuthentication.assertionHeaderType': 'ClientAuthenticationJwt' });
    assertRefused({ ...keys, 'bff.clientAuthentication.assertionHeaderType': 'client-authentication+jwt' }, /assertionHeaderType/);
  });
});

