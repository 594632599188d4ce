// `npm run bench` (scripts/bench.sh builds, then runs this): times `pulumi
// preview` with no changes, `pulumi up` from empty and `pulumi up` with no
// changes, side by side and interleaved, for
//   - empty      an empty Pulumi program on the same backend (the engine's floor)
//   - natsjs     a plain nats.js script creating/reading the same 24 streams (the broker's floor)
//   - fleet      the kanade fleet (24 resources), the real project at the repo root
//   - synthetic  N plain streams through the same provider, N in BENCH_SIZES
//   - nocheckpoints  a diagnostic: synthetic `up` from empty with
//                PULUMI_SKIP_CHECKPOINTS=true, to show what the file backend's
//                per-step state writes cost
// with BENCH_REPS repetitions. Every scenario and repetition gets a fresh
// nats-server and a fresh file backend (test/harness). Each run also records
// the broker connections it opened (/connz), its provider processes and their
// peak memory, and, after the last run, the size of the Pulumi state.
//
// Writes bench/results/raw/<stamp>/results.json (+ every CLI output under
// logs/), then the report (bench/report.ts): bench/results/report.md and
// bench/results/summary.json, which bench/chart.py turns into chart.png.
//
// Env: BENCH_REPS (3), BENCH_SIZES (24,100,500,1000), BENCH_LARGE_REPS (1)
// repetitions for synthetic fleets over BENCH_LARGE (100) resources,
// BENCH_ONLY (comma list of empty,natsjs,fleet,synthetic,nocheckpoints), BENCH_RESULTS
// (bench/results).
import { execFile, execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { type NatsServer, serverVersion, startServer } from "../test/harness/nats.ts";
import { PulumiWorkspace, REPO_ROOT } from "../test/harness/pulumi.ts";
import { parseStackConfig } from "../fleet/config.ts";
import { desiredFleet } from "../fleet/fleet.ts";
import { writeReport } from "./report.ts";

export type Op = "preview" | "upEmpty" | "upNoop";
export type Kind = "empty" | "natsjs" | "fleet" | "synthetic" | "nocheckpoints";

export const OPS: { op: Op; label: string; args: string[] }[] = [
    // Order matters: from empty, then the two no-change runs against that state.
    { op: "upEmpty", label: "pulumi up from empty", args: ["up", "--yes"] },
    { op: "preview", label: "pulumi preview, no changes", args: ["preview", "--expect-no-changes"] },
    { op: "upNoop", label: "pulumi up, no changes", args: ["up", "--yes", "--expect-no-changes"] },
];

export interface Connection {
    cid: number;
    name: string;
    lang: string;
    /** the client's port, as the server sees it */
    port: number;
    /** which process of the run opened it (matched by port through the probe) */
    owner: "program" | "provider" | "other" | "unknown";
    pid?: number;
}

export interface ProviderProcess {
    pid: number;
    /** peak resident set size, from /usr/bin/time in the plugin wrapper */
    maxRssKiB: number;
    /** wall time the process lived */
    seconds: number;
    /** user + system CPU seconds */
    cpu: number;
    /** broker connections this process opened */
    brokerConnections: number;
}

/** One Node.js process of a run, in ms from the moment the CLI was started. */
export interface ProcessSpan {
    role: "program" | "provider";
    pid: number;
    start: number;
    /** until it exited (NaN when unknown) */
    end: number;
    /** when it connected to the broker, if it did */
    broker: number[];
    /** user + system CPU seconds (NaN when unknown) */
    cpu: number;
}

export interface RunRecord {
    scenario: string;
    kind: Kind;
    /** resources declared (streams, KV buckets, object stores); 0 for the empty program */
    size: number;
    rep: number;
    op: Op;
    /** wall time of the whole command, process start to exit */
    ms: number;
    /** for the nats.js floor: the script's own time, without Node.js start-up */
    inProcessMs?: number;
    /** 1-minute load average when the run started */
    load1: number;
    connections: Connection[];
    providers: ProviderProcess[];
    /** Node.js processes running the Pulumi program */
    programRuns: number;
    programMaxRssKiB: number[];
    /** the program and provider processes, in ms from the start of the run */
    timeline: ProcessSpan[];
    log: string;
}

export interface StateRecord {
    scenario: string;
    kind: Kind;
    size: number;
    rep: number;
    /** the stack's checkpoint file on the backend, as stored (compact JSON) */
    checkpointBytes: number;
    /** `pulumi stack export` output (indented) */
    exportBytes: number;
    resources: number;
    dynamicResources: number;
    /** mean compact-JSON size of one dynamic resource's state entry, and its parts */
    dynamic: { total: number; inputs: number; outputs: number; provenance: number; other: number };
}

export interface MicroRecord {
    name: string;
    ms: number[];
}

export interface Results {
    started: string;
    finished?: string;
    reps: number;
    /** synthetic fleets larger than `above` ran `reps` repetitions */
    large?: { above: number; reps: number };
    sizes: number[];
    environment: Record<string, string>;
    load: { start: number[]; end?: number[] };
    runs: RunRecord[];
    states: StateRecord[];
    micro: MicroRecord[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function intList(text: string | undefined, fallback: number[]): number[] {
    if (!text?.trim()) return fallback;
    const list = text.split(",").map((s) => Number(s.trim()));
    if (list.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`not a list of positive integers: ${text}`);
    return list;
}

function commandOutput(cmd: string, args: string[]): string {
    try {
        return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    } catch {
        return "unknown";
    }
}

function packageVersion(name: string): string {
    try {
        return (JSON.parse(readFileSync(path.join(REPO_ROOT, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
    } catch {
        return "unknown";
    }
}

function environment(natsBin: string): Record<string, string> {
    const cpus = os.cpus();
    return {
        machine: `${os.hostname()}: ${cpus[0]?.model ?? "unknown CPU"}, ${cpus.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
        os: `${os.type()} ${os.release()} ${os.arch()}`,
        node: process.version,
        pulumi: commandOutput("pulumi", ["version"]),
        natsServer: `v${serverVersion(natsBin)}`,
        pulumiSdk: packageVersion("@pulumi/pulumi"),
        natsJs: packageVersion("nats"),
    };
}

/** Every client connection the server has seen (open and closed), by cid. */
async function connections(server: NatsServer): Promise<Connection[]> {
    const res = await fetch(`${server.monitorUrl}/connz?state=all&limit=100000`, { signal: AbortSignal.timeout(5000) });
    const body = (await res.json()) as { connections?: { cid: number; name?: string; lang?: string; port?: number }[] };
    return (body.connections ?? []).map((c) => ({ cid: c.cid, name: c.name ?? "", lang: c.lang ?? "", port: c.port ?? 0, owner: "unknown" }));
}

/**
 * A dir to put first on PATH for Pulumi runs: a pulumi-resource-pulumi-nodejs
 * that runs the real plugin under /usr/bin/time, writing the process's peak
 * RSS and lifetime into the run's probe dir. The engine prefers plugins on
 * PATH (it prints a warning saying so, once per run).
 */
function pluginWrapper(root: string): string {
    const real = path.join(path.dirname(commandOutput("sh", ["-c", "command -v pulumi"])), "pulumi-resource-pulumi-nodejs");
    if (!existsSync(real)) throw new Error(`no dynamic-provider plugin next to pulumi (${real}): run npm run setup`);
    if (!existsSync("/usr/bin/time")) throw new Error("/usr/bin/time is missing (Debian package: time)");
    const dir = path.join(root, "plugin-wrapper");
    mkdirSync(dir, { recursive: true });
    const wrapper = path.join(dir, "pulumi-resource-pulumi-nodejs");
    writeFileSync(
        wrapper,
        [
            "#!/bin/sh",
            "# Written by bench/run.ts: the real dynamic-provider plugin under /usr/bin/time.",
            'out="${KANADE_BENCH_PROBE_DIR:-/tmp}/provider-$$.time"',
            `exec /usr/bin/time -f "%M %e %U %S" -o "$out" ${JSON.stringify(real)} "$@"`,
            "",
        ].join("\n"),
    );
    chmodSync(wrapper, 0o755);
    return dir;
}

interface Probes {
    providers: ProviderProcess[];
    programRuns: number;
    programMaxRssKiB: number[];
    timeline: ProcessSpan[];
}

interface NodeProbe {
    pid: number;
    ppid?: number;
    role: "program" | "provider" | "other";
    started: number;
    exited?: number;
    sockets: { local: number; remote: number; at: number }[];
    maxRssKiB?: number;
    cpuSeconds?: number;
}

/**
 * What the probes and the plugin wrapper left in a run's dir; also marks
 * which process opened each of `opened` (connections to `brokerPort`).
 */
function readProbes(dir: string, opened: Connection[], brokerPort: number | undefined, runStarted: number): Probes {
    const nodes: NodeProbe[] = [];
    const times = new Map<number, { maxRssKiB: number; seconds: number; cpu: number }>();
    for (const f of readdirSync(dir)) {
        const text = readFileSync(path.join(dir, f), "utf8");
        const time = /^provider-(\d+)\.time$/.exec(f);
        if (time) {
            // "<maxrss KiB> <elapsed s> <user s> <system s>", after a "Command terminated by signal" line when killed.
            const m = /(\d+) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?)\s*$/.exec(text);
            if (m) times.set(Number(time[1]), { maxRssKiB: Number(m[1]), seconds: Number(m[2]), cpu: Number(m[3]) + Number(m[4]) });
        } else if (f.startsWith("node-")) {
            nodes.push(JSON.parse(text) as NodeProbe);
        }
    }
    for (const c of opened) {
        const owner = nodes.find((n) => n.sockets.some((s) => s.local === c.port && s.remote === brokerPort));
        if (owner) Object.assign(c, { owner: owner.role, pid: owner.pid });
    }
    const providers = nodes.filter((n) => n.role === "provider").map((n): ProviderProcess => {
        // The wrapper's /usr/bin/time is the provider's parent.
        const t = n.ppid !== undefined ? times.get(n.ppid) : undefined;
        return { pid: n.pid, maxRssKiB: t?.maxRssKiB ?? NaN, seconds: t?.seconds ?? NaN, cpu: t?.cpu ?? NaN, brokerConnections: opened.filter((c) => c.pid === n.pid).length };
    });
    const programs = nodes.filter((n) => n.role === "program");
    const timeline = nodes
        .filter((n): n is NodeProbe & { role: "program" | "provider" } => n.role !== "other")
        .map((n): ProcessSpan => {
            const time = n.role === "provider" && n.ppid !== undefined ? times.get(n.ppid) : undefined;
            const lived = time?.seconds;
            const end = n.exited ?? (lived !== undefined ? n.started + lived * 1000 : NaN);
            return {
                role: n.role, pid: n.pid, start: n.started - runStarted, end: end - runStarted,
                broker: n.sockets.filter((s) => s.remote === brokerPort).map((s) => s.at - runStarted),
                cpu: n.role === "provider" ? (time?.cpu ?? NaN) : (n.cpuSeconds ?? NaN),
            };
        })
        .sort((a, b) => a.start - b.start);
    return {
        providers,
        programRuns: programs.length,
        programMaxRssKiB: programs.filter((p) => p.maxRssKiB).map((p) => p.maxRssKiB!),
        timeline,
    };
}

function stateRecord(base: Pick<StateRecord, "scenario" | "kind" | "size" | "rep">, ws: PulumiWorkspace, exported: string): StateRecord {
    const checkpoint = findFile(path.join(ws.dir, "state", ".pulumi", "stacks"), `${ws.stack}.json`);
    const resources = (JSON.parse(exported) as { deployment: { resources?: Record<string, unknown>[] } }).deployment.resources ?? [];
    const dynamic = resources.filter((r) => String(r.type).startsWith("pulumi-nodejs:dynamic/"));
    const size = (v: unknown) => (v === undefined ? 0 : Buffer.byteLength(JSON.stringify(v)));
    const mean = (f: (r: Record<string, unknown>) => number) => (dynamic.length ? dynamic.reduce((s, r) => s + f(r), 0) / dynamic.length : 0);
    const total = mean((r) => size(r));
    const inputs = mean((r) => size(r.inputs));
    const outputs = mean((r) => size(r.outputs));
    const provenance = mean((r) => size(r.sourcePosition) + size(r.stackTrace));
    return {
        ...base,
        checkpointBytes: checkpoint ? statSync(checkpoint).size : 0,
        exportBytes: Buffer.byteLength(exported),
        resources: resources.length,
        dynamicResources: dynamic.length,
        dynamic: { total, inputs, outputs, provenance, other: total - inputs - outputs - provenance },
    };
}

function findFile(dir: string, name: string): string | undefined {
    if (!existsSync(dir)) return undefined;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) {
            const found = findFile(full, name);
            if (found) return found;
        } else if (entry.name === name) {
            return full;
        }
    }
    return undefined;
}

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
    const t0 = performance.now();
    return new Promise((resolve) => {
        execFile(cmd, args, { ...opts, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
            const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
            resolve({ code, stdout, stderr, ms: performance.now() - t0 });
        });
    });
}

interface Scenario {
    name: string;
    kind: Kind;
    size: number;
    reps: number;
}

class Bench {
    readonly results: Results;
    private readonly logs: string;
    private readonly probes: string;
    private readonly wrapperDir: string;
    private readonly fleetConfigs: string;

    readonly raw: string;
    readonly resultsDir: string;
    private readonly only: Set<Kind>;
    private readonly large: { above: number; reps: number };

    constructor(raw: string, resultsDir: string, reps: number, sizes: number[], only: Set<Kind>, large: { above: number; reps: number }) {
        this.raw = raw;
        this.resultsDir = resultsDir;
        this.only = only;
        this.large = large;
        this.logs = path.join(raw, "logs");
        this.probes = path.join(raw, "probes");
        mkdirSync(this.logs, { recursive: true });
        mkdirSync(this.probes, { recursive: true });
        this.wrapperDir = pluginWrapper(raw);
        // The nats.js floor creates exactly the backing streams the fleet's providers would.
        this.fleetConfigs = path.join(raw, "fleet-configs.json");
        writeFileSync(this.fleetConfigs, JSON.stringify(desiredFleet(parseStackConfig(fleetConfig("nats://unused"))).map((e) => e.config), null, 1));
        const natsBin = process.env.NATS_SERVER_BIN || "nats-server";
        this.results = {
            started: new Date().toISOString(),
            reps,
            large,
            sizes,
            environment: environment(natsBin),
            load: { start: os.loadavg() },
            runs: [],
            states: [],
            micro: [],
        };
    }

    scenarios(): Scenario[] {
        const reps = this.results.reps;
        const all: Scenario[] = [
            { name: "empty", kind: "empty", size: 0, reps },
            { name: "natsjs", kind: "natsjs", size: 24, reps },
            { name: "fleet", kind: "fleet", size: 24, reps },
            ...(["synthetic", "nocheckpoints"] as const).flatMap((kind) => this.results.sizes.map((n): Scenario => ({
                name: `${kind}-${n}`, kind, size: n, reps: n > this.large.above ? Math.min(reps, this.large.reps) : reps,
            }))),
        ];
        return all.filter((s) => this.only.has(s.kind));
    }

    save(): void {
        writeFileSync(path.join(this.raw, "results.json"), JSON.stringify(this.results, null, 1));
    }

    private probeDir(id: string): string {
        const dir = path.join(this.probes, id);
        mkdirSync(dir, { recursive: true });
        return dir;
    }

    private async pulumiScenario(s: Scenario, rep: number): Promise<void> {
        const server = s.kind === "empty" ? undefined : await startServer();
        let ws: PulumiWorkspace | undefined;
        try {
            const synthetic = s.kind === "synthetic" || s.kind === "nocheckpoints";
            const project = s.kind === "fleet" ? REPO_ROOT : path.join(REPO_ROOT, "bench", "projects", synthetic ? "synthetic" : s.kind);
            ws = await PulumiWorkspace.create(project, "bench", {
                PATH: `${this.wrapperDir}:${process.env.PATH}`,
                NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --import ${path.join(import.meta.dirname, "probe.ts")}`.trim(),
                // The diagnostic: the engine writes the state once at the end instead of after every step.
                ...(s.kind === "nocheckpoints" && { PULUMI_SKIP_CHECKPOINTS: "true" }),
            });
            if (s.kind === "fleet") {
                await ws.setConfig("kanade-jetstream:servers", server!.url);
                await ws.setConfig("kanade-jetstream:monitorUrls[0]", server!.monitorUrl, { path: true });
                await ws.setConfig("kanade-jetstream:sizeScale", "0.01");
            } else if (synthetic) {
                await ws.setConfig("servers", server!.url);
                await ws.setConfig("count", String(s.size));
            }
            const seen = new Set(server ? (await connections(server)).map((c) => c.cid) : []);
            for (const { op, args } of OPS.filter((o) => s.kind !== "nocheckpoints" || o.op === "upEmpty")) {
                const id = `${s.name}-r${rep}-${op}`;
                const probeDir = this.probeDir(id);
                const load1 = os.loadavg()[0];
                const started = Date.now();
                const t0 = performance.now();
                const r = await ws.run(args, { KANADE_BENCH_PROBE_DIR: probeDir });
                const ms = performance.now() - t0;
                const log = path.join(this.logs, `${id}.txt`);
                writeFileSync(log, r.output);
                if (r.code !== 0) throw new Error(`${id}: pulumi exited ${r.code}; output in ${log}:\n${r.output.split("\n").slice(-30).join("\n")}`);
                // Provider processes may still be writing their /usr/bin/time line.
                await sleep(200);
                const opened = server ? (await connections(server)).filter((c) => !seen.has(c.cid)) : [];
                opened.forEach((c) => seen.add(c.cid));
                const probes = readProbes(probeDir, opened, server?.port, started);
                this.results.runs.push({ scenario: s.name, kind: s.kind, size: s.size, rep, op, ms, load1, connections: opened, ...probes, log: path.relative(this.raw, log) });
            }
            if (s.kind !== "nocheckpoints") {
                const exported = await ws.exportState();
                this.results.states.push(stateRecord({ scenario: s.name, kind: s.kind, size: s.size, rep }, ws, exported.text));
            }
        } finally {
            await ws?.dispose();
            await server?.stop();
        }
    }

    private async natsjsScenario(s: Scenario, rep: number): Promise<void> {
        const server = await startServer();
        try {
            const seen = new Set((await connections(server)).map((c) => c.cid));
            const script = path.join(import.meta.dirname, "floor.ts");
            for (const { op } of OPS) {
                const id = `${s.name}-r${rep}-${op}`;
                const load1 = os.loadavg()[0];
                const r = await run(process.execPath, [script, op === "upEmpty" ? "create" : "check", server.url, this.fleetConfigs], { cwd: REPO_ROOT });
                const log = path.join(this.logs, `${id}.txt`);
                writeFileSync(log, r.stdout + r.stderr);
                if (r.code !== 0) throw new Error(`${id}: floor.ts exited ${r.code}:\n${r.stderr}`);
                const out = JSON.parse(r.stdout) as { differences: number; differing: string[]; ms: number; streams: number };
                if (out.differences !== 0) throw new Error(`${id}: the broker's streams differ from the fleet's configs in ${out.differences} field(s): ${out.differing.join("; ")}`);
                const opened = (await connections(server)).filter((c) => !seen.has(c.cid));
                opened.forEach((c) => Object.assign(seen.add(c.cid) && c, { owner: "other" }));
                this.results.runs.push({
                    scenario: s.name, kind: s.kind, size: s.size, rep, op, ms: r.ms, inProcessMs: out.ms, load1,
                    connections: opened, providers: [], programRuns: 0, programMaxRssKiB: [], timeline: [], log: path.relative(this.raw, log),
                });
            }
        } finally {
            await server.stop();
        }
    }

    /** Fixed costs every Node.js process of a run pays, to explain the totals. */
    private async micro(): Promise<void> {
        const cases: [string, string][] = [
            ["node start-up (node -e 0)", "0"],
            ["load nats.js", "require('nats')"],
            ["load @pulumi/pulumi", "require('@pulumi/pulumi')"],
            ["load the kanade Stream provider", "require('./providers/stream.ts')"],
        ];
        for (const [name, code] of cases) {
            let record = this.results.micro.find((m) => m.name === name);
            if (!record) this.results.micro.push((record = { name, ms: [] }));
            const r = await run(process.execPath, ["-e", code], { cwd: REPO_ROOT });
            if (r.code !== 0) throw new Error(`${name}: ${r.stderr}`);
            record.ms.push(r.ms);
        }
    }

    async all(): Promise<void> {
        const scenarios = this.scenarios();
        const total = scenarios.reduce((n, s) => n + s.reps, 0);
        let done = 0;
        for (let rep = 1; rep <= this.results.reps; rep++) {
            // Rotate the order each repetition, so slow drift (other load,
            // a warming page cache) does not always hit the same scenario.
            const shift = (rep - 1) % scenarios.length;
            const order = [...scenarios.slice(shift), ...scenarios.slice(0, shift)].filter((s) => rep <= s.reps);
            await this.micro();
            for (const s of order) {
                const t0 = Date.now();
                if (s.kind === "natsjs") await this.natsjsScenario(s, rep);
                else await this.pulumiScenario(s, rep);
                done++;
                const mine = this.results.runs.filter((r) => r.scenario === s.name && r.rep === rep);
                log(`[${done}/${total}] rep ${rep} ${s.name}: ${mine.map((r) => `${r.op} ${(r.ms / 1000).toFixed(2)}s`).join(", ")} (${((Date.now() - t0) / 1000).toFixed(0)}s in all)`);
                this.save();
            }
        }
        this.results.finished = new Date().toISOString();
        this.results.load.end = os.loadavg();
        this.save();
    }
}

/** The kanade stack config the benchmark uses: 1% of production sizes, as the dev stack. */
export function fleetConfig(servers: string): Record<string, string> {
    return { "kanade-jetstream:servers": servers, "kanade-jetstream:sizeScale": "0.01" };
}

function log(line: string): void {
    process.stdout.write(`${line}\n`);
}

async function main(): Promise<void> {
    const reps = intList(process.env.BENCH_REPS, [3])[0];
    const sizes = intList(process.env.BENCH_SIZES, [24, 100, 500, 1000]);
    // Large synthetic fleets take minutes a run: fewer repetitions by default.
    const large = { above: intList(process.env.BENCH_LARGE, [100])[0], reps: intList(process.env.BENCH_LARGE_REPS, [1])[0] };
    const kinds: Kind[] = ["empty", "natsjs", "fleet", "synthetic", "nocheckpoints"];
    const only = new Set((process.env.BENCH_ONLY?.split(",").map((s) => s.trim()).filter(Boolean) ?? kinds) as Kind[]);
    for (const k of only) if (!kinds.includes(k)) throw new Error(`BENCH_ONLY: unknown scenario ${k} (known: ${kinds.join(", ")})`);
    const resultsDir = path.resolve(process.env.BENCH_RESULTS || path.join(REPO_ROOT, "bench", "results"));
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    const raw = path.join(resultsDir, "raw", stamp);
    const bench = new Bench(raw, resultsDir, reps, sizes, only, large);
    log(`bench: ${reps} repetition(s) (${Math.min(reps, large.reps)} for synthetic fleets over ${large.above}), synthetic sizes ${sizes.join(", ")}, scenarios ${[...only].join(", ")}; raw data in ${path.relative(REPO_ROOT, raw)}`);
    try {
        await bench.all();
    } finally {
        bench.save();
    }
    const report = writeReport(bench.results, resultsDir, path.relative(resultsDir, raw));
    log(`bench: wrote ${path.relative(REPO_ROOT, report.markdown)} and ${path.relative(REPO_ROOT, report.summary)}`);
}

if (import.meta.main) {
    main().catch((err: unknown) => {
        process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
    });
}
