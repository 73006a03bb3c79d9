// Every rendered manifest must be a valid object of the Kubernetes API (schemas from kubernetes-models).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as models from 'kubernetes-models';
import { renderScenario, scenarios, scenarioName } from './chart.mjs';

/** "networking.k8s.io/v1" -> models.networkingK8sIo.v1; "v1" -> models.v1. */
function modelFor(apiVersion, kind) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const groupKey = group === '' ? null : group.replace(/\.(\w)/g, (_, c) => c.toUpperCase());
  const versions = groupKey === null ? models : models[groupKey];
  const Model = versions?.[version]?.[kind];
  if (typeof Model !== 'function') {
    throw new Error(`no Kubernetes model for ${apiVersion} ${kind}: not a built-in API object`);
  }
  return Model;
}

function validate(document) {
  const Model = modelFor(document.apiVersion, document.kind);
  new Model(document).validate();
}

describe('model lookup', () => {
  it('rejects an object whose field has the wrong type', () => {
    assert.throws(
      () => validate({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: { replicas: 'three', selector: {}, template: {} } }),
      /replicas must be integer/,
    );
  });

  it('rejects a kind the API does not have', () => {
    assert.throws(() => validate({ apiVersion: 'apps/v1', kind: 'Deploymnet', metadata: { name: 'x' } }), /no Kubernetes model/);
  });
});

for (const valuesFile of scenarios()) {
  describe(`manifests rendered with ${scenarioName(valuesFile)}`, () => {
    it('are all valid Kubernetes API objects', () => {
      const documents = renderScenario(valuesFile);
      assert.ok(documents.length >= 6, `expected the chart's objects, got ${documents.length}`);
      for (const document of documents) {
        assert.doesNotThrow(() => validate(document), `${document.kind} ${document.metadata?.name} is invalid`);
      }
    });

    it('include the core objects, each with a name and the release namespace', () => {
      const documents = renderScenario(valuesFile);
      const kinds = documents.map((d) => d.kind);
      for (const kind of ['Deployment', 'Service', 'ServiceAccount', 'ConfigMap', 'NetworkPolicy', 'PodDisruptionBudget', 'Pod']) {
        assert.ok(kinds.includes(kind), `missing ${kind}`);
      }
      for (const document of documents) {
        assert.match(document.metadata.name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
        assert.ok(document.metadata.name.length <= 63);
        assert.equal(document.metadata.namespace, 'web');
      }
    });
  });
}
