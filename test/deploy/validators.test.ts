import { describe, expect, it } from 'vitest';

import { validateCompose } from './compose-schema.js';
import { formatProblems, validateK8sObjects } from './k8s-schema.js';
import { findObject, loadComposeFile, renderKustomization, type K8sObject } from './manifests.js';

// The manifest tests pass only if these validators can fail: each case here must be rejected.

function deployment(spec: Record<string, unknown>): K8sObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'broken' },
    spec: {
      selector: { matchLabels: { app: 'broken' } },
      template: {
        metadata: { labels: { app: 'broken' } },
        spec: { containers: [{ name: 'app', image: 'example/app:1' }] },
      },
      ...spec,
    },
  };
}

describe('deploy - the Kubernetes schema check rejects broken manifests', () => {
  it('accepts a minimal valid Deployment (the cases below differ from it in one field)', async () => {
    expect(await validateK8sObjects([deployment({ replicas: 2 })])).toEqual([]);
  });

  it('rejects replicas: "two" (wrong type)', async () => {
    const problems = await validateK8sObjects([deployment({ replicas: 'two' })]);
    expect(formatProblems(problems)).toMatch(/Deployment\/broken: .*replicas must be integer/);
  });

  it('rejects an unknown field, which the open JSON Schemas alone would accept', async () => {
    const problems = await validateK8sObjects([deployment({ replica: 2 })]);
    expect(problems).toHaveLength(1);
    expect(problems[0]?.message).toMatch(/'"?replica"?' does not exist in type/);
  });

  it('rejects a missing required field (spec.selector)', async () => {
    const broken = deployment({});
    delete (broken.spec as Record<string, unknown>).selector;
    const problems = await validateK8sObjects([broken]);
    expect(formatProblems(problems)).toMatch(/selector/);
  });

  it('rejects a kind it has no schema for instead of skipping it', async () => {
    const problems = await validateK8sObjects([
      { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } },
    ]);
    expect(formatProblems(problems)).toMatch(
      /Widget\/w: no schema for apiVersion example\.com\/v1/,
    );
  });

  it('rejects a misspelt field deep inside a rendered call-bridge Deployment', async () => {
    const objects = await renderKustomization('k8s/overlays/dev');
    const bridge = structuredClone(findObject(objects, 'Deployment', 'call-bridge'));
    const pod = (bridge.spec as { template: { spec: { containers: Record<string, unknown>[] } } })
      .template.spec;
    pod.containers[0] = { ...pod.containers[0], imagePullPolcy: 'Always' };
    const problems = await validateK8sObjects([bridge]);
    expect(formatProblems(problems)).toMatch(
      /Deployment\/call-bridge: .*'"?imagePullPolcy"?' does not exist in type/,
    );
  });
});

describe('deploy - the Compose schema check rejects broken files', () => {
  function composeFile(): { services: Record<string, Record<string, unknown>> } {
    return structuredClone(loadComposeFile()) as {
      services: Record<string, Record<string, unknown>>;
    };
  }

  it('rejects an unknown service field', () => {
    const doc = composeFile();
    doc.services.gateway = { ...doc.services.gateway, restart_policy: 'always' };
    expect(validateCompose(doc).join('\n')).toMatch(
      /\/services\/gateway: must NOT have additional properties \(restart_policy\)/,
    );
  });

  it('rejects a depends_on condition Compose does not know', () => {
    const doc = composeFile();
    doc.services.gateway = {
      ...doc.services.gateway,
      depends_on: { db: { condition: 'service_ready' } },
    };
    expect(validateCompose(doc).join('\n')).toMatch(/depends_on\/db\/condition/);
  });

  it('rejects ports given as a single string instead of a list', () => {
    const doc = composeFile();
    doc.services.gateway = { ...doc.services.gateway, ports: '3000:3000' };
    expect(validateCompose(doc).join('\n')).toMatch(/\/services\/gateway\/ports: must be array/);
  });
});
