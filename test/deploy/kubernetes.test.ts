// deploy/kubernetes: render the base and the production overlay with `kubectl kustomize` and hold
// the result to the deployment rules (probes, non-root and read-only, secrets by reference only,
// sizes from measurement, disruption budget, migration Job before the rollout, graceful drain).
// Each rule is also run on a copy of the rendered output broken on purpose, and must reject it:
// a rule that cannot fail proves nothing.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';

// Rendered manifests are plain data; the rules read them as such.
// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are free-form YAML, read by path.
type Json = any;
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  [field: string]: Json;
}

const root = join(import.meta.dirname, '..', '..');
const kustomizations = ['deploy/kubernetes/base', 'deploy/kubernetes/overlays/production'];

// The variables that are secrets (src/config/env.ts): they may reach a pod only from the Secret.
const SECRET_VARIABLES = [
  'DATABASE_URL',
  'DIRECT_DATABASE_URL',
  'COOKIE_KEYS',
  'KEYS_ENCRYPTION_KEY',
  'KEYS_ENCRYPTION_KEY_PREVIOUS',
  'CLIENT_SECRET_PEPPER',
  'DPOP_NONCE_SECRET',
  'METRICS_TOKEN',
];
// The first step of a release (README "Running on Kubernetes") applies what matches this.
const FIRST_STEP_COMPONENTS = ['config', 'migration'];

// The drain bound, read from the configuration's defaults (src/config/env.ts) so that a change
// there is checked here: SHUTDOWN_DRAIN_MS of serving while not ready, then SHUTDOWN_TIMEOUT_MS
// for the requests still in flight.
const DRAIN_TIMEOUT_SECONDS = (() => {
  const env = readFileSync(join(root, 'src/config/env.ts'), 'utf8');
  const bound = (name: string) => {
    const match = new RegExp(`${name}: z[^\\n]*\\.default\\(([\\d_]+)\\)`).exec(env);
    if (!match)
      throw new Error(`${name}'s default not found in src/config/env.ts: update this test with the drain bound`);
    return Number(match[1]!.replaceAll('_', ''));
  };
  return (bound('SHUTDOWN_DRAIN_MS') + bound('SHUTDOWN_TIMEOUT_MS')) / 1000;
})();
// The measured peak per process under load, from the latest bench run (bench/README.md).
const MEASURED_PEAK_BYTES = (() => {
  const match = /Peak resident memory under load, per process: tessera (\d+) MB/.exec(
    readFileSync(join(root, 'bench/README.md'), 'utf8'),
  );
  if (!match) throw new Error('the peak memory line is missing from bench/README.md: update this test');
  return Number(match[1]) * 1_000_000;
})();

const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
const haveKubectl = kubectl.status === 0;

function render(dir: string): Manifest[] {
  const out = execFileSync('kubectl', ['kustomize', join(root, dir)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return parseAllDocuments(out)
    .map((doc) => doc.toJS() as Manifest)
    .filter(Boolean);
}

// ---- reading the rendered objects -------------------------------------------------------------

function only(objects: Manifest[], kind: string): Manifest {
  const found = objects.filter((o) => o.kind === kind);
  expect(
    found.map((o) => o.metadata.name),
    `exactly one ${kind}`,
  ).toHaveLength(1);
  return found[0]!;
}
const deployment = (objects: Manifest[]) => only(objects, 'Deployment');
const job = (objects: Manifest[]) => only(objects, 'Job');
const serverContainer = (objects: Manifest[]) => {
  const containers = deployment(objects).spec.template.spec.containers as Json[];
  expect(containers, 'one container in the server pod').toHaveLength(1);
  return containers[0];
};
const jobContainer = (objects: Manifest[]) => {
  const containers = job(objects).spec.template.spec.containers as Json[];
  expect(containers, 'one container in the migration pod').toHaveLength(1);
  return containers[0];
};
const configMaps = (objects: Manifest[]) => objects.filter((o) => o.kind === 'ConfigMap');

/** The configuration a container sees from ConfigMaps (envFrom) overridden by its own env. */
function settings(objects: Manifest[], container: Json): Record<string, string | undefined> {
  const seen: Record<string, string | undefined> = {};
  for (const source of container.envFrom ?? []) {
    if (!source.configMapRef) continue;
    const map = configMaps(objects).find((m) => m.metadata.name === source.configMapRef.name);
    expect(map, `ConfigMap ${source.configMapRef.name} is rendered`).toBeDefined();
    Object.assign(seen, map!.data);
  }
  for (const variable of container.env ?? []) seen[variable.name] = variable.value;
  return seen;
}

function containerPort(container: Json, port: string | number): number {
  if (typeof port === 'number') return port;
  const named = (container.ports ?? []).find((p: Json) => p.name === port);
  expect(named, `container port named ${port}`).toBeDefined();
  return named.containerPort;
}

function selects(selector: Record<string, string>, labels: Record<string, string> = {}): boolean {
  return Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
}

const podLabels = (workload: Manifest) => workload.spec.template.metadata.labels as Record<string, string>;

function bytes(quantity: string | number): number {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|k|M|G)?$/.exec(String(quantity));
  expect(match, `memory quantity ${quantity}`).not.toBeNull();
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, k: 1e3, M: 1e6, G: 1e9 }[match![2] as string] ?? 1;
  return Number(match![1]) * unit;
}

function preStopSleepSeconds(container: Json): number {
  const preStop = container.lifecycle?.preStop;
  if (preStop?.sleep) return preStop.sleep.seconds;
  const command = preStop?.exec?.command as string[] | undefined;
  if (command?.[0] === 'sleep') return Number(command[1]);
  return 0;
}

// ---- the rules ----------------------------------------------------------------------------------

function expectPodHardened(pod: Json, container: Json, what: string) {
  expect(pod.securityContext?.runAsNonRoot, `${what}: pod runAsNonRoot`).toBe(true);
  // The image's `node` user; numeric, or the kubelet cannot verify runAsNonRoot.
  expect(pod.securityContext?.runAsUser, `${what}: pod runAsUser`).toBe(1000);
  expect(pod.securityContext?.seccompProfile?.type, `${what}: pod seccomp`).toBe('RuntimeDefault');
  expect(pod.automountServiceAccountToken, `${what}: no service account token`).toBe(false);
  const sc = container.securityContext ?? {};
  expect(sc.runAsNonRoot, `${what}: container runAsNonRoot`).toBe(true);
  expect(sc.runAsUser ?? pod.securityContext.runAsUser, `${what}: container user`).toBe(1000);
  expect(sc.allowPrivilegeEscalation, `${what}: allowPrivilegeEscalation`).toBe(false);
  expect(sc.privileged ?? false, `${what}: privileged`).toBe(false);
  expect(sc.readOnlyRootFilesystem, `${what}: readOnlyRootFilesystem`).toBe(true);
  expect(sc.capabilities?.drop, `${what}: drop ALL capabilities`).toContain('ALL');
  expect(sc.capabilities?.add ?? [], `${what}: no added capabilities`).toEqual([]);
  expect(sc.seccompProfile?.type, `${what}: container seccomp`).toBe('RuntimeDefault');
  // With a read-only root, /tmp (and DATA_DIR, were it set) must be an emptyDir.
  const emptyDirs = new Set((pod.volumes ?? []).filter((v: Json) => v.emptyDir).map((v: Json) => v.name));
  const writable = (container.volumeMounts ?? [])
    .filter((m: Json) => emptyDirs.has(m.name) && !m.readOnly)
    .map((m: Json) => m.mountPath);
  expect(writable, `${what}: /tmp is a writable emptyDir`).toContain('/tmp');
}

function expectSecretsByReferenceOnly(objects: Manifest[], container: Json, what: string) {
  expect(
    container.envFrom?.some((s: Json) => s.secretRef?.name),
    `${what}: loads the Secret by name`,
  ).toBe(true);
  for (const variable of container.env ?? []) {
    if (SECRET_VARIABLES.includes(variable.name)) {
      expect(variable.valueFrom?.secretKeyRef, `${what}: ${variable.name} comes from a Secret`).toBeDefined();
    }
  }
  for (const map of configMaps(objects)) {
    for (const name of SECRET_VARIABLES) expect(map.data?.[name], `${map.metadata.name} holds ${name}`).toBeUndefined();
  }
}

const secretRefs = (container: Json) => ({
  envFrom: (container.envFrom ?? [])
    .filter((s: Json) => s.secretRef)
    .map((s: Json) => s.secretRef.name)
    .sort(),
  keys: (container.env ?? [])
    .filter((v: Json) => v.valueFrom?.secretKeyRef)
    .map((v: Json) => `${v.name}=${v.valueFrom.secretKeyRef.name}/${v.valueFrom.secretKeyRef.key}`)
    .sort(),
});
const configMapRefs = (container: Json) =>
  (container.envFrom ?? [])
    .filter((s: Json) => s.configMapRef)
    .map((s: Json) => s.configMapRef.name)
    .sort();

const rules: Record<string, (objects: Manifest[]) => void> = {
  'probes: readiness on /readyz, liveness on /healthz, a startup probe, all on the served port'(objects) {
    const container = serverContainer(objects);
    const port = Number(settings(objects, container).PORT ?? 3000);
    expect(container.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(container.livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(['/healthz', '/readyz'], 'startup probe path').toContain(container.startupProbe?.httpGet?.path);
    for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
      expect(containerPort(container, container[probe].httpGet.port), `${probe} port`).toBe(port);
    }
  },

  'pods run non-root with a read-only root, no privilege escalation, no capabilities, seccomp'(objects) {
    expectPodHardened(deployment(objects).spec.template.spec, serverContainer(objects), 'server');
    expectPodHardened(job(objects).spec.template.spec, jobContainer(objects), 'migration');
  },

  'secrets are referenced by name, never rendered with values'(objects) {
    const secrets = objects.filter((o) => o.kind === 'Secret');
    for (const secret of secrets) {
      expect(secret.data ?? {}, `Secret ${secret.metadata.name} data`).toEqual({});
      expect(secret.stringData ?? {}, `Secret ${secret.metadata.name} stringData`).toEqual({});
    }
    expectSecretsByReferenceOnly(objects, serverContainer(objects), 'server');
    expectSecretsByReferenceOnly(objects, jobContainer(objects), 'migration');
  },

  'resources: requests and a memory limit, the request covering the measured peak'(objects) {
    for (const [what, container] of [
      ['server', serverContainer(objects)],
      ['migration', jobContainer(objects)],
    ]) {
      const { requests = {}, limits = {} } = container.resources ?? {};
      expect(requests.cpu, `${what}: cpu request`).toBeDefined();
      expect(requests.memory, `${what}: memory request`).toBeDefined();
      expect(limits.memory, `${what}: memory limit`).toBeDefined();
      expect(bytes(limits.memory), `${what}: limit ≥ request`).toBeGreaterThanOrEqual(bytes(requests.memory));
    }
    expect(
      bytes(serverContainer(objects).resources.requests.memory),
      'server memory request ≥ measured peak',
    ).toBeGreaterThanOrEqual(MEASURED_PEAK_BYTES);
  },

  'the disruption budget covers the server pods and keeps one serving through a drain'(objects) {
    const budget = only(objects, 'PodDisruptionBudget');
    const server = deployment(objects);
    const selector = budget.spec.selector?.matchLabels ?? {};
    expect(selects(selector, podLabels(server)), 'PDB selects the server pods').toBe(true);
    expect(selects(selector, podLabels(job(objects))), 'PDB leaves the migration pod alone').toBe(false);
    const replicas: number = server.spec.replicas;
    expect(replicas, 'replicas').toBeGreaterThanOrEqual(2);
    const { minAvailable, maxUnavailable } = budget.spec;
    const resolve = (v: number | string) =>
      typeof v === 'string' && v.endsWith('%') ? Math.floor((replicas * parseInt(v, 10)) / 100) : Number(v);
    const allowed = maxUnavailable !== undefined ? resolve(maxUnavailable) : replicas - resolve(minAvailable);
    expect(allowed, 'a drain can evict a pod').toBeGreaterThanOrEqual(1);
    expect(allowed, 'a drain leaves one serving').toBeLessThanOrEqual(replicas - 1);
  },

  'the Service selects the server pods and reaches the served port'(objects) {
    const service = only(objects, 'Service');
    expect(
      selects(service.spec.selector ?? {}, podLabels(deployment(objects))),
      'Service selects the server pods',
    ).toBe(true);
    expect(selects(service.spec.selector ?? {}, podLabels(job(objects))), 'Service leaves the migration pod out').toBe(
      false,
    );
    const container = serverContainer(objects);
    for (const port of service.spec.ports) {
      expect(containerPort(container, port.targetPort ?? port.port)).toBe(
        Number(settings(objects, container).PORT ?? 3000),
      );
    }
  },

  'the migration Job runs `tessera migrate` with the same image, configuration and secrets'(objects) {
    const migrate = jobContainer(objects);
    const server = serverContainer(objects);
    expect([...(migrate.command ?? []), ...(migrate.args ?? [])]).toEqual(['node', 'bin/tessera.js', 'migrate']);
    expect(migrate.image).toBe(server.image);
    expect(secretRefs(migrate)).toEqual(secretRefs(server));
    expect(configMapRefs(migrate)).toEqual(configMapRefs(server));
    expect(job(objects).spec.template.spec.restartPolicy).toBe('Never');
    expect(job(objects).spec.backoffLimit, 'a bounded number of retries').toBeLessThanOrEqual(5);
  },

  'only the Job migrates: MIGRATE_ON_START=false in the server pods'(objects) {
    const server = serverContainer(objects);
    // Set on the container itself (env wins over envFrom), not left to a ConfigMap edit.
    expect((server.env ?? []).find((v: Json) => v.name === 'MIGRATE_ON_START')?.value).toBe('false');
    expect(settings(objects, server).MIGRATE_ON_START).toBe('false');
  },

  "the release's first step applies the Job and everything it reads, and no server"(objects) {
    const first = objects.filter((o) =>
      FIRST_STEP_COMPONENTS.includes(o.metadata.labels?.['app.kubernetes.io/component'] ?? ''),
    );
    const names = first.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(names).toContain(`Job/${job(objects).metadata.name}`);
    for (const name of configMapRefs(jobContainer(objects))) expect(names).toContain(`ConfigMap/${name}`);
    expect(first.filter((o) => o.kind === 'Deployment')).toEqual([]);
  },

  "graceful shutdown: the grace period outlasts the preStop pause and the server's drain"(objects) {
    const server = deployment(objects);
    const container = serverContainer(objects);
    const grace: number = server.spec.template.spec.terminationGracePeriodSeconds ?? 30;
    const pause = preStopSleepSeconds(container);
    expect(pause, 'a preStop pause while the endpoint leaves the Service').toBeGreaterThan(0);
    expect(grace, `grace > ${pause} s pause + ${DRAIN_TIMEOUT_SECONDS} s drain`).toBeGreaterThan(
      pause + DRAIN_TIMEOUT_SECONDS,
    );
    // A rollout never takes a serving pod away before its replacement is ready.
    expect(server.spec.strategy?.rollingUpdate?.maxUnavailable).toBe(0);
  },
};

const productionRules: Record<string, (objects: Manifest[]) => void> = {
  'production pins the image, runs three replicas and its own https ISSUER'(objects) {
    const { image } = serverContainer(objects);
    const pinned = /@sha256:[0-9a-f]{64}$/.test(image) || /:[^/:@]+$/.test(image);
    expect(pinned, `image ${image} has a tag or digest`).toBe(true);
    expect(image, 'no :latest').not.toMatch(/:latest$/);
    expect(deployment(objects).spec.replicas).toBeGreaterThanOrEqual(3);
    const issuer = settings(objects, serverContainer(objects)).ISSUER ?? '';
    expect(issuer).toMatch(/^https:\/\//);
    expect(issuer).not.toBe('https://tessera.example.com');
  },

  'production trusts forwarded headers only behind a NetworkPolicy on the server pods'(objects) {
    if (!settings(objects, serverContainer(objects)).TRUSTED_PROXIES) return;
    const policies = objects.filter(
      (o) =>
        o.kind === 'NetworkPolicy' &&
        (o.spec.policyTypes ?? []).includes('Ingress') &&
        selects(o.spec.podSelector?.matchLabels ?? {}, podLabels(deployment(objects))),
    );
    expect(policies.length, 'an ingress NetworkPolicy selecting the server pods').toBeGreaterThan(0);
    for (const policy of policies)
      expect(
        policy.spec.ingress?.every((r: Json) => (r.from ?? []).length > 0),
        'every rule names its sources',
      ).toBe(true);
  },
};

// ---- broken copies: each rule must reject its own -------------------------------------------

const clone = (objects: Manifest[]) => structuredClone(objects);
const podOf = (objects: Manifest[]) => deployment(objects).spec.template.spec;
const breakages: Record<string, Array<[string, (objects: Manifest[]) => void]>> = {
  'probes: readiness on /readyz, liveness on /healthz, a startup probe, all on the served port': [
    [
      'readiness on /healthz',
      (o) => {
        serverContainer(o).readinessProbe.httpGet.path = '/healthz';
      },
    ],
    [
      'liveness on /readyz',
      (o) => {
        serverContainer(o).livenessProbe.httpGet.path = '/readyz';
      },
    ],
    [
      'no startup probe',
      (o) => {
        delete serverContainer(o).startupProbe;
      },
    ],
    [
      'probe on another port',
      (o) => {
        serverContainer(o).livenessProbe.httpGet.port = 8080;
      },
    ],
  ],
  'pods run non-root with a read-only root, no privilege escalation, no capabilities, seccomp': [
    [
      'root user',
      (o) => {
        podOf(o).securityContext.runAsUser = 0;
      },
    ],
    [
      'writable root',
      (o) => {
        serverContainer(o).securityContext.readOnlyRootFilesystem = false;
      },
    ],
    [
      'escalation allowed in the Job',
      (o) => {
        jobContainer(o).securityContext.allowPrivilegeEscalation = true;
      },
    ],
    [
      'capabilities kept',
      (o) => {
        serverContainer(o).securityContext.capabilities.drop = [];
      },
    ],
    [
      'a capability added',
      (o) => {
        jobContainer(o).securityContext.capabilities.add = ['NET_ADMIN'];
      },
    ],
    [
      'no seccomp',
      (o) => {
        delete podOf(o).securityContext.seccompProfile;
      },
    ],
    [
      'no writable /tmp',
      (o) => {
        serverContainer(o).volumeMounts = [];
      },
    ],
  ],
  'secrets are referenced by name, never rendered with values': [
    [
      'a Secret with data',
      (o) => {
        o.push({
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'tessera-secrets' },
          data: { COOKIE_KEYS: 'eA==' },
        });
      },
    ],
    [
      'a secret in the ConfigMap',
      (o) => {
        configMaps(o)[0]!.data.KEYS_ENCRYPTION_KEY = 'x'.repeat(43);
      },
    ],
    [
      'a secret as a literal env value',
      (o) => {
        serverContainer(o).env.push({ name: 'CLIENT_SECRET_PEPPER', value: 'x'.repeat(43) });
      },
    ],
    [
      'the Job without the Secret',
      (o) => {
        jobContainer(o).envFrom = jobContainer(o).envFrom.filter((s: Json) => !s.secretRef);
      },
    ],
  ],
  'resources: requests and a memory limit, the request covering the measured peak': [
    [
      'no memory limit',
      (o) => {
        delete serverContainer(o).resources.limits;
      },
    ],
    [
      'no cpu request',
      (o) => {
        delete jobContainer(o).resources.requests.cpu;
      },
    ],
    [
      'request below the measured peak',
      (o) => {
        serverContainer(o).resources.requests.memory = '128Mi';
      },
    ],
  ],
  'the disruption budget covers the server pods and keeps one serving through a drain': [
    [
      'selector off the pods',
      (o) => {
        only(o, 'PodDisruptionBudget').spec.selector.matchLabels['app.kubernetes.io/component'] = 'web';
      },
    ],
    [
      'drains blocked',
      (o) => {
        const b = only(o, 'PodDisruptionBudget').spec;
        delete b.maxUnavailable;
        b.minAvailable = deployment(o).spec.replicas;
      },
    ],
    [
      'every pod may go',
      (o) => {
        only(o, 'PodDisruptionBudget').spec.maxUnavailable = '100%';
      },
    ],
    [
      'one replica',
      (o) => {
        deployment(o).spec.replicas = 1;
      },
    ],
  ],
  'the Service selects the server pods and reaches the served port': [
    [
      'selector off the pods',
      (o) => {
        only(o, 'Service').spec.selector['app.kubernetes.io/name'] = 'other';
      },
    ],
    [
      'selector takes the Job too',
      (o) => {
        delete only(o, 'Service').spec.selector['app.kubernetes.io/component'];
      },
    ],
    [
      'wrong target port',
      (o) => {
        only(o, 'Service').spec.ports[0].targetPort = 8080;
      },
    ],
  ],
  'the migration Job runs `tessera migrate` with the same image, configuration and secrets': [
    [
      'another command',
      (o) => {
        jobContainer(o).command = ['node', 'build/main.js'];
      },
    ],
    [
      'another image',
      (o) => {
        jobContainer(o).image = 'tessera:other';
      },
    ],
    [
      'another Secret',
      (o) => {
        jobContainer(o).envFrom.find((s: Json) => s.secretRef).secretRef.name = 'other';
      },
    ],
    [
      'another ConfigMap',
      (o) => {
        jobContainer(o).envFrom.find((s: Json) => s.configMapRef).configMapRef.name = 'other';
      },
    ],
  ],
  'only the Job migrates: MIGRATE_ON_START=false in the server pods': [
    [
      'left to the default',
      (o) => {
        serverContainer(o).env = serverContainer(o).env.filter((v: Json) => v.name !== 'MIGRATE_ON_START');
      },
    ],
    [
      'turned on',
      (o) => {
        serverContainer(o).env.find((v: Json) => v.name === 'MIGRATE_ON_START').value = 'true';
      },
    ],
  ],
  "the release's first step applies the Job and everything it reads, and no server": [
    [
      'ConfigMap not in the first step',
      (o) => {
        configMaps(o)[0]!.metadata.labels!['app.kubernetes.io/component'] = 'server';
      },
    ],
    [
      'the Deployment in the first step',
      (o) => {
        deployment(o).metadata.labels!['app.kubernetes.io/component'] = 'migration';
      },
    ],
  ],
  "graceful shutdown: the grace period outlasts the preStop pause and the server's drain": [
    [
      'grace equal to the drain',
      (o) => {
        podOf(o).terminationGracePeriodSeconds = DRAIN_TIMEOUT_SECONDS;
      },
    ],
    [
      'the default 30 s grace',
      (o) => {
        delete podOf(o).terminationGracePeriodSeconds;
      },
    ],
    [
      'no preStop pause',
      (o) => {
        delete serverContainer(o).lifecycle;
      },
    ],
    [
      'a rollout that stops pods first',
      (o) => {
        deployment(o).spec.strategy.rollingUpdate.maxUnavailable = 1;
      },
    ],
  ],
  'production pins the image, runs three replicas and its own https ISSUER': [
    [
      'image :latest',
      (o) => {
        serverContainer(o).image = 'registry.example.com/tessera:latest';
      },
    ],
    [
      'image untagged',
      (o) => {
        serverContainer(o).image = 'registry.example.com/tessera';
      },
    ],
    [
      'the base ISSUER',
      (o) => {
        for (const m of configMaps(o)) m.data.ISSUER = 'https://tessera.example.com';
      },
    ],
  ],
  'production trusts forwarded headers only behind a NetworkPolicy on the server pods': [
    [
      'no NetworkPolicy',
      (o) => {
        o.splice(
          o.findIndex((m) => m.kind === 'NetworkPolicy'),
          1,
        );
      },
    ],
    [
      'a policy open to all',
      (o) => {
        only(o, 'NetworkPolicy').spec.ingress = [{}];
      },
    ],
  ],
};

// ---- the tests ----------------------------------------------------------------------------------

if (!haveKubectl) {
  describe('deploy/kubernetes', () => {
    // CI's machine has kubectl: there, its absence is a failure, not a reason to skip.
    it.skipIf(!process.env.CI)('kubectl is not installed: the manifests were NOT rendered or checked', () => {});
    it.runIf(process.env.CI)('kubectl is installed (CI renders the manifests)', () => {
      expect.fail(`kubectl is missing: ${kubectl.error?.message ?? kubectl.stderr}`);
    });
  });
} else {
  describe.each(kustomizations)('%s', (dir) => {
    let objects: Manifest[];
    beforeAll(() => {
      objects = render(dir);
    });
    const production = dir.endsWith('production');
    const applicable = { ...rules, ...(production ? productionRules : {}) };

    for (const [name, rule] of Object.entries(applicable)) {
      it(name, () => rule(objects));
    }
    for (const [name, rule] of Object.entries(applicable)) {
      it.each(breakages[name] ?? [])(`rejects a broken copy (${name}): %s`, (_, breakIt) => {
        const broken = clone(objects);
        breakIt(broken);
        // An assertion of the rule must catch it, not a crash on the changed shape.
        let caught: unknown;
        try {
          rule(broken);
        } catch (err) {
          caught = err;
        }
        expect((caught as Error | undefined)?.name).toBe('AssertionError');
      });
    }
  });

  it('every rule has broken copies that it rejects', () => {
    for (const name of [...Object.keys(rules), ...Object.keys(productionRules)]) {
      expect(breakages[name]?.length ?? 0, name).toBeGreaterThan(0);
    }
  });

  it('the example Secret is in no kustomization', () => {
    const listed = kustomizations.map((dir) => readFileSync(join(root, dir, 'kustomization.yaml'), 'utf8')).join('\n');
    expect(listed).not.toMatch(/^\s*-\s*secret\.example\.yaml/m);
    // and it renders to nothing of its own: the base's output has no Secret at all
    expect(render(kustomizations[0]!).filter((o) => o.kind === 'Secret')).toEqual([]);
  });
}
