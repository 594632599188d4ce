// Test harness: real, throwaway nats-server processes for the integration and
// e2e suites. Every server gets OS-assigned free ports on 127.0.0.1, its own
// temp dir (config, store, certs, creds) and is always torn down: explicitly via
// stop(), by the process 'exit' hook, and by a watchdog child that SIGKILLs the
// server if this process dies without cleaning up (even by SIGKILL).
//
//   const s = await startServer({ auth: { token: "t" } });
//   after(() => s.stop());
//   const nc = await s.connect();
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { type AddressInfo, createServer, Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import {
  connect as natsConnect,
  credsAuthenticator,
  type ConnectionOptions,
  type NatsConnection,
  nkeyAuthenticator,
  nkeys,
} from "nats";
import { type AccountJsLimits, createOperatorSetup } from "./jwt.ts";
import { generateTls, type TlsFiles } from "./tls.ts";

export type { AccountJsLimits } from "./jwt.ts";
export type { TlsFiles } from "./tls.ts";

// ---------------------------------------------------------------- types

/** Client authentication the server requires. nkey/creds material is generated. */
export type AuthOptions =
  | { user: string; password: string }
  | { token: string }
  | { nkey: true }
  | { creds: true };

export interface ServerOptions {
  /** nats-server binary; default $NATS_SERVER_BIN, then `nats-server` on PATH */
  bin?: string;
  /** JetStream max_file_store (bytes) for the whole server */
  maxFileStore?: number;
  /** JetStream max_memory_store (bytes) for the whole server */
  maxMemoryStore?: number;
  auth?: AuthOptions;
  /** serve clients over TLS with a CA generated for this server */
  tls?: boolean;
  /** also require client certificates (implies tls) */
  tlsVerify?: boolean;
  /** put clients in an account with these JetStream limits (not with token auth) */
  accountLimits?: AccountJsLimits;
  /** escape hatch: extra top-level config keys, merged last */
  config?: Record<string, unknown>;
  /** readiness timeout per start, default 10s */
  readyTimeoutMs?: number;
  /** JetStream domain of this server (jetstream { domain }) */
  domain?: string;
}

/** Env-var form our Pulumi providers read; only the relevant keys are set. */
export interface NatsEnv {
  NATS_URL: string;
  NATS_USER?: string;
  NATS_PASSWORD?: string;
  NATS_TOKEN?: string;
  NATS_CREDS?: string;
  /** path to a file holding the user nkey seed */
  NATS_NKEY?: string;
  NATS_CA?: string;
  NATS_CERT?: string;
  NATS_KEY?: string;
}

/** Things a client needs, shared by all nodes of a cluster. */
interface ClientMaterial {
  clientOptions: ConnectionOptions; // without `servers`
  env: Omit<NatsEnv, "NATS_URL">;
  tls?: TlsFiles;
  nkeySeed?: string;
  nkeyFile?: string;
  credsFile?: string;
  /** config keys for auth/tls, identical on every node */
  config: Record<string, unknown>;
}

export interface NatsServer {
  name: string;
  /** nats://127.0.0.1:<port> */
  url: string;
  port: number;
  monitorPort: number;
  /** http://127.0.0.1:<monitorPort> */
  monitorUrl: string;
  /** cluster route port (cluster members only) */
  clusterPort?: number;
  /** temp dir holding everything of this server; removed by stop() */
  dir: string;
  storeDir: string;
  configFile: string;
  bin: string;
  /** e.g. "2.12.15" */
  version: string;
  /** ready-to-use nats.js connect() options */
  clientOptions: ConnectionOptions;
  env: NatsEnv;
  tls?: TlsFiles;
  nkeySeed?: string;
  nkeyFile?: string;
  credsFile?: string;
  readonly running: boolean;
  /** OS pid of the current process (undefined before start) */
  readonly pid: number | undefined;
  /** all server output so far (across restarts, capped) */
  logs(): string;
  /** connect with clientOptions (+ overrides); closed automatically by stop() */
  connect(extra?: Partial<ConnectionOptions>): Promise<NatsConnection>;
  /** graceful shutdown, then remove the temp dir. Final; idempotent. */
  stop(): Promise<void>;
  /** SIGKILL the process (fault tests); dir kept, start() brings it back */
  kill(): Promise<void>;
  /** graceful shutdown keeping the dir; start() brings it back */
  shutdown(): Promise<void>;
  /** start again with the same ports, store dir and config; waits until ready */
  start(): Promise<void>;
  /** shutdown() + start() */
  restart(): Promise<void>;
}

export interface NatsCluster {
  name: string;
  servers: NatsServer[];
  /** comma-separated client URLs of all nodes */
  urls: string;
  clientOptions: ConnectionOptions;
  env: NatsEnv;
  connect(extra?: Partial<ConnectionOptions>): Promise<NatsConnection>;
  /** stop every node and remove all dirs */
  stop(): Promise<void>;
  /** graceful shutdown of node i (store kept) */
  stopNode(i: number): Promise<void>;
  /** start node i again and wait until the cluster has a meta leader */
  startNode(i: number): Promise<void>;
  /** wait until all running nodes agree on a JetStream meta leader; returns its name */
  waitForMetaLeader(timeoutMs?: number): Promise<string>;
}

// ---------------------------------------------------------------- process-wide safety net

interface Stoppable {
  stop(): Promise<void>;
  killSync(): void;
}
const live = new Set<Stoppable>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous: SIGKILL and rmSync.
  process.on("exit", () => {
    for (const s of live) s.killSync();
  });
}

/** Stops every server/cluster this process started and hasn't stopped yet. */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((s) => s.stop()));
}

/**
 * A tiny sh process holding a pipe from us: when this process dies for any
 * reason (even SIGKILL) the pipe hits EOF and the watchdog kills the server and
 * removes its dir. Swapped for a dir-only one as soon as the server exits, so a
 * recycled pid is never killed.
 */
function watchdog(pid: number | undefined, dir: string): ChildProcess {
  const w = spawn(
    "/bin/sh",
    ["-c", 'read _ ; if [ -n "$1" ]; then kill -9 "$1" 2>/dev/null; sleep 0.3; fi; rm -rf "$2"', "kanade-watchdog", pid ? String(pid) : "", dir],
    { stdio: ["pipe", "ignore", "ignore"] },
  );
  w.unref();
  (w.stdin as unknown as { unref?: () => void }).unref?.();
  w.on("error", () => undefined);
  return w;
}

// ---------------------------------------------------------------- utilities

/**
 * The OS's range for connections' own (source) ports. A port picked inside it,
 * as `listen(0)` picks, can be taken by any outgoing connection in the suite
 * before the server it was picked for binds it (CI saw a route port go so).
 */
export function ephemeralPortRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
    if (lo > 0 && hi >= lo) return [lo, hi];
  } catch {
    /* not Linux: IANA's dynamic range, macOS's default */
  }
  return [49152, 65535];
}

/**
 * Where freePorts picks: from 10000 (above the well-known and commonly
 * configured ports, 4222 included) to just below the ephemeral range, or above
 * it; undefined when neither leaves 1000 ports (then the OS picks, as before).
 */
export function testPortRange(): [number, number] | undefined {
  const [ephemeralLow, ephemeralHigh] = ephemeralPortRange();
  if (ephemeralLow - 10_000 >= 1000) return [10_000, ephemeralLow - 1];
  if (65535 - ephemeralHigh >= 1000) return [ephemeralHigh + 1, 65535];
  return undefined;
}

function tryListen(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(undefined));
    srv.listen(port, "127.0.0.1", () => resolve(srv));
  });
}

/**
 * `n` distinct TCP ports free on 127.0.0.1, outside the ephemeral range so no
 * connection's source port can take them before use (held together, then
 * released). Another process picking the same one is still possible;
 * startServer and startCluster retry on "address already in use".
 */
export async function freePorts(n: number): Promise<number[]> {
  const range = testPortRange();
  const pick = () => (range ? range[0] + Math.floor(Math.random() * (range[1] - range[0] + 1)) : 0);
  const held = new Map<number, Server>();
  for (let tries = 0; held.size < n; tries++) {
    if (tries > 50 * n) throw new Error(`no ${n} free ports in ${range?.join("-") ?? "the ephemeral range"} after ${tries} tries`);
    const srv = await tryListen(pick());
    // A port already held fails to bind again, so these are distinct.
    if (srv) held.set((srv.address() as AddressInfo).port, srv);
  }
  await Promise.all([...held.values()].map((s) => new Promise((r) => s.close(r))));
  return [...held.keys()];
}

const versionCache = new Map<string, string>();

/** "2.12.15" from `nats-server --version`. */
export function serverVersion(bin: string): string {
  let v = versionCache.get(bin);
  if (!v) {
    let out: string;
    try {
      out = execFileSync(bin, ["--version"], { encoding: "utf8" });
    } catch (e) {
      throw new Error(`cannot run ${bin} --version (source scripts/env.sh?): ${(e as Error).message}`);
    }
    const m = /v?(\d+\.\d+\.\d+\S*)/.exec(out);
    if (!m) throw new Error(`cannot parse version of ${bin}: ${out}`);
    v = m[1];
    versionCache.set(bin, v);
  }
  return v;
}

function defaultBin(): string {
  return process.env.NATS_SERVER_BIN || "nats-server";
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tail(text: string, lines = 40): string {
  return text.split("\n").slice(-lines - 1).join("\n");
}

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* keep text */
  }
  return { status: res.status, body };
}

const rand = () => randomBytes(12).toString("hex");

// ---------------------------------------------------------------- config

/** Auth + TLS config and the matching client options; written into `dir`. */
async function prepareMaterial(opts: ServerOptions, dir: string): Promise<ClientMaterial> {
  const m: ClientMaterial = { clientOptions: {}, env: {}, config: {} };
  const auth = opts.auth;
  const limits = opts.accountLimits;
  // Explicitly defined accounts only get JetStream when told so.
  const jsForAccount = limits
    ? { ...(limits.maxFileStore !== undefined && { max_file: limits.maxFileStore }),
        ...(limits.maxMemoryStore !== undefined && { max_mem: limits.maxMemoryStore }) }
    : "enabled";

  const appAccount = (users: Record<string, unknown>[]) => ({ APP: { jetstream: jsForAccount, users } });

  if (!auth) {
    if (limits) {
      // Limits live on an account, so map credential-less clients into it.
      m.config.accounts = appAccount([{ user: "app", password: rand() }]);
      m.config.no_auth_user = "app";
    }
  } else if ("user" in auth) {
    m.config.accounts = appAccount([{ user: auth.user, password: auth.password }]);
    m.clientOptions.user = auth.user;
    m.clientOptions.pass = auth.password;
    m.env.NATS_USER = auth.user;
    m.env.NATS_PASSWORD = auth.password;
  } else if ("token" in auth) {
    if (limits) throw new Error("harness: accountLimits cannot be combined with token auth (tokens have no account)");
    m.config.authorization = { token: auth.token };
    m.clientOptions.token = auth.token;
    m.env.NATS_TOKEN = auth.token;
  } else if ("nkey" in auth) {
    const kp = nkeys.createUser();
    const seed = new TextDecoder().decode(kp.getSeed());
    m.config.accounts = appAccount([{ nkey: kp.getPublicKey() }]);
    m.nkeySeed = seed;
    m.nkeyFile = join(dir, "user.nk");
    await writeFile(m.nkeyFile, seed + "\n", { mode: 0o600 });
    m.clientOptions.authenticator = nkeyAuthenticator(new TextEncoder().encode(seed));
    m.env.NATS_NKEY = m.nkeyFile;
  } else if ("creds" in auth) {
    const op = createOperatorSetup(limits ?? {});
    const opFile = join(dir, "operator.jwt");
    await writeFile(opFile, op.operatorJwt);
    m.config.operator = opFile;
    m.config.system_account = op.systemAccount;
    m.config.resolver = "MEMORY";
    m.config.resolver_preload = op.preload;
    m.credsFile = join(dir, "user.creds");
    await writeFile(m.credsFile, op.userCreds, { mode: 0o600 });
    m.clientOptions.authenticator = credsAuthenticator(new TextEncoder().encode(op.userCreds));
    m.env.NATS_CREDS = m.credsFile;
  }

  if (opts.tls || opts.tlsVerify) {
    const t = generateTls(dir);
    m.tls = t;
    m.config.tls = {
      cert_file: t.certFile,
      key_file: t.keyFile,
      ca_file: t.caFile,
      ...(opts.tlsVerify && { verify: true }),
      timeout: 5,
    };
    m.clientOptions.tls = opts.tlsVerify
      ? { caFile: t.caFile, certFile: t.clientCertFile, keyFile: t.clientKeyFile }
      : { caFile: t.caFile };
    m.env.NATS_CA = t.caFile;
    if (opts.tlsVerify) {
      m.env.NATS_CERT = t.clientCertFile;
      m.env.NATS_KEY = t.clientKeyFile;
    }
  }
  return m;
}

interface NodeSpec {
  name: string;
  bin: string;
  dir: string;
  ports: { client: number; monitor: number; cluster?: number };
  opts: ServerOptions;
  material: ClientMaterial;
  cluster?: { name: string; routes: number[] };
}

/** The whole server config; JSON is valid nats-server config syntax (2.9 and 2.12). */
function buildConfig(n: NodeSpec): Record<string, unknown> {
  const o = n.opts;
  return {
    server_name: n.name,
    listen: `127.0.0.1:${n.ports.client}`,
    http: `127.0.0.1:${n.ports.monitor}`,
    jetstream: {
      store_dir: join(n.dir, "store"),
      ...(o.domain !== undefined && { domain: o.domain }),
      ...(o.maxFileStore !== undefined && { max_file_store: o.maxFileStore }),
      ...(o.maxMemoryStore !== undefined && { max_memory_store: o.maxMemoryStore }),
    },
    ...(n.cluster && {
      cluster: {
        name: n.cluster.name,
        listen: `127.0.0.1:${n.ports.cluster}`,
        routes: n.cluster.routes.map((p) => `nats-route://127.0.0.1:${p}`),
      },
    }),
    ...n.material.config,
    ...o.config,
  };
}

// ---------------------------------------------------------------- server process

const MAX_LOG_CHARS = 2_000_000;

class ServerProcess implements NatsServer {
  readonly name: string;
  readonly url: string;
  readonly port: number;
  readonly monitorPort: number;
  readonly monitorUrl: string;
  readonly clusterPort?: number;
  readonly dir: string;
  readonly storeDir: string;
  readonly configFile: string;
  readonly bin: string;
  readonly version: string;
  readonly clientOptions: ConnectionOptions;
  readonly env: NatsEnv;
  readonly tls?: TlsFiles;
  readonly nkeySeed?: string;
  readonly nkeyFile?: string;
  readonly credsFile?: string;

  private child?: ChildProcess;
  private dog?: ChildProcess;
  private dogHasPid = false;
  private exited?: Promise<void>;
  private out: string[] = [];
  private outLen = 0;
  private stopped = false;
  /** Up and not asked to end (kill, shutdown): an exit now is news. */
  private expectedUp = false;
  private alive = false;
  private readonly readyTimeoutMs: number;
  private readonly conns = new Set<NatsConnection>();
  constructor(spec: NodeSpec) {
    this.name = spec.name;
    this.port = spec.ports.client;
    this.monitorPort = spec.ports.monitor;
    this.clusterPort = spec.ports.cluster;
    this.url = `nats://127.0.0.1:${this.port}`;
    this.monitorUrl = `http://127.0.0.1:${this.monitorPort}`;
    this.dir = spec.dir;
    this.storeDir = join(spec.dir, "store");
    this.configFile = join(spec.dir, "server.conf");
    this.bin = spec.bin;
    this.version = serverVersion(spec.bin);
    const mat = spec.material;
    this.clientOptions = { ...mat.clientOptions, servers: this.url };
    this.env = { NATS_URL: this.url, ...mat.env };
    this.tls = mat.tls;
    this.nkeySeed = mat.nkeySeed;
    this.nkeyFile = mat.nkeyFile;
    this.credsFile = mat.credsFile;
    this.readyTimeoutMs = spec.opts.readyTimeoutMs ?? 10_000;
    writeFileSync(this.configFile, JSON.stringify(buildConfig(spec), null, 2) + "\n");
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.alive;
  }

  logs(): string {
    return this.out.join("");
  }

  private log(chunk: string): void {
    this.out.push(chunk);
    this.outLen += chunk.length;
    while (this.outLen > MAX_LOG_CHARS && this.out.length > 1) this.outLen -= this.out.shift()!.length;
  }

  /** Spawns the process and waits for /healthz; throws with the log tail on failure. */
  async start(): Promise<void> {
    if (this.stopped) throw new Error(`${this.name}: already stopped (dir removed)`);
    if (this.running) return;
    installExitHook();
    live.add(this);
    this.log(`---- harness: starting ${this.bin} -c ${this.configFile}\n`);
    const child = spawn(this.bin, ["-c", this.configFile], { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    this.alive = child.pid !== undefined;
    this.arm(child.pid);
    child.stdout!.setEncoding("utf8").on("data", (d: string) => this.log(d));
    child.stderr!.setEncoding("utf8").on("data", (d: string) => this.log(d));
    this.exited = new Promise<void>((resolve) => {
      child.once("exit", (code, sig) => {
        this.alive = false;
        this.log(`---- harness: process exited (code ${code}, signal ${sig})\n`);
        // A server that dies by itself (a panic) takes every later request's
        // answer with it: say so where the failing test's output shows it.
        if (this.expectedUp && sig === null) process.stderr.write(`harness: nats-server ${this.name} exited by itself (code ${code}); its log ends:\n${tail(this.logs())}\n`);
        if (this.dogHasPid && !this.stopped) this.arm(undefined);
        resolve();
      });
      child.once("error", (e) => {
        this.alive = false;
        this.log(`---- harness: spawn error ${e.message}\n`);
        resolve();
      });
    });
    await this.waitReady();
    this.expectedUp = true;
  }

  private async waitReady(): Promise<void> {
    const deadline = Date.now() + this.readyTimeoutMs;
    // js-enabled-only: ready once JetStream is up, without waiting for a cluster
    // meta leader (clusters wait for that separately). 2.9 accepts the param too.
    const url = `${this.monitorUrl}/healthz?js-enabled-only=true`;
    let last = "";
    while (Date.now() < deadline) {
      if (!this.running) {
        throw new Error(`${this.name} (dir ${this.dir}): nats-server exited during startup\n${tail(this.logs())}`);
      }
      try {
        const r = await getJson(url);
        if (r.status === 200) return;
        last = JSON.stringify(r.body);
      } catch (e) {
        last = (e as Error).message;
      }
      await sleep(50);
    }
    const logs = this.logs();
    await this.killProcess();
    throw new Error(`${this.name} (dir ${this.dir}): not ready after ${this.readyTimeoutMs}ms (last healthz: ${last})\n${tail(logs)}`);
  }

  async connect(extra: Partial<ConnectionOptions> = {}): Promise<NatsConnection> {
    const nc = await natsConnect({ ...this.clientOptions, ...extra });
    this.conns.add(nc);
    nc.closed().then(() => this.conns.delete(nc));
    return nc;
  }

  /** (Re)places the watchdog; `pid` undefined = only remove the dir. */
  private arm(pid: number | undefined): void {
    this.dog?.kill("SIGKILL");
    this.dog = watchdog(pid, this.dir);
    this.dogHasPid = pid !== undefined;
  }

  private async killProcess(): Promise<void> {
    this.expectedUp = false;
    if (this.running) this.child!.kill("SIGKILL");
    await this.exited;
  }

  async kill(): Promise<void> {
    await this.killProcess();
  }

  async shutdown(): Promise<void> {
    this.expectedUp = false;
    if (this.running) {
      this.child!.kill("SIGTERM");
      // Graceful JetStream shutdown is fast; don't let a stuck server hang tests.
      const t = setTimeout(() => this.child?.kill("SIGKILL"), 10_000);
      await this.exited;
      clearTimeout(t);
    }
  }

  async restart(): Promise<void> {
    await this.shutdown();
    await this.start();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all([...this.conns].map((nc) => nc.close().catch(() => undefined)));
    await this.shutdown();
    this.dog?.kill("SIGKILL");
    this.dog = undefined;
    live.delete(this);
    await rm(this.dir, { recursive: true, force: true });
  }

  /** Drops this instance but keeps the dir (startServer's port retry reuses it). */
  async abandon(): Promise<void> {
    this.stopped = true;
    await this.killProcess();
    this.dog?.kill("SIGKILL");
    live.delete(this);
  }

  /** For the process 'exit' hook only. */
  killSync(): void {
    try {
      if (this.running) this.child!.kill("SIGKILL");
      rmSync(this.dir, { recursive: true, force: true });
    } catch {
      /* best effort */
    }
  }
}

// ---------------------------------------------------------------- public API

/** Starts one JetStream-enabled nats-server; `after(() => s.stop())`. */
export async function startServer(opts: ServerOptions = {}): Promise<NatsServer> {
  const bin = opts.bin ?? defaultBin();
  serverVersion(bin); // fail fast, before creating anything
  const dir = await mkdtemp(join(tmpdir(), "kanade-nats-"));
  let material: ClientMaterial;
  try {
    material = await prepareMaterial(opts, dir);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  // Free ports can be grabbed by someone else before the server binds: retry.
  for (let attempt = 1; ; attempt++) {
    const [client, monitor] = await freePorts(2);
    const s = new ServerProcess(
      { name: `kanade-test-${client}`, bin, dir, ports: { client, monitor }, opts, material },
    );
    try {
      await s.start();
      return s;
    } catch (e) {
      const inUse = /address already in use/i.test(s.logs());
      if (!inUse || attempt >= 3) {
        await s.stop();
        throw e;
      }
      await s.abandon();
    }
  }
}

/** Starts a JetStream cluster of `size` nodes on loopback routes. */
export async function startCluster(size = 3, opts: ServerOptions = {}): Promise<NatsCluster> {
  // A cluster formed under heavy load (the suite runs files side by side on two
  // cores) now and then never agrees on a meta leader or never places an R3
  // stream, and one of its nine free ports can be taken (by another test
  // process's server on the same pick) before its node binds it; a fresh
  // cluster on fresh ports does. The test that asked for it is not about that.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startClusterOnce(size, opts);
    } catch (err) {
      const transient = /no agreed JetStream meta leader|no R\d+ placement|address already in use/i;
      if (!transient.test(String(err)) || attempt >= 3) throw err;
    }
  }
}

async function startClusterOnce(size: number, opts: ServerOptions): Promise<NatsCluster> {
  const bin = opts.bin ?? defaultBin();
  serverVersion(bin); // fail fast, before creating anything
  const root = mkdtempSync(join(tmpdir(), "kanade-natsc-"));
  const rootDog = watchdog(undefined, root);
  const servers: ServerProcess[] = [];
  const conns = new Set<NatsConnection>();
  let stopped = false;
  const handle: Stoppable = {
    async stop() {
      if (stopped) return;
      stopped = true;
      await Promise.all([...conns].map((nc) => nc.close().catch(() => undefined)));
      await Promise.all(servers.map((s) => s.stop()));
      rootDog.kill("SIGKILL");
      live.delete(handle);
      await rm(root, { recursive: true, force: true });
    },
    killSync() {
      for (const s of servers) s.killSync();
      rmSync(root, { recursive: true, force: true });
    },
  };
  installExitHook();
  live.add(handle);
  try {
    const shared = join(root, "shared");
    await mkdir(shared);
    const material = await prepareMaterial(opts, shared);
    const ports = await freePorts(size * 3);
    const name = `kanade-${ports[0]}`;
    const routes = Array.from({ length: size }, (_, i) => ports[i * 3 + 2]);
    for (let i = 0; i < size; i++) {
      const dir = join(root, `n${i}`);
      await mkdir(dir);
      servers.push(
        new ServerProcess(
          {
            name: `${name}-n${i}`,
            bin,
            dir,
            ports: { client: ports[i * 3], monitor: ports[i * 3 + 1], cluster: routes[i] },
            opts,
            material,
            cluster: { name, routes: routes.filter((_, j) => j !== i) },
          },
        ),
      );
    }
    await Promise.all(servers.map((s) => s.start()));
    const urls = servers.map((s) => s.url).join(",");
    const cluster: NatsCluster = {
      name,
      servers,
      urls,
      clientOptions: { ...material.clientOptions, servers: servers.map((s) => s.url) },
      env: { NATS_URL: urls, ...material.env },
      async connect(extra = {}) {
        const up = servers.filter((s) => s.running).map((s) => s.url);
        const nc = await natsConnect({ ...material.clientOptions, servers: up, ...extra });
        conns.add(nc);
        nc.closed().then(() => conns.delete(nc));
        return nc;
      },
      stop: () => handle.stop(),
      async stopNode(i) {
        await servers[i].shutdown();
      },
      async startNode(i) {
        await servers[i].start();
        await cluster.waitForMetaLeader();
      },
      // Generous: a bound for hangs on a loaded two-core machine, not a timing.
      waitForMetaLeader: (timeoutMs = 60_000) => waitForMetaLeader(servers, timeoutMs),
    };
    await cluster.waitForMetaLeader();
    await waitForPlacement(cluster, size);
    return cluster;
  } catch (e) {
    await handle.stop();
    throw e;
  }
}

/**
 * Waits until the cluster can place a stream on every node. 2.10 agrees on a
 * meta leader and reports healthy a few ms before the leader has each peer's
 * stats, and refuses an R3 create meanwhile (10005 "no suitable peers for
 * placement"). The probe stream is deleted again; any other refusal (account
 * limits) is not about placement and ends the wait.
 */
async function waitForPlacement(cluster: NatsCluster, replicas: number, timeoutMs = 60_000): Promise<void> {
  const nc = await cluster.connect();
  const name = "KANADE_HARNESS_PLACEMENT";
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        await jsApi(nc, `$JS.API.STREAM.CREATE.${name}`, { name, subjects: ["_kanade.harness.placement"], num_replicas: replicas, storage: "memory", max_bytes: 1024 });
        await jsApi(nc, `$JS.API.STREAM.DELETE.${name}`);
        return;
      } catch (e) {
        if (!(e instanceof JsApiError && e.errCode === 10005)) return;
        if (Date.now() > deadline) throw new Error(`cluster: no R${replicas} placement after ${timeoutMs}ms: ${e.message}`);
        await sleep(100);
      }
    }
  } finally {
    await nc.close();
  }
}

/** Polls /jsz on every running node until all name the same meta leader. */
async function waitForMetaLeader(servers: ServerProcess[], timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    const up = servers.filter((s) => s.running);
    try {
      const leaders = await Promise.all(
        up.map(async (s) => {
          const r = await getJson(`${s.monitorUrl}/jsz`);
          return (r.body as { meta_cluster?: { leader?: string } }).meta_cluster?.leader ?? "";
        }),
      );
      last = JSON.stringify(leaders);
      if (leaders.length > 0 && leaders[0] !== "" && leaders.every((l) => l === leaders[0])) {
        // Leader known everywhere; also wait until every node reports healthy
        // (meta caught up), so the first R3 create doesn't race the election.
        const health = await Promise.all(up.map((s) => getJson(`${s.monitorUrl}/healthz`)));
        if (health.every((h) => h.status === 200)) return leaders[0];
        last += " healthz:" + JSON.stringify(health.map((h) => h.body));
      }
    } catch (e) {
      last = (e as Error).message;
    }
    await sleep(100);
  }
  const logs = servers.map((s) => `== ${s.name}\n${tail(s.logs(), 15)}`).join("\n");
  throw new Error(`cluster: no agreed JetStream meta leader after ${timeoutMs}ms (last: ${last})\n${logs}`);
}

// ---------------------------------------------------------------- domains and accounts

/** A hub and a leaf node server, each with its own JetStream domain, joined by a leafnode connection. */
export interface LeafPair {
  hub: NatsServer;
  leaf: NatsServer;
  hubDomain: string;
  leafDomain: string;
  /** stop both */
  stop(): Promise<void>;
}

/**
 * Starts a hub listening for leaf nodes and a leaf node server connecting to
 * it, both without auth (one global account on each side: the leafnode
 * connection binds the same account) and each with its own JetStream domain
 * (and, with leafBin, the leaf on another server line).
 * The servers deny $JS.API.>, $KV.> and $OBJ.> across a leafnode connection
 * between different domains: the other side's JetStream is reached only as
 * $JS.<domain>.API (and $JS.<domain>.API.$KV.> for KV writes). Ready once
 * each side's JetStream answers through the other's domain prefix.
 */
export async function startLeafPair(opts: { bin?: string; leafBin?: string; hubDomain?: string; leafDomain?: string } = {}): Promise<LeafPair> {
  const hubDomain = opts.hubDomain ?? "hub";
  const leafDomain = opts.leafDomain ?? "leaf";
  const [leafPort] = await freePorts(1);
  const hub = await startServer({ bin: opts.bin, domain: hubDomain, config: { leafnodes: { listen: `127.0.0.1:${leafPort}` } } });
  const leaf = await startServer({
    bin: opts.leafBin ?? opts.bin,
    domain: leafDomain,
    // A short reconnect wait: the remote is tried again 1s after a refusal, not 5s.
    config: { leafnodes: { reconnect: 1, remotes: [{ url: `nats-leaf://127.0.0.1:${leafPort}` }] } },
  }).catch(async (e: unknown) => {
    await hub.stop();
    throw e;
  });
  const stop = async () => void (await Promise.all([hub.stop(), leaf.stop()]));
  try {
    await Promise.all([answersThrough(hub, leafDomain), answersThrough(leaf, hubDomain)]);
  } catch (e) {
    await stop();
    throw e;
  }
  return { hub, leaf, hubDomain, leafDomain, stop };
}

/** Waits until `$JS.<domain>.API.INFO` asked on `server` is answered (the leafnode connection is up and its interest known). */
async function answersThrough(server: NatsServer, domain: string, timeoutMs = 30_000): Promise<void> {
  const nc = await server.connect();
  const deadline = Date.now() + timeoutMs;
  let last = "";
  try {
    for (;;) {
      try {
        await jsApi(nc, `$JS.${domain}.API.INFO`);
        return;
      } catch (e) {
        last = (e as Error).message;
      }
      if (Date.now() > deadline) throw new Error(`leaf pair: ${server.name} got no answer from JetStream domain ${domain} after ${timeoutMs}ms (${last})\n${tail(server.logs(), 15)}`);
      await sleep(100);
    }
  } finally {
    await nc.close();
  }
}

/** One server with two accounts, where B reaches A's JetStream under a prefix of its own. */
export interface TwoAccounts {
  server: NatsServer;
  /** credentials of a user of each account (server.connect(a) / connect(b)) */
  a: { user: string; pass: string };
  b: { user: string; pass: string };
  /** the prefix B imports A's $JS.API.> under (and $KV.> under `<apiPrefix>.$KV.>`) */
  apiPrefix: string;
  /** the subjects A exports to B for source and mirror consumers: `external.deliver` in B's streams */
  deliverPrefix: string;
}

/**
 * Starts a server with two JetStream accounts, A and B, where B imports A's
 * JetStream API as a service under `JS.A.API` (and A's KV writes, `$KV.>`,
 * under `JS.A.API.$KV.>`, as nats.go and nats.js put through an API prefix),
 * and A's `A.DELIVER.>` as a stream: a stream in B may source or mirror one
 * in A with external { api: "JS.A.API", deliver: "A.DELIVER.<name>" }, and a
 * client of B may manage A's streams with the API prefix JS.A.API. As
 * nats-server's TestJetStreamCrossAccountMirrorsAndSources configures it.
 */
export async function startTwoAccounts(opts: { bin?: string } = {}): Promise<TwoAccounts> {
  const a = { user: "a", pass: rand() };
  const b = { user: "b", pass: rand() };
  const apiPrefix = "JS.A.API";
  const deliverPrefix = "A.DELIVER";
  const server = await startServer({
    bin: opts.bin,
    config: {
      accounts: {
        A: {
          jetstream: "enabled",
          users: [{ user: a.user, password: a.pass }],
          exports: [{ service: "$JS.API.>" }, { service: "$KV.>" }, { stream: `${deliverPrefix}.>` }],
        },
        B: {
          jetstream: "enabled",
          users: [{ user: b.user, password: b.pass }],
          imports: [
            { service: { account: "A", subject: "$JS.API.>" }, to: `${apiPrefix}.>` },
            { service: { account: "A", subject: "$KV.>" }, to: `${apiPrefix}.$KV.>` },
            { stream: { account: "A", subject: `${deliverPrefix}.>` } },
          ],
        },
      },
    },
  });
  return { server, a, b, apiPrefix, deliverPrefix };
}

// ---------------------------------------------------------------- reading state back

/** A JetStream API error response ({ error: { code, err_code, description } }). */
export class JsApiError extends Error {
  readonly subject: string;
  readonly code: number;
  readonly errCode: number;
  readonly response: unknown;

  constructor(subject: string, code: number, errCode: number, response: unknown) {
    super(`${subject}: ${code}/${errCode} ${JSON.stringify(response)}`);
    this.subject = subject;
    this.code = code;
    this.errCode = errCode;
    this.response = response;
  }
}

type Target = NatsServer | NatsCluster | NatsConnection;

function isConnection(t: Target): t is NatsConnection {
  return typeof (t as NatsConnection).request === "function";
}

/**
 * Raw JetStream API request, bypassing our providers and nats.js' JSM layer:
 * returns the server's JSON exactly as sent (snake_case). Throws JsApiError on
 * an API error response.
 */
export async function jsApi<T = Record<string, unknown>>(
  target: Target,
  subject: string,
  body: unknown = undefined,
): Promise<T> {
  const nc = isConnection(target) ? target : await target.connect();
  try {
    const payload = body === undefined ? new Uint8Array() : new TextEncoder().encode(JSON.stringify(body));
    const msg = await nc.request(subject, payload, { timeout: 5000 });
    const json = JSON.parse(new TextDecoder().decode(msg.data)) as Record<string, unknown>;
    const err = json.error as { code: number; err_code: number } | undefined;
    if (err) throw new JsApiError(subject, err.code, err.err_code, json);
    return json as T;
  } finally {
    if (!isConnection(target)) await nc.close();
  }
}

/** The stream's config as the server stores it ($JS.API.STREAM.INFO.<name> → .config). */
export async function jsConfig(target: Target, stream: string): Promise<Record<string, unknown>> {
  const info = await jsApi<{ config: Record<string, unknown> }>(target, `$JS.API.STREAM.INFO.${stream}`);
  return info.config;
}

/** A stream's info as the server reports it (the parts tests read). */
export interface StreamInfo {
  config: Record<string, unknown> & { name: string; max_bytes?: number; storage?: string };
  state: { messages: number; bytes: number };
}

/** $JS.API.STREAM.INFO, or undefined when the stream does not exist (10059). */
export async function streamInfo(target: Target, stream: string): Promise<StreamInfo | undefined> {
  try {
    return await jsApi<StreamInfo>(target, `$JS.API.STREAM.INFO.${stream}`);
  } catch (err) {
    if (err instanceof JsApiError && err.errCode === 10059) return undefined;
    throw err;
  }
}

/**
 * A stream config without the server's `_nats.*` metadata keys (they change
 * with the server version), and without metadata when nothing else is left.
 */
export function withoutServerMetadata<T extends Record<string, unknown>>(config: T): T {
  const out: Record<string, unknown> = { ...config };
  const metadata = out.metadata as Record<string, string> | undefined;
  if (metadata) {
    const kept = Object.entries(metadata).filter(([k]) => !k.startsWith("_nats."));
    if (kept.length) out.metadata = Object.fromEntries(kept);
    else delete out.metadata;
  }
  return out as T;
}

// ---------------------------------------------------------------- account limits beyond storage

/**
 * Server config (for `startServer({ config })`) putting credential-less
 * clients in an account APP with these JetStream limits, as the account's
 * `jetstream` block spells them: max_file, max_mem, max_streams,
 * max_consumers, max_bytes_required, store_max_stream_bytes,
 * memory_max_stream_bytes (2.9 and 2.12). `accountLimits` covers storage only.
 */
export function accountJetStream(limits: Record<string, number | boolean>): Record<string, unknown> {
  return { accounts: { APP: { jetstream: limits, users: [{ user: "app", password: rand() }] } }, no_auth_user: "app" };
}

// ---------------------------------------------------------------- server versions

export interface ServerVersion {
  /** major.minor, e.g. "2.12" */
  label: string;
  bin: string;
  /** full version, e.g. "2.12.15" */
  version: string;
}

/**
 * Every server line the integration suites run against, newest first:
 * $NATS_SERVER_CURRENT (or $NATS_SERVER_BIN), $NATS_SERVER_2_11,
 * $NATS_SERVER_2_10 and $NATS_SERVER_LEGACY (scripts/env.sh), deduplicated.
 * Set KANADE_SERVER_VERSIONS="2.12" or "2.9,2.12" to restrict; asking for a
 * line that isn't available is an error rather than a silent skip.
 */
export function bothServerVersions(): ServerVersion[] {
  const env = process.env;
  return serverLines({
    NATS_SERVER_CURRENT: env.NATS_SERVER_CURRENT || env.NATS_SERVER_BIN,
    NATS_SERVER_2_11: env.NATS_SERVER_2_11,
    NATS_SERVER_2_10: env.NATS_SERVER_2_10,
    NATS_SERVER_LEGACY: env.NATS_SERVER_LEGACY,
  });
}

/** The newest of the integration suites' lines (KANADE_SERVER_VERSIONS lists them in any order). */
export function newestServerVersion(): ServerVersion {
  const newer = (a: ServerVersion, b: ServerVersion) => (b.version.localeCompare(a.version, undefined, { numeric: true }) > 0 ? b : a);
  return bothServerVersions().reduce(newer);
}

/**
 * The lines the e2e suites run against: the current one and 2.9, the oldest
 * supported. Each e2e scenario runs whole Pulumi programs, so every line
 * costs minutes; the provider-level differences between lines are the
 * integration suites' to cover. KANADE_SERVER_VERSIONS narrows as above.
 */
export function e2eServerVersions(): ServerVersion[] {
  return serverLines({ NATS_SERVER_CURRENT: process.env.NATS_SERVER_CURRENT || process.env.NATS_SERVER_BIN, NATS_SERVER_LEGACY: process.env.NATS_SERVER_LEGACY });
}

/** The lines of these binaries (by the variable naming each); under CI without KANADE_SERVER_VERSIONS, every one must be there. */
function serverLines(candidates: Record<string, string | undefined>): ServerVersion[] {
  const wanted = process.env.KANADE_SERVER_VERSIONS?.split(",").map((s) => s.trim()).filter(Boolean);
  const absent = Object.entries(candidates).filter(([, b]) => !b || !existsSync(b)).map(([name, b]) => `${name} (${b ?? "unset"})`);
  // Locally a line not built yet narrows the suites; CI must run every line.
  if (process.env.CI && !wanted && absent.length) throw new Error(`nats-server lines missing under CI: ${absent.join(", ")}; run scripts/setup.sh`);
  const bins = Object.values(candidates).filter((b): b is string => !!b && existsSync(b));
  const all: ServerVersion[] = [];
  for (const bin of new Set(bins)) {
    const version = serverVersion(bin);
    const label = version.split(".").slice(0, 2).join(".");
    if (!all.some((v) => v.label === label)) all.push({ label, bin, version });
  }
  if (!wanted) {
    if (all.length === 0) throw new Error("no nats-server found: source scripts/env.sh (NATS_SERVER_CURRENT/LEGACY)");
    return all;
  }
  return wanted.map((w) => {
    const v = all.find((x) => x.label === w);
    if (!v) throw new Error(`KANADE_SERVER_VERSIONS wants ${w}, available: ${all.map((x) => x.label).join(", ") || "none"}`);
    return v;
  });
}

// ---------------------------------------------------------------- frozen brokers

/** A port that accepts TCP connections and never writes a byte: a broker frozen before its INFO. */
export interface SilentListener {
  port: number;
  /** nats://127.0.0.1:<port> */
  url: string;
  /** connections accepted so far */
  accepted(): number;
  /** stop listening and drop every accepted connection */
  close(): Promise<void>;
}

export async function silentListener(): Promise<SilentListener> {
  const sockets = new Set<import("node:net").Socket>();
  let accepted = 0;
  const srv = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (srv.address() as AddressInfo).port;
  return {
    port,
    url: `nats://127.0.0.1:${port}`,
    accepted: () => accepted,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => srv.close(r));
    },
  };
}

/**
 * Freezes a running server with SIGSTOP (`kill -STOP`): the kernel still
 * accepts TCP connections on its ports, the server answers nothing. Call
 * resumeServer before stop(): a stopped process only ends by SIGKILL.
 */
export function pauseServer(server: NatsServer): void {
  if (!server.running || server.pid === undefined) throw new Error(`${server.name} is not running`);
  process.kill(server.pid, "SIGSTOP");
}

/** SIGCONT: the paused server carries on (or handles a pending SIGTERM). */
export function resumeServer(server: NatsServer): void {
  if (server.running && server.pid !== undefined) process.kill(server.pid, "SIGCONT");
}
