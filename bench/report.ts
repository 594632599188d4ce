// Turns the benchmark's raw results (bench/run.ts) into the markdown report
// and the summary the chart is drawn from (bench/chart.py):
//   bench/results/report.md, bench/results/summary.json
// Re-render an earlier run with: node bench/report.ts bench/results/raw/<stamp>/results.json
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Kind, MicroRecord, Op, ProcessSpan, Results, RunRecord, StateRecord } from "./run.ts";

const OP_LABEL: Record<Op, string> = {
    preview: "preview, no changes",
    upEmpty: "up from empty",
    upNoop: "up, no changes",
};
const OP_ORDER: Op[] = ["preview", "upEmpty", "upNoop"];
const SCENARIO_LABEL: Record<Kind, string> = {
    empty: "empty Pulumi program (engine's floor)",
    natsjs: "plain nats.js script, 24 streams (broker's floor)",
    fleet: "kanade fleet, 24 resources",
    synthetic: "synthetic fleet",
    nocheckpoints: "synthetic fleet, PULUMI_SKIP_CHECKPOINTS=true",
};

function scenarioName(x: { kind: Kind; size: number; scenario: string }): string {
    if (x.kind === "synthetic") return `synthetic, ${x.size}`;
    if (x.kind === "nocheckpoints") return `synthetic, ${x.size}, no checkpoints`;
    return x.scenario;
}

export interface Stats {
    n: number;
    median: number;
    min: number;
    max: number;
    /** (max - min) / median, in percent */
    spreadPct: number;
}

export function stats(xs: number[]): Stats {
    const s = [...xs].sort((a, b) => a - b);
    const n = s.length;
    if (n === 0) return { n: 0, median: NaN, min: NaN, max: NaN, spreadPct: NaN };
    const median = n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    return { n, median, min: s[0], max: s[n - 1], spreadPct: median ? ((s[n - 1] - s[0]) / median) * 100 : 0 };
}

export interface Fit {
    slope: number;
    intercept: number;
    r2: number;
    points: number;
}

/** Least-squares line through (x, y). */
export function linearFit(points: [number, number][]): Fit {
    const n = points.length;
    if (n < 2) return { slope: NaN, intercept: NaN, r2: NaN, points: n };
    const mx = points.reduce((a, [x]) => a + x, 0) / n;
    const my = points.reduce((a, [, y]) => a + y, 0) / n;
    const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
    const sxy = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
    const syy = points.reduce((a, [, y]) => a + (y - my) ** 2, 0);
    if (sxx === 0) return { slope: NaN, intercept: NaN, r2: NaN, points: n };
    const slope = sxy / sxx;
    return { slope, intercept: my - slope * mx, r2: syy ? (sxy * sxy) / (sxx * syy) : 1, points: n };
}

export interface Timing extends Stats {
    scenario: string;
    kind: Kind;
    size: number;
    op: Op;
    samples: number[];
    /** nats.js floor only: the script's own time, without Node.js start-up */
    inProcess?: Stats;
}

export interface ConnectionRow {
    scenario: string;
    kind: Kind;
    size: number;
    op: Op;
    /** per run: client connections opened, and by whom */
    opened: number[];
    byProgram: number[];
    byProviders: number[];
    /** opened by a process the probes do not know (should be none but the nats.js script's) */
    byOthers: number[];
    providerProcesses: number[];
    /** provider processes that opened a broker connection at all */
    providersConnected: number[];
    /** the most connections any one provider process opened */
    maxPerProvider: number[];
    programRuns: number[];
}

export interface Target {
    name: string;
    target: string;
    measured: string;
    pass: boolean;
    /** how far off, when missed */
    by?: string;
    why?: string;
}

export interface Summary {
    started: string;
    finished?: string;
    reps: number;
    large?: Results["large"];
    sizes: number[];
    environment: Record<string, string>;
    load: Results["load"];
    /** 1-minute load average at the start of every run */
    load1?: number[];
    timings: Timing[];
    slopes: Partial<Record<Op, Fit>>;
    /** the diagnostic: up from empty with PULUMI_SKIP_CHECKPOINTS=true */
    noCheckpointsSlope?: Fit;
    /** cost per extra resource between consecutive synthetic sizes, ms, by op */
    segments: { from: number; to: number; ms: Partial<Record<Op, number>>; noCheckpoints?: number }[];
    connections: ConnectionRow[];
    memory: { scenario: string; kind: Kind; size: number; providerPeakMiB: Stats; programPeakMiB: Stats; providerSeconds: Stats }[];
    state: (StateRecord & { perResource: number })[];
    stateSlope: Fit;
    micro: (Stats & { name: string })[];
    /** the process timeline of the median run of some scenarios */
    timelines: { scenario: string; kind: Kind; size: number; op: Op; ms: number; spans: ProcessSpan[] }[];
    targets: Target[];
}

const MiB = 1024;

function group<T>(xs: T[], key: (x: T) => string): Map<string, T[]> {
    const m = new Map<string, T[]>();
    for (const x of xs) {
        const k = key(x);
        m.set(k, [...(m.get(k) ?? []), x]);
    }
    return m;
}

function scenarioOrder(a: { kind: Kind; size: number }, b: { kind: Kind; size: number }): number {
    const order: Kind[] = ["empty", "natsjs", "fleet", "synthetic", "nocheckpoints"];
    return order.indexOf(a.kind) - order.indexOf(b.kind) || a.size - b.size;
}

const maxPerProvider = (r: RunRecord) => Math.max(0, ...r.providers.map((p) => p.brokerConnections));

export function summarise(results: Results): Summary {
    const runs = results.runs;
    const timings: Timing[] = [...group(runs, (r) => `${r.scenario}|${r.op}`).values()]
        .map((rs): Timing => {
            const inProcess = rs.filter((r) => r.inProcessMs !== undefined).map((r) => r.inProcessMs!);
            return {
                scenario: rs[0].scenario, kind: rs[0].kind, size: rs[0].size, op: rs[0].op, samples: rs.map((r) => r.ms), ...stats(rs.map((r) => r.ms)),
                ...(inProcess.length && { inProcess: stats(inProcess) }),
            };
        })
        .sort((a, b) => scenarioOrder(a, b) || OP_ORDER.indexOf(a.op) - OP_ORDER.indexOf(b.op));

    const slopes: Partial<Record<Op, Fit>> = {};
    for (const op of OP_ORDER) {
        const pts = timings.filter((t) => t.kind === "synthetic" && t.op === op).map((t): [number, number] => [t.size, t.median]);
        if (pts.length >= 2) slopes[op] = linearFit(pts);
    }
    const noCheckpoints = timings.filter((t) => t.kind === "nocheckpoints" && t.op === "upEmpty");
    const noCheckpointsSlope = noCheckpoints.length >= 2 ? linearFit(noCheckpoints.map((t): [number, number] => [t.size, t.median])) : undefined;
    const sizes = [...results.sizes].sort((a, b) => a - b);
    const median = (kind: Kind, size: number, op: Op) => timings.find((t) => t.kind === kind && t.size === size && t.op === op)?.median ?? NaN;
    const segments = sizes.slice(1).map((to, i) => {
        const from = sizes[i];
        const per = (kind: Kind, op: Op) => (median(kind, to, op) - median(kind, from, op)) / (to - from);
        const ms = Object.fromEntries(OP_ORDER.map((op) => [op, per("synthetic", op)]).filter(([, v]) => Number.isFinite(v)));
        const nc = per("nocheckpoints", "upEmpty");
        return { from, to, ms, ...(Number.isFinite(nc) && { noCheckpoints: nc }) };
    });

    const connections: ConnectionRow[] = [...group(runs.filter((r) => r.kind !== "empty" && r.kind !== "nocheckpoints"), (r) => `${r.scenario}|${r.op}`).values()]
        .map((rs) => ({
            scenario: rs[0].scenario, kind: rs[0].kind, size: rs[0].size, op: rs[0].op,
            opened: rs.map((r) => r.connections.length),
            byProgram: rs.map((r) => r.connections.filter((c) => c.owner === "program").length),
            byProviders: rs.map((r) => r.connections.filter((c) => c.owner === "provider").length),
            byOthers: rs.map((r) => r.connections.filter((c) => c.owner !== "program" && c.owner !== "provider").length),
            providerProcesses: rs.map((r) => r.providers.length),
            providersConnected: rs.map((r) => r.providers.filter((p) => p.brokerConnections > 0).length),
            maxPerProvider: rs.map(maxPerProvider),
            programRuns: rs.map((r) => r.programRuns),
        }))
        .sort((a, b) => scenarioOrder(a, b) || OP_ORDER.indexOf(a.op) - OP_ORDER.indexOf(b.op));

    const memory = [...group(runs.filter((r) => r.kind === "fleet" || r.kind === "synthetic"), (r) => r.scenario).values()]
        .map((rs) => ({
            scenario: rs[0].scenario, kind: rs[0].kind, size: rs[0].size,
            // per run: the largest provider process; then over runs
            providerPeakMiB: stats(rs.map((r) => Math.max(...r.providers.map((p) => p.maxRssKiB).filter(Number.isFinite)) / MiB).filter(Number.isFinite)),
            programPeakMiB: stats(rs.filter((r) => r.programMaxRssKiB.length).map((r) => Math.max(...r.programMaxRssKiB) / MiB)),
            providerSeconds: stats(rs.flatMap((r) => r.providers.map((p) => p.seconds)).filter(Number.isFinite)),
        }))
        .sort(scenarioOrder);

    const state = [...group(results.states, (s) => s.scenario).values()]
        .map((ss) => {
            // the median repetition by checkpoint size
            const mid = [...ss].sort((a, b) => a.checkpointBytes - b.checkpointBytes)[Math.floor((ss.length - 1) / 2)];
            return { ...mid, perResource: mid.size ? mid.checkpointBytes / mid.size : NaN };
        })
        .sort(scenarioOrder);
    const stateSlope = linearFit(state.filter((s) => s.kind === "synthetic").map((s): [number, number] => [s.size, s.checkpointBytes]));

    const micro = results.micro.map((m: MicroRecord) => ({ name: m.name, ...stats(m.ms) }));
    const largest = Math.max(...results.sizes);
    const timelines = [...group(runs.filter((r) => r.timeline?.length && (r.kind === "empty" || r.kind === "fleet" || (r.kind === "synthetic" && (r.size === 24 || r.size === largest)))), (r) => `${r.scenario}|${r.op}`).values()]
        .map((rs) => {
            const mid = [...rs].sort((a, b) => a.ms - b.ms)[Math.floor((rs.length - 1) / 2)];
            return { scenario: mid.scenario, kind: mid.kind, size: mid.size, op: mid.op, ms: mid.ms, spans: mid.timeline };
        })
        .sort((a, b) => scenarioOrder(a, b) || OP_ORDER.indexOf(a.op) - OP_ORDER.indexOf(b.op));
    const summary: Summary = {
        started: results.started, finished: results.finished, reps: results.reps, large: results.large, sizes: results.sizes,
        environment: results.environment, load: results.load, load1: runs.map((r) => r.load1),
        timings, slopes, noCheckpointsSlope, segments, connections, memory, state, stateSlope, micro, timelines, targets: [],
    };
    summary.targets = targets(summary, runs);
    return summary;
}

// ---------------------------------------------------------------- targets

const ms = (x: number) => {
    if (!Number.isFinite(x)) return "n/a";
    const a = Math.abs(x);
    return a >= 10_000 ? `${(x / 1000).toFixed(1)} s` : a >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(0)} ms`;
};
const fixed = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "n/a");
const kib = (bytes: number) => (Number.isFinite(bytes) ? `${(bytes / 1024).toFixed(2)} KiB` : "n/a");
const pct = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(0)}%`;

function timing(s: Summary, scenario: string, op: Op): Timing | undefined {
    return s.timings.find((t) => t.scenario === scenario && t.op === op);
}

function microMs(s: Summary, prefix: string): number {
    return s.micro.find((m) => m.name.startsWith(prefix))?.median ?? NaN;
}

/** The targets of issue 12: a no-change preview against the empty program, per-resource slopes, peak memory. */
const PREVIEW_RATIO = 2.0;
const SLOPE_LIMITS: [Op, number][] = [["preview", 15], ["upEmpty", 30], ["upNoop", 20]];
const PROVIDER_PEAK_MIB = 120;
const PROGRAM_PEAK_MIB = 250;

function targets(s: Summary, runs: RunRecord[]): Target[] {
    const out: Target[] = [];
    const fleetPreview = timing(s, "fleet", "preview");
    const emptyPreview = timing(s, "empty", "preview");
    if (fleetPreview && emptyPreview) {
        const ratio = fleetPreview.median / emptyPreview.median;
        const t: Target = {
            name: "No-change preview of the fleet vs the empty program",
            target: `≤ ${PREVIEW_RATIO}x`,
            measured: `${fixed(ratio, 2)}x (${ms(fleetPreview.median)} vs ${ms(emptyPreview.median)})`,
            pass: ratio <= PREVIEW_RATIO,
        };
        if (!t.pass) {
            t.by = `${fixed(ratio / PREVIEW_RATIO, 2)}x the allowed ratio; ${ms(fleetPreview.median - PREVIEW_RATIO * emptyPreview.median)} over ${PREVIEW_RATIO}x the empty program`;
            t.why = whyPreviewRatio(s, runs);
        }
        out.push(t);
    }
    for (const [op, limit] of SLOPE_LIMITS) {
        const fit = s.slopes[op];
        if (!fit) continue;
        const t: Target = {
            name: `Cost per extra resource, ${OP_LABEL[op]}`,
            target: `≤ ${limit} ms`,
            measured: `${fixed(fit.slope, 2)} ms (fit over N = ${s.sizes.join(", ")}, R² ${fixed(fit.r2, 3)})`,
            pass: fit.slope <= limit,
        };
        if (!t.pass) {
            t.by = `${fixed(fit.slope - limit, 2)} ms over (${pct(((fit.slope - limit) / limit) * 100)})`;
            t.why = whySlope(s, op);
        }
        out.push(t);
    }
    // Linear: the last step between synthetic sizes costs no more per resource than the first.
    const [firstStep, lastStep] = [s.segments[0], s.segments.at(-1)];
    if (firstStep && lastStep && firstStep !== lastStep) {
        for (const op of OP_ORDER) {
            const [early, late] = [firstStep.ms[op], lastStep.ms[op]];
            if (early === undefined || late === undefined) continue;
            const t: Target = {
                name: `Linear cost, ${OP_LABEL[op]}: per resource from ${lastStep.from} to ${lastStep.to} vs from ${firstStep.from} to ${firstStep.to}`,
                target: "≤ 1.0x",
                measured: `${fixed(late, 1)} ms vs ${fixed(early, 1)} ms (${fixed(late / early, 2)}x)`,
                pass: late <= early,
            };
            if (!t.pass) {
                t.by = `${fixed(late - early, 1)} ms per resource more at the large end`;
                t.why = whyNotLinear(s, op, lastStep.from, lastStep.to);
            }
            out.push(t);
        }
    }
    const largestMemory = s.memory.filter((m) => m.kind === "synthetic").at(-1);
    const providerPeak = Math.max(...s.memory.map((m) => m.providerPeakMiB.max).filter(Number.isFinite));
    if (Number.isFinite(providerPeak)) {
        out.push({
            name: "Peak memory of a dynamic-provider process, any scenario",
            target: `≤ ${PROVIDER_PEAK_MIB} MiB`, measured: `${fixed(providerPeak, 0)} MiB`, pass: providerPeak <= PROVIDER_PEAK_MIB,
            ...(providerPeak > PROVIDER_PEAK_MIB && { by: `${fixed(providerPeak - PROVIDER_PEAK_MIB, 0)} MiB over`, why: whyProviderMemory(runs) }),
        });
    }
    if (largestMemory?.programPeakMiB.n) {
        const peak = largestMemory.programPeakMiB.max;
        out.push({
            name: `Peak memory of the program, ${largestMemory.size} resources`,
            target: `≤ ${PROGRAM_PEAK_MIB} MiB`, measured: `${fixed(peak, 0)} MiB`, pass: peak <= PROGRAM_PEAK_MIB,
            ...(peak > PROGRAM_PEAK_MIB && { by: `${fixed(peak - PROGRAM_PEAK_MIB, 0)} MiB over`, why: whyProgramMemory(s) }),
        });
    }
    const measuredRuns = runs.filter((r) => r.providers.length > 0);
    if (measuredRuns.length) {
        const worst = measuredRuns.reduce((a, b) => (maxPerProvider(b) > maxPerProvider(a) ? b : a));
        const processes = measuredRuns.flatMap((r) => r.providers);
        const unattributed = runs.filter((r) => r.kind !== "natsjs").flatMap((r) => r.connections).filter((c) => c.owner !== "program" && c.owner !== "provider").length;
        const sizes = [...new Set(measuredRuns.map((r) => r.size))].sort((a, b) => a - b);
        const t: Target = {
            name: "Broker connections per provider process, any fleet size",
            target: "1",
            measured: `at most ${maxPerProvider(worst)} in each of ${processes.length} provider processes over sizes ${sizes.join(", ")}` +
                ` (${processes.filter((p) => p.brokerConnections === 1).length} opened one, ${processes.filter((p) => p.brokerConnections === 0).length} needed none)` +
                (unattributed ? `; ${unattributed} connection(s) not matched to a process` : ""),
            pass: maxPerProvider(worst) <= 1 && unattributed === 0,
        };
        if (!t.pass) {
            t.by = maxPerProvider(worst) > 1 ? `${maxPerProvider(worst) - 1} extra connection(s) in one provider process (${worst.scenario}, ${OP_LABEL[worst.op]})` : `${unattributed} connection(s) of unknown origin`;
            t.why = "A provider process opened more than one connection: the shared connection in providers/connection.ts is keyed by the connection settings, so settings that differ between calls, or a failed connect that is retried, open another. The runs' connections, with their owners, are in results.json.";
        }
        out.push(t);
    }
    const fleetState = s.state.find((x) => x.kind === "fleet");
    if (fleetState) {
        const per = fleetState.checkpointBytes / fleetState.size;
        const t: Target = {
            name: "Pulumi state per resource, kanade fleet (checkpoint bytes / 24)",
            target: "< 4 KiB",
            measured: `${kib(per)} (${kib(fleetState.checkpointBytes)} for ${fleetState.resources} state entries; one dynamic resource ${kib(fleetState.dynamic.total)})`,
            pass: per < 4096,
        };
        if (!t.pass) {
            t.by = `${kib(per - 4096)} over (${pct(((per - 4096) / 4096) * 100)})`;
            t.why = whyState(fleetState);
        }
        out.push(t);
    }
    if (Number.isFinite(s.stateSlope.slope)) {
        const t: Target = {
            name: "Pulumi state per extra resource, synthetic fleets (slope of checkpoint bytes)",
            target: "< 4 KiB",
            measured: kib(s.stateSlope.slope),
            pass: s.stateSlope.slope < 4096,
        };
        if (!t.pass) {
            t.by = `${kib(s.stateSlope.slope - 4096)} over`;
            const mid = s.state.filter((x) => x.kind === "synthetic").at(-1);
            t.why = mid ? whyState(mid) : undefined;
        }
        out.push(t);
    }
    return out;
}

function whyPreviewRatio(s: Summary, runs: RunRecord[]): string {
    const fleet = timing(s, "fleet", "preview")!;
    const empty = timing(s, "empty", "preview")!;
    const syn24 = s.timings.find((t) => t.kind === "synthetic" && t.size === 24 && t.op === "preview");
    const floorWall = timing(s, "natsjs", "preview");
    const procs = stats(runs.filter((r) => r.kind === "fleet" && r.op === "preview").map((r) => r.providers.length)).median;
    const mem = s.memory.find((m) => m.kind === "fleet");
    const sec = (x: number) => `${(x / 1000).toFixed(1)} s`;
    const parts: string[] = [];
    parts.push(`The fleet's preview takes ${ms(fleet.median - empty.median)} more than the empty program's, and almost none of it is the broker's:`);
    if (floorWall?.inProcess) {
        parts.push(`a plain nats.js script reads and compares all 24 streams in ${ms(floorWall.inProcess.median)} once started (${ms(floorWall.median)} with Node.js start-up).`);
    }
    parts.push(`The difference is Node.js processes started one after the other, each loading @pulumi/pulumi (${ms(microMs(s, "load @pulumi/pulumi"))} alone on this machine; ${ms(microMs(s, "load the kanade Stream"))} with nats.js, zod and our providers):` +
        ` with refresh: always a preview is a refresh and then the preview proper, two engine operations with a dynamic-provider process each (${fixed(procs, 0)} per preview${mem ? `, each living up to ${fixed(mem.providerSeconds.max, 1)} s at about ${fixed(mem.providerPeakMiB.median, 0)} MiB` : ""}), and the program between them.`);
    const tl = s.timelines.find((t) => t.kind === "fleet" && t.op === "preview");
    const emptyTl = s.timelines.find((t) => t.kind === "empty" && t.op === "preview");
    if (tl) {
        const providers = tl.spans.filter((p) => p.role === "provider");
        const program = tl.spans.find((p) => p.role === "program");
        const first = providers[0];
        const second = providers[1];
        const steps: string[] = [];
        if (first) steps.push(`the refresh's provider starts at ${sec(first.start)} and first reaches the broker at ${first.broker.length ? sec(first.broker[0]) : "?"}`);
        if (program) steps.push(`the program starts at ${sec(program.start)}${program.broker.length ? `, reaches the broker for its checks at ${sec(program.broker[0])}` : ""} and exits at ${sec(program.end)}`);
        if (second) steps.push(`the preview's provider, started when the program declares its first resource, lives from ${sec(second.start)} to ${sec(second.end)}`);
        const emptyProgram = emptyTl?.spans.find((p) => p.role === "program");
        parts.push(`In the median run (${sec(tl.ms)}): ${steps.join("; ")}.` +
            (emptyProgram ? ` The empty program starts one process, its program, which lives ${sec(emptyProgram.end - emptyProgram.start)}, and has nothing to refresh.` : ""));
    }
    if (syn24) {
        const checks = fleet.median - syn24.median;
        parts.push(checks > 0
            ? `24 plain streams without the fleet's program-side checks preview in ${ms(syn24.median)}: the checks in index.ts (loading the fleet code, a broker connection, STREAM.LIST, INFO and the monitoring endpoint) account for about ${ms(checks)}.`
            : `24 plain streams without the fleet's program-side checks preview in ${ms(syn24.median)}, no faster: the checks in index.ts do not show above this run's noise.`);
    }
    parts.push(`A ratio of ${PREVIEW_RATIO}x over a program that declares nothing leaves little room for the refresh and two dynamic-provider start-ups on this machine.`);
    return parts.join(" ");
}

function whySlope(s: Summary, op: Op): string {
    const fit = s.slopes[op]!;
    const segs = s.segments.filter((g) => Number.isFinite(g.ms[op] ?? NaN));
    const growth = segs.length > 1 ? ` Between sizes it grows: ${segs.map((g) => `${fixed(g.ms[op]!, 0)} ms from ${g.from} to ${g.to}`).join(", ")}.` : "";
    const nc = op === "upEmpty" && s.noCheckpointsSlope
        ? ` With PULUMI_SKIP_CHECKPOINTS=true, where the engine writes the state once at the end, the same up costs ${fixed(s.noCheckpointsSlope.slope, 1)} ms per resource${s.segments.some((g) => g.noCheckpoints !== undefined) ? ` (${s.segments.filter((g) => g.noCheckpoints !== undefined).map((g) => `${fixed(g.noCheckpoints!, 0)} ms from ${g.from} to ${g.to}`).join(", ")})` : ""}: the per-step checkpoint accounts for ${fixed(fit.slope - s.noCheckpointsSlope.slope, 1)} ms of the ${fixed(fit.slope, 1)}.`
        : "";
    const floorCreate = timing(s, "natsjs", "upEmpty");
    const floorCheck = timing(s, "natsjs", "preview");
    const floorPer = op === "upEmpty" ? floorCreate : floorCheck;
    const base = `Each extra stream costs ${fixed(fit.slope, 1)} ms of ${OP_LABEL[op]}.`;
    const broker = floorPer ? ` The broker's own share is small: the nats.js floor does the same work for 24 streams in ${ms(floorPer.median)} all told, start-up included.` : "";
    const steps: Record<Op, string> = {
        preview: "Per resource, a no-change preview with refresh: always is a Read (refresh), then the program's RegisterResource, a Check and a Diff, each a gRPC call through the engine to the provider process, plus the engine's per-step bookkeeping and display.",
        upEmpty: "Per resource, up from empty is a Check and a Diff in its preview, then again a Check, a Create (a STREAM.CREATE round trip) and a checkpoint write in the update; the file backend rewrites the whole checkpoint after each step, so the per-step write grows with the stack.",
        upNoop: "Per resource, a no-change up runs the refresh and the preview (Read, Check, Diff), then the update's Read, Check and Diff again, with checkpoint writes for the refresh.",
    };
    const engine = op === "upEmpty" ? "" : ` ${ENGINE_LOG}`;
    return `${base}${growth} ${steps[op]}${engine}${nc}${broker}`;
}

// What a CPU profile of the CLI (pulumi --profiling) and the decrypted log
// (pulumi logs decrypt) showed, 2026-12-02, 200 synthetic streams, no-change preview.
const ENGINE_LOG = "The engine's share grows with the properties each call carries: Pulumi 3.259 logs every operation, at verbosity 9, to an encrypted and gzipped file in ~/.pulumi/logs, one record for each property it marshals or unmarshals," +
    " and a CPU profile of the CLI put 30% of its time in that logging (a 200-stream no-change preview wrote 34 MB of log text, 26 MB since outputs no longer copy the inputs); 3.259 has no setting to turn it off.";

function whyNotLinear(s: Summary, op: Op, from: number, to: number): string {
    const runsAt = (n: number) => timing(s, `synthetic-${n}`, op)?.n ?? 0;
    const spreads = s.timings.filter((t) => t.kind === "synthetic" && t.op === op && t.n > 1).map((t) => `±${fixed(t.spreadPct / 2, 0)}% at ${t.size}`);
    const intermediate = s.segments.map((g) => g.ms[op]).filter((x): x is number => x !== undefined);
    return `The step from ${from} to ${to} rests on ${runsAt(from)} and ${runsAt(to)} run(s) of those sizes, where repeated sizes spread ${spreads.join(", ") || "unknown"}; ` +
        `the steps in between cost ${intermediate.map((x) => `${fixed(x, 0)} ms`).join(", ")} per resource, ${intermediate.every((x, i) => i === 0 || x > intermediate[i - 1]) ? "growing at every step" : "with no steady growth"}.` +
        " A cost that grew with the fleet would grow at every step; repeat the large sizes (BENCH_LARGE_REPS) to tell noise from growth.";
}

// What heap snapshots, /proc/<pid>/status and A/B runs of the processes
// showed (2026-12-02, 1000 synthetic streams, no-change preview, runs
// alternated); the run's own figures come first.
function whyProviderMemory(runs: RunRecord[]): string {
    const peaks = runs.flatMap((r) => r.providers.map((p) => p.maxRssKiB / MiB)).filter(Number.isFinite);
    const floor = peaks.length ? ` The smallest provider process of this run, one that served no resource, peaked at ${fixed(Math.min(...peaks), 0)} MiB:` : "";
    return `${floor} Node.js alone takes about 45 MiB, 30 of them the node binary's own pages, and loading @pulumi/pulumi, gRPC, nats.js, zod and the providers brings a provider to about 75 MiB before its first call.` +
        " At 1000 resources a provider keeps only about 25 MiB of JavaScript objects alive; the rest of its peak is garbage that V8, sizing its heap for this 23 GiB machine, lets pile up (32 MiB young generation, old generation growing up to 4x between full collections)." +
        " providers/nodeMemory.ts bounds that as the providers load (--semi-space-growth-factor=1, and --heap-growing-percent, set at run time): at 50 a 1000-stream no-change preview's provider peaked at 133-182 MiB (median 140) against 282-290 MiB without, at the same wall time." +
        " With this toolchain's shim the flags apply earlier, before the SDK loads (its copy of preload.ts sets them too), so the young generation stays at the 1 MiB it starts with: 110-133 MiB at 1000 resources." +
        " Maglev, V8's mid-tier compiler, then held 20-27 MiB of anonymous memory outside the JavaScript heap (resident size less heap and file pages, sampled every 20 ms); compiling only functions run about a thousand times and inlining nothing (in the same file) took the provider from 115-132 MiB to 108-120 at the same CPU (A/B, 5 rounds, 2026-12-02), and collecting the old generation once it has grown by a quarter instead of a half from 111-137 to 104-111 MiB at the same wall time (A/B, 5 rounds)." +
        " Without Maglev at all (--no-maglev) it peaked at 97-103 MiB, but a 1000-stream run took about 15% more CPU and the benchmark's large fleets grew slower per resource than small ones; tighter heap settings (--max-semi-space-size=1 as a node flag with --heap-growing-percent=10, or a --max-old-space-size cap) cost the provider a tenth more CPU, and a cap would crash a large fleet's provider; bounding Maglev's threads (--concurrent-maglev-max-threads=1) or glibc's arenas and mmap threshold did not help." +
        " What is left is garbage made per call in the SDK's provider host, where every request and response goes through google-protobuf Struct objects; the stored inputs and outputs (schema 2) now carry a third of the properties they did.";
}

function whyProgramMemory(s: Summary): string {
    const size = s.memory.filter((m) => m.kind === "synthetic").at(-1)?.size ?? 0;
    return `The program declares all ${size} resources at once and the engine answers their registrations a few at a time (--parallel, 8 here), so every resource's Outputs and the SDK's promises behind them are alive together:` +
        ` a heap snapshot 2 s into a ${size}-stream no-change preview held 95 MiB of live objects (per resource about 150 promises and 290 closures: ten Outputs, each with its resolvers and the promises behind its value, known-ness, secrecy and dependencies, and the pending registration's gRPC call and protobuf request), and about 80 MiB of the process lies outside the JavaScript heap (50 MiB the node binary's pages, the rest the allocator's and V8's own). V8 lets the heap grow past what a full collection leaves alive before the next one, so the peak is that growth on top of both.` +
        " preload.ts sets the flags of providers/nodeMemory.ts before the SDK loads: without the heap flags V8 grew the young generation to 128 MiB and the peak was 394-428 MiB; with them 242-291 MiB (A/B, 4 pairs), for about 0.5 s more program CPU; Maglev compiling less (in the same file) took it from 229-264 to 224-239 MiB at the same CPU (A/B, 5 rounds), and without Maglev at all it peaked at 212-239 MiB, but for about 15% more CPU in a 1000-stream run (program and provider together), which made the benchmark's large fleets slower per resource than its small ones: the time targets come first." +
        " Counting the SDK's pending promises instead of tracking each in a Set behind two more promises (preload.ts) took 17 MiB of live objects off and the peak from 235-253 to 209-248 MiB (A/B, 6 rounds), and collecting the old generation once it has grown by a quarter instead of a half from 209-236 to 202-223 MiB at the same wall time (A/B, 5 rounds), for about 0.5 s more CPU; fixing the young generation at 16 MiB (node flags in Pulumi.yaml's nodeargs) instead of the 2 MiB the run-time flags keep it at cost about 10 MiB and saved 0.7 s of scavenging per 1000-resource no-change up (A/B, 4 rounds); --optimize-for-size did no better, and V8 sizes the young generation only from node flags." +
        " The rest is the SDK's own per-resource objects.";
}

function whyState(st: StateRecord): string {
    const d = st.dynamic;
    return `One dynamic resource's state entry is ${kib(d.total)}: inputs ${kib(d.inputs)} and outputs ${kib(d.outputs)} (inputs: the settings the program sets, in input form; outputs: the broker's config, the stream's name, owner and opt-in), Pulumi's provenance (sourcePosition and stackTrace) ${kib(d.provenance)}, and the rest (URNs, provider reference, property dependencies, timestamps) ${kib(d.other)}.`;
}

// ---------------------------------------------------------------- markdown

function statCell(t: Stats | undefined): string {
    if (!t || !t.n) return "–";
    return t.n > 1 ? `${ms(t.median)} (${ms(t.min)}–${ms(t.max)}, ±${fixed(t.spreadPct / 2, 0)}%)` : ms(t.median);
}

function medianOf(xs: number[]): string {
    const f = xs.filter(Number.isFinite);
    if (!f.length) return "–";
    const st = stats(f);
    return st.min === st.max ? fixed(st.median, Number.isInteger(st.median) ? 0 : 2) : `${fixed(st.median, Number.isInteger(st.median) ? 0 : 2)} (${fixed(st.min, 0)}–${fixed(st.max, 0)})`;
}

export function markdown(s: Summary, rawDir: string): string {
    const L: string[] = [];
    const env = s.environment;
    const fleetOrFloor = s.timings.filter((t) => t.kind !== "synthetic" && t.kind !== "nocheckpoints");
    L.push("# kanade-jetstream benchmark");
    L.push("");
    L.push(`Run ${s.started}${s.finished ? ` to ${s.finished}` : " (incomplete)"}, by \`npm run bench\` (scripts/bench.sh, bench/run.ts).`);
    L.push("");
    L.push(`- Machine: ${env.machine}; ${env.os}`);
    L.push(`- Node.js ${env.node}, Pulumi ${env.pulumi} (@pulumi/pulumi ${env.pulumiSdk}), nats-server ${env.natsServer}, nats.js ${env.natsJs}`);
    const fewer = s.large && s.large.reps < s.reps && s.sizes.some((n) => n > s.large!.above) ? ` (${s.large.reps} of synthetic fleets over ${s.large.above} resources)` : "";
    L.push(`- ${s.reps} repetition(s) of every scenario${fewer}, interleaved; synthetic sizes ${s.sizes.join(", ")}; load average (1/5/15 min) ${s.load.start.map((x) => x.toFixed(2)).join("/")} at the start${s.load.end ? `, ${s.load.end.map((x) => x.toFixed(2)).join("/")} at the end` : ""}`);
    const loads = stats(s.timings.length ? (s.load1 ?? []) : []);
    if (loads.n) L.push(`- 1-minute load average when each run started: median ${fixed(loads.median, 2)} (${fixed(loads.min, 2)}–${fixed(loads.max, 2)}) on ${env.machine.match(/(\d+) cores/)?.[1] ?? "?"} cores`);
    L.push(`- Times are wall-clock medians, with (min–max, ±half the spread) over the repetitions. Raw data: \`bench/results/${rawDir}/\` (not committed).`);
    L.push("");
    L.push("![benchmark chart](chart.png)");
    L.push("");
    L.push("## Targets");
    L.push("");
    L.push("| target | goal | measured | result |");
    L.push("| --- | --- | --- | --- |");
    for (const t of s.targets) L.push(`| ${t.name} | ${t.target} | ${t.measured} | ${t.pass ? "met" : `**missed** by ${t.by}`} |`);
    const missed = s.targets.filter((t) => !t.pass);
    if (missed.length) {
        L.push("");
        L.push("Why the missed targets are missed:");
        L.push("");
        for (const t of missed) L.push(`- **${t.name}.** ${t.why ?? ""}`);
    }
    L.push("");
    L.push("## Side by side: 24 resources");
    L.push("");
    L.push(`| scenario | ${OP_ORDER.map((o) => OP_LABEL[o]).join(" | ")} |`);
    L.push(`| --- | ${OP_ORDER.map(() => "---").join(" | ")} |`);
    const sideBySide = [...new Set(fleetOrFloor.map((t) => t.scenario))].map((name) => fleetOrFloor.find((t) => t.scenario === name)!);
    const syn24 = s.timings.find((t) => t.kind === "synthetic" && t.size === 24);
    for (const row of [...sideBySide, ...(syn24 ? [syn24] : [])]) {
        const label = row.kind === "synthetic" ? "synthetic fleet, 24 plain streams" : SCENARIO_LABEL[row.kind];
        L.push(`| ${label} | ${OP_ORDER.map((o) => statCell(timing(s, row.scenario, o))).join(" | ")} |`);
    }
    const fleet = (op: Op) => timing(s, "fleet", op)?.median ?? NaN;
    const ratioRow = (name: string, scenario: string) =>
        `| fleet ÷ ${name} | ${OP_ORDER.map((o) => `${fixed(fleet(o) / (timing(s, scenario, o)?.median ?? NaN), 2)}x`).join(" | ")} |`;
    if (timing(s, "fleet", "preview")) {
        if (timing(s, "empty", "preview")) L.push(ratioRow("empty program", "empty"));
        if (timing(s, "natsjs", "preview")) L.push(ratioRow("nats.js script", "natsjs"));
    }
    L.push("");
    const floorRows = OP_ORDER.map((o) => timing(s, "natsjs", o)).filter((t): t is Timing => !!t?.inProcess);
    if (floorRows.length) {
        L.push("For the nats.js floor, \"preview\" and \"up, no changes\" are the same work (read all 24 streams and compare them with the desired configs) and \"up from empty\" creates them. " +
            `Its in-process times, without Node.js start-up: ${floorRows.map((t) => `${OP_LABEL[t.op]} ${ms(t.inProcess!.median)}`).join(", ")}.`);
    }
    const synthetic = s.timings.filter((t) => t.kind === "synthetic");
    if (synthetic.length) {
        L.push("");
        L.push("## Synthetic fleets: cost per extra resource");
        L.push("");
        const nc = s.timings.some((t) => t.kind === "nocheckpoints");
        const ncHead = nc ? " | up from empty, PULUMI_SKIP_CHECKPOINTS (diagnostic)" : "";
        L.push(`| streams | runs | ${OP_ORDER.map((o) => OP_LABEL[o]).join(" | ")}${ncHead} |`);
        L.push(`| --- | --- | ${OP_ORDER.map(() => "---").join(" | ")}${nc ? " | ---" : ""} |`);
        for (const size of s.sizes) {
            const name = `synthetic-${size}`;
            const ncCell = nc ? ` | ${statCell(timing(s, `nocheckpoints-${size}`, "upEmpty"))}` : "";
            L.push(`| ${size} | ${timing(s, name, "preview")?.n ?? 0} | ${OP_ORDER.map((o) => statCell(timing(s, name, o))).join(" | ")}${ncCell} |`);
        }
        const slopeCell = (f: Fit | undefined) => (f ? `**${fixed(f.slope, 2)} ms** (R² ${fixed(f.r2, 3)})` : "–");
        L.push(`| **per extra resource** | least-squares slope of the medians | ${OP_ORDER.map((o) => slopeCell(s.slopes[o])).join(" | ")}${nc ? ` | ${slopeCell(s.noCheckpointsSlope)}` : ""} |`);
        const intercept = (f: Fit | undefined) => (f ? `${ms(f.intercept)}${f.intercept < 0 ? " (below zero: the cost grows faster than a line, see below)" : ""}` : "–");
        L.push(`| fixed cost | intercept | ${OP_ORDER.map((o) => intercept(s.slopes[o])).join(" | ")}${nc ? ` | ${intercept(s.noCheckpointsSlope)}` : ""} |`);
        for (const g of s.segments) {
            L.push(`| per extra resource from ${g.from} to ${g.to} | difference of the medians | ${OP_ORDER.map((o) => (g.ms[o] !== undefined ? `${fixed(g.ms[o]!, 1)} ms` : "–")).join(" | ")}${nc ? ` | ${g.noCheckpoints !== undefined ? `${fixed(g.noCheckpoints, 1)} ms` : "–"}` : ""} |`);
        }
    }
    L.push("");
    L.push("## Broker connections");
    L.push("");
    L.push("Client connections each run opened, from the server's monitoring endpoint (`/connz?state=all`: connections with a cid not seen before the run), each matched to the process that opened it by its client port (a probe preloaded into every Node.js process of the run records the ports of its sockets). " +
        "The fleet's program opens one connection of its own per run of the program (index.ts checks the broker before declaring anything); synthetic programs open none. Medians over the repetitions.");
    L.push("");
    L.push("| scenario | run | connections opened | by the program | by providers | provider processes (that connected) | most in one provider process | program runs |");
    L.push("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for (const c of s.connections) {
        const name = scenarioName(c);
        const procs = c.kind === "natsjs" ? "–" : `${medianOf(c.providerProcesses)} (${medianOf(c.providersConnected)})`;
        L.push(`| ${name} | ${OP_LABEL[c.op]} | ${medianOf(c.opened)} | ${c.kind === "natsjs" ? "–" : medianOf(c.byProgram)} | ${c.kind === "natsjs" ? "–" : medianOf(c.byProviders)} | ${procs} | ${c.kind === "natsjs" ? "–" : medianOf(c.maxPerProvider)} | ${c.kind === "natsjs" ? "–" : medianOf(c.programRuns)} |`);
    }
    if (s.state.length) {
        L.push("");
        L.push("## Pulumi state");
        L.push("");
        L.push("Sizes after the last run: the stack's checkpoint file on the file backend (compact JSON), `pulumi stack export` (indented), and the mean compact-JSON size of one dynamic resource's entry split into its parts.");
        L.push("");
        L.push("| scenario | state entries | checkpoint | export | checkpoint per resource | one dynamic resource | inputs | outputs | provenance | other |");
        L.push("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        for (const st of s.state) {
            const d = st.dynamic;
            const label = scenarioName(st);
            L.push(`| ${label} | ${st.resources} | ${kib(st.checkpointBytes)} | ${kib(st.exportBytes)} | ${st.size ? kib(st.perResource) : "–"} | ${st.dynamicResources ? kib(d.total) : "–"} | ${st.dynamicResources ? kib(d.inputs) : "–"} | ${st.dynamicResources ? kib(d.outputs) : "–"} | ${st.dynamicResources ? kib(d.provenance) : "–"} | ${st.dynamicResources ? kib(d.other) : "–"} |`);
        }
        if (Number.isFinite(s.stateSlope.slope)) L.push(`\nMarginal state per extra stream (slope of checkpoint bytes over the synthetic sizes): **${kib(s.stateSlope.slope)}**.`);
    }
    if (s.memory.length) {
        L.push("");
        L.push("## Memory");
        L.push("");
        L.push("Peak resident memory of the largest dynamic-provider process of each run (`/usr/bin/time` around the plugin), and of the program's Node.js process; median (min–max) over all runs of the scenario. Provider lifetime is per process.");
        L.push("");
        L.push("| scenario | provider peak RSS, MiB | program peak RSS, MiB | provider process lifetime, s |");
        L.push("| --- | --- | --- | --- |");
        for (const m of s.memory) {
            const cell = (t: Stats) => (t.n ? `${fixed(t.median, t.median < 10 ? 1 : 0)} (${fixed(t.min, t.min < 10 ? 1 : 0)}–${fixed(t.max, t.max < 10 ? 1 : 0)})` : "–");
            L.push(`| ${scenarioName(m)} | ${cell(m.providerPeakMiB)} | ${cell(m.programPeakMiB)} | ${cell(m.providerSeconds)} |`);
        }
    }
    if (s.timelines.length) {
        L.push("");
        L.push("## Where the time goes");
        L.push("");
        L.push("The Node.js processes of the median run, in seconds from the moment the CLI started: when each started and exited, (in brackets) when it connected to the broker, and the CPU seconds it used. Everything outside them is the CLI and engine (start-up, plugin loading, state reads and writes, display).");
        L.push("");
        L.push("| scenario | run | total | program | dynamic-provider processes |");
        L.push("| --- | --- | --- | --- | --- |");
        const sec = (x: number) => (Number.isFinite(x) ? (x / 1000).toFixed(1) : "?");
        const cpu = (p: ProcessSpan) => (Number.isFinite(p.cpu) ? `, ${p.cpu.toFixed(2)} s CPU` : "");
        const span = (p: ProcessSpan) => `${sec(p.start)}–${sec(p.end)}${p.broker.length ? ` [${p.broker.map(sec).join(", ")}]` : ""}${cpu(p)}`;
        for (const t of s.timelines) {
            const name = scenarioName(t);
            const programs = t.spans.filter((p) => p.role === "program").map(span).join("; ") || "–";
            const providers = t.spans.filter((p) => p.role === "provider").map(span).join("; ") || "–";
            L.push(`| ${name} | ${OP_LABEL[t.op]} | ${sec(t.ms)} | ${programs} | ${providers} |`);
        }
    }
    if (s.micro.length) {
        L.push("");
        L.push("## Fixed costs of a Node.js process here");
        L.push("");
        L.push("| what | median | min–max |");
        L.push("| --- | --- | --- |");
        for (const m of s.micro) L.push(`| ${m.name} | ${ms(m.median)} | ${ms(m.min)}–${ms(m.max)} |`);
    }
    L.push("");
    L.push("## Method");
    L.push("");
    L.push([
        "- Every scenario and repetition starts from nothing: a fresh nats-server (test/harness/nats.ts, JetStream, temp store) and a fresh Pulumi file backend with its own PULUMI_HOME and stack (test/harness/pulumi.ts). Within one, the runs go in order: `pulumi up --yes` from empty, `pulumi preview --expect-no-changes`, `pulumi up --yes --expect-no-changes` (the last two fail the benchmark if anything would change). Repetitions rotate the scenario order.",
        "- `pulumi up` includes its own preview, as typed by a person. The kanade project sets `options.refresh: always`, so every preview and up first refreshes every resource from the broker; the empty and synthetic projects (bench/projects/) set the same option so all three pay the same phases.",
        "- The fleet is the real project at the repository root (Pulumi.yaml, index.ts) with `servers`, `monitorUrls[0]` and `sizeScale: 0.01`. Synthetic fleets declare N streams (`BENCH_<i>`, subject `bench.<i>.>`) through the same Stream provider, without the fleet's program-side checks.",
        "- The nats.js floor (bench/floor.ts) is one Node.js process per run that loads only nats.js, opens one connection, and creates, or reads back and compares, the fleet's 24 backing streams with the exact configs the providers send, all at once.",
        "- The engine finds the dynamic-provider plugin on PATH first: a wrapper there runs the real one under `/usr/bin/time` for its peak RSS and lifetime (the engine prints a warning about it once per run). A preloaded probe (NODE_OPTIONS=--import bench/probe.ts) counts program runs and their peak RSS.",
        "- A diagnostic, not a target: the synthetic fleets' `up` from empty again with PULUMI_SKIP_CHECKPOINTS=true, where the engine writes the stack's state once at the end instead of after every step (the file backend rewrites the whole checkpoint each time). The difference is what those writes cost.",
        "- Slopes are least-squares lines through the medians of the synthetic sizes; the rows \"from A to B\" are the differences between consecutive sizes, which show where a cost grows faster than linearly. State per resource for the fleet is the checkpoint divided by its 24 resources (the stack, component and provider entries included, so it is an upper bound).",
        "- This is a 2-core machine; other work running at the same time shows in the spreads and the load averages above.",
    ].join("\n"));
    L.push("");
    return L.join("\n");
}

export function writeReport(results: Results, resultsDir: string, rawDir: string): { markdown: string; summary: string } {
    const s = summarise(results);
    const md = path.join(resultsDir, "report.md");
    const json = path.join(resultsDir, "summary.json");
    writeFileSync(md, markdown(s, rawDir));
    writeFileSync(json, JSON.stringify(s, null, 1) + "\n");
    return { markdown: md, summary: json };
}

if (import.meta.main) {
    const file = process.argv[2];
    if (!file) {
        process.stderr.write("usage: node bench/report.ts bench/results/raw/<stamp>/results.json [results dir]\n");
        process.exit(2);
    }
    const results = JSON.parse(readFileSync(file, "utf8")) as Results;
    const resultsDir = path.resolve(process.argv[3] ?? path.join(path.dirname(file), "..", ".."));
    const out = writeReport(results, resultsDir, path.relative(resultsDir, path.dirname(file)));
    process.stdout.write(`wrote ${out.markdown} and ${out.summary}\n`);
}
