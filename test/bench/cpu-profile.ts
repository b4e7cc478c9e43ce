import { fileURLToPath } from 'node:url';

// Reads a V8 CPU profile (the .cpuprofile JSON that Chrome DevTools opens) down to where the time went: the
// functions with the most self time (their own code, not what they call), and the packages that time belongs to.

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

export interface PackageTime {
  /** An npm package, a folder of the repository, Node.js itself, or one of V8's states such as (idle). */
  readonly name: string;
  readonly selfMs: number;
  readonly share: number;
}

export interface HotFunction {
  readonly name: string;
  /** Where it is defined: a path under the repository, node_modules or Node's own; empty for V8's pseudo-frames. */
  readonly location: string;
  readonly selfMs: number;
  /** Its part of all sampled time, idle included. */
  readonly share: number;
}

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const V8_STATES = new Set(['(idle)', '(program)', '(garbage collector)']);

function locationOf({ url, lineNumber }: CallFrame): string {
  if (!url) return '';

  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const inNodeModules = path.lastIndexOf('/node_modules/');
  const short =
    inNodeModules >= 0
      ? path.slice(inNodeModules + 1)
      : path.startsWith(REPO_ROOT)
        ? path.slice(REPO_ROOT.length)
        : path;
  // V8 counts lines from 0.
  return `${short}:${lineNumber + 1}`;
}

/** Each sample's node and the time it stands for: a delta is the time before its sample, so the one after it. */
function sampledTime(profile: CpuProfile): { nodeId: number; us: number }[] {
  const deltas = profile.timeDeltas ?? [];
  return (profile.samples ?? []).map((nodeId, index) => ({ nodeId, us: deltas[index + 1] ?? 0 }));
}

export function hottestFunctions(profile: CpuProfile, count: number): HotFunction[] {
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const selfUs = new Map<string, { frame: CallFrame; us: number }>();
  let totalUs = 0;
  for (const { nodeId, us } of sampledTime(profile)) {
    const frame = frames.get(nodeId);
    if (!frame) continue;

    // One function appears as many nodes, one for each stack it was seen in.
    const key = `${frame.functionName}\0${frame.url}\0${frame.lineNumber}`;
    const entry = selfUs.get(key) ?? { frame, us: 0 };
    entry.us += us;
    selfUs.set(key, entry);
    totalUs += us;
  }

  return [...selfUs.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, count)
    .map(({ frame, us }) => ({
      name: frame.functionName || '(anonymous)',
      location: locationOf(frame),
      selfMs: us / 1000,
      share: totalUs > 0 ? us / totalUs : 0,
    }));
}

/** The package a frame's code belongs to; undefined for Node.js's own code and native functions. */
function packageOf({ url }: CallFrame): string | undefined {
  if (!url || url.startsWith('node:')) return undefined;

  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const inNodeModules = path.lastIndexOf('/node_modules/');
  if (inNodeModules >= 0) {
    const [scope, name] = path.slice(inNodeModules + '/node_modules/'.length).split('/');
    return scope?.startsWith('@') ? `${scope}/${name}` : scope;
  }
  if (!path.startsWith(REPO_ROOT)) return path;
  // The folder of a file in the repository, e.g. services/api/src/auth.
  return path.slice(REPO_ROOT.length).split('/').slice(0, -1).join('/');
}

/**
 * Self time by package. Time in Node.js's own code or in a native function (a socket write, say) goes to the
 * package that called it, so a query's write to its socket counts for the database client, not for Node.js.
 */
export function timeByPackage(profile: CpuProfile, count: number): PackageTime[] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);

  const owners = new Map<number, string>();
  const ownerOf = (nodeId: number): string => {
    const known = owners.get(nodeId);
    if (known !== undefined) return known;

    const frame = byId.get(nodeId)?.callFrame;
    const parent = parentOf.get(nodeId);
    const owner =
      (frame && (packageOf(frame) ?? (V8_STATES.has(frame.functionName) ? frame.functionName : undefined))) ??
      // Node.js's code that no package called, the event loop or the HTTP parser, is Node.js's own.
      (parent === undefined ? 'Node.js' : ownerOf(parent));
    owners.set(nodeId, owner);
    return owner;
  };

  const selfUs = new Map<string, number>();
  let totalUs = 0;
  for (const { nodeId, us } of sampledTime(profile)) {
    const owner = ownerOf(nodeId);
    selfUs.set(owner, (selfUs.get(owner) ?? 0) + us);
    totalUs += us;
  }
  return [...selfUs.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, us]) => ({ name, selfMs: us / 1000, share: totalUs > 0 ? us / totalUs : 0 }));
}
