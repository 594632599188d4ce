// Broker faults through the real pulumi CLI: a broker that is not there, a
// broker that dies in the middle of `pulumi up`, and a `pulumi up` that is
// itself killed. Each must fail fast and clearly, and the next `pulumi up`
// must converge to exactly the fleet, read back from the broker itself.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { type TestContext, after, describe, test } from "node:test";
import { type CliResult, PulumiWorkspace, type StateResource } from "../harness/pulumi.ts";
import { type NatsServer, type ServerVersion, e2eServerVersions, freePorts, pauseServer, resumeServer, silentListener, startServer } from "../harness/nats.ts";
import { FLEET_STREAMS, cli, cliOk, fleetStack, streamNames } from "./stack.ts";

const CONCURRENCY = Number(process.env.KANADE_E2E_CONCURRENCY ?? 2);
const JETSTREAM_TYPE = /^pulumi-nodejs:dynamic\/jetstream:/;
/** A fleet resource's "created" line in the CLI's non-interactive progress output. */
const FIRST_CREATED = /^\s*\+\s+pulumi-nodejs:dynamic\/jetstream:\S+ \S+ created\b/m;
/** A provider error that names the fleet resource it failed on. */
const RESOURCE_FAILED = /(stream|KV bucket|object store) "[^"]+"[^\n]*: (create|read|update) failed/;

interface Spawned extends CliResult {
    signal: NodeJS.Signals | null;
}

/** The pids of every process below `pid` (children first found, then theirs), from /proc. */
function descendants(pid: number): number[] {
    const children = new Map<number, number[]>();
    for (const entry of readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        try {
            // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so split after the last ")".
            const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
            const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
            children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
        } catch {
            /* gone meanwhile */
        }
    }
    const out: number[] = [];
    for (let queue = [pid]; queue.length; ) {
        const next = children.get(queue.shift()!) ?? [];
        out.push(...next);
        queue.push(...next);
    }
    return out;
}

/**
 * `pulumi <args>` started by hand (ws.run waits for the end), so a test can act
 * on its progress: `onOutput` sees everything printed so far. `killAll` kills
 * the CLI and every process below it at once: Pulumi starts its plugins
 * (language host, dynamic provider) in process groups of their own, so a
 * group kill would leave them running. Past `limitMs` everything is killed
 * with SIGKILL (the result's signal says so).
 */
function spawnCli(
    ws: PulumiWorkspace,
    args: string[],
    onOutput: (output: string, killAll: (signal: NodeJS.Signals) => void) => void,
    limitMs?: number,
): Promise<Spawned> {
    const env = ws.env;
    const full = [...args, "--non-interactive", "--stack", ws.stack, "--config-file", ws.configFile];
    const child = spawn("pulumi", full, { cwd: ws.projectDir, env, stdio: ["ignore", "pipe", "pipe"] });
    const killAll = (signal: NodeJS.Signals) => {
        for (const pid of [child.pid!, ...descendants(child.pid!)]) {
            try {
                process.kill(pid, signal);
            } catch {
                /* already gone */
            }
        }
    };
    let stdout = "";
    let stderr = "";
    const seen = () => onOutput(stdout + stderr, killAll);
    child.stdout.setEncoding("utf8").on("data", (d: string) => ((stdout += d), seen()));
    child.stderr.setEncoding("utf8").on("data", (d: string) => ((stderr += d), seen()));
    const limit = limitMs === undefined ? undefined : setTimeout(() => killAll("SIGKILL"), limitMs);
    return new Promise((resolve) => {
        child.on("close", (code, signal) => {
            clearTimeout(limit);
            resolve({ code: code ?? 1, signal, stdout, stderr, output: `$ pulumi ${full.join(" ")}\n${stdout}${stderr}` });
        });
    });
}

async function timed<T>(f: () => Promise<T>): Promise<{ value: T; seconds: number }> {
    const started = Date.now();
    const value = await f();
    return { value, seconds: (Date.now() - started) / 1000 };
}

async function fleetState(ws: PulumiWorkspace): Promise<{ resources: StateResource[]; pending: unknown[] }> {
    const state = await ws.exportState();
    const deployment = JSON.parse(state.text).deployment as { pending_operations?: unknown[] };
    return { resources: state.resources.filter((r) => JETSTREAM_TYPE.test(r.type)), pending: deployment.pending_operations ?? [] };
}

/** The stack converged: up applies, a fresh preview has nothing to do, the broker holds exactly the fleet. */
async function assertConverges(ws: PulumiWorkspace, server: NatsServer): Promise<void> {
    await cliOk(ws, ["up", "--yes"]);
    await cliOk(ws, ["preview", "--expect-no-changes"]);
    const nc = await server.connect();
    try {
        assert.deepEqual(await streamNames(nc), [...FLEET_STREAMS], "the broker should hold exactly the 24 fleet streams");
    } finally {
        await nc.close();
    }
    const state = await fleetState(ws);
    assert.equal(state.resources.length, FLEET_STREAMS.length, "the state should hold one resource per fleet stream");
    assert.deepEqual(new Set(state.resources.map((r) => r.id)).size, FLEET_STREAMS.length, "duplicate ids in the state");
    assert.deepEqual(state.pending, [], "the state still has pending operations");
}

function brokerFaults(version: ServerVersion) {
    test(`${version.version}: a broker that is not there fails preview and up within seconds`, async (t) => {
        const [client, monitor] = await freePorts(2);
        const url = `nats://127.0.0.1:${client}`;
        const ws = await fleetStack({ url, monitorUrl: `http://127.0.0.1:${monitor}` });
        after(() => ws.dispose());

        const preview = await timed(() => cli(ws, ["preview"]));
        const up = await timed(() => cli(ws, ["up", "--yes"]));
        for (const [what, r] of [["preview", preview], ["up", up]] as const) {
            assert.notEqual(r.value.code, 0, `${what} should fail:\n${r.value.output}`);
            assert.match(r.value.output, new RegExp(`cannot reach NATS at ${url.replace(/[.]/g, "\\.")}`), r.value.output);
        }
        t.diagnostic(`preview failed in ${preview.seconds}s, up in ${up.seconds}s`);
        assert.ok(preview.seconds + up.seconds < 30, `preview took ${preview.seconds}s and up ${up.seconds}s; they should fail within seconds`);
        // Nothing was recorded: the program failed before declaring anything.
        assert.equal((await fleetState(ws)).resources.length, 0);
    });

    test(`${version.version}: a broker killed in the middle of up: up fails naming the resource, and after a restart up converges`, async (t) => {
        const server = await startServer({ bin: version.bin });
        after(() => server.stop());
        const ws = await fleetStack(server);
        after(() => ws.dispose());

        let killedAt = "";
        const up = await spawnCli(ws, ["up", "--yes"], (output) => {
            if (!killedAt && FIRST_CREATED.test(output)) {
                killedAt = FIRST_CREATED.exec(output)![0].trim();
                void server.kill();
            }
        });
        assert.ok(killedAt, `the broker was never killed: no resource was created\n${up.output}`);
        t.diagnostic(`broker killed after: ${killedAt}`);
        assert.notEqual(up.code, 0, `up should fail when the broker dies:\n${up.output}`);
        assert.match(up.output, RESOURCE_FAILED, up.output);
        t.diagnostic(`first error: ${/error: (.*)/.exec(up.output)?.[1]}`);
        assert.match(up.output, /lost the connection to NATS|cannot reach NATS at/, up.output);
        const partial = await fleetState(ws);
        t.diagnostic(`state after the failed up: ${partial.resources.length} fleet resources, ${partial.pending.length} pending operations`);
        assert.ok(partial.resources.length >= 1 && partial.resources.length < FLEET_STREAMS.length, `expected a partial state, got ${partial.resources.length}`);

        // While the broker is down, a preview (refresh: always) fails fast too, naming the broker.
        const down = await timed(() => cli(ws, ["preview"]));
        assert.notEqual(down.value.code, 0, down.value.output);
        assert.match(down.value.output, new RegExp(`cannot reach NATS at ${server.url.replace(/[.]/g, "\\.")}`), down.value.output);
        assert.ok(down.seconds < 30, `preview against a dead broker took ${down.seconds}s`);

        // Same store, same ports: whatever the broker persisted before it died is adopted, the rest created.
        await server.start();
        await assertConverges(ws, server);
    });
}

/** A preview against a broker that accepts TCP and never answers: it fails, naming the URL, and every process ends. */
async function previewFailsInTime(ws: PulumiWorkspace, url: string, t: TestContext): Promise<void> {
    // A hang is what this guards against: kill the whole tree past the bound, so the test fails instead of waiting forever.
    const { value: r, seconds } = await timed(() => spawnCli(ws, ["preview"], () => undefined, 120_000));
    t.diagnostic(`preview failed in ${seconds}s`);
    assert.equal(r.signal, null, `preview hung and was killed after ${seconds}s:\n${r.output}`);
    assert.notEqual(r.code, 0, r.output);
    assert.match(r.output, new RegExp(`cannot reach NATS at ${url.replace(/[.]/g, "\\.")}: TIMEOUT`), r.output);
    assert.ok(seconds < 60, `preview against a frozen broker took ${seconds}s`);
}

function frozenBrokers(version: ServerVersion) {
    test("a port that accepts TCP and never sends INFO: preview fails within a minute naming the URL", async (t) => {
        const silent = await silentListener();
        after(() => silent.close());
        const [monitor] = await freePorts(1);
        const ws = await fleetStack({ url: silent.url, monitorUrl: `http://127.0.0.1:${monitor}` });
        after(() => ws.dispose());
        await previewFailsInTime(ws, silent.url, t);
        assert.ok(silent.accepted() >= 1, "preview never connected to the listener");
    });

    test(`${version.version}: a nats-server frozen with kill -STOP: preview fails within a minute naming the URL; resumed, preview works`, async (t) => {
        const server = await startServer({ bin: version.bin });
        after(async () => {
            resumeServer(server);
            await server.stop();
        });
        const ws = await fleetStack(server);
        after(() => ws.dispose());
        pauseServer(server);
        await previewFailsInTime(ws, server.url, t);
        resumeServer(server);
        await cliOk(ws, ["preview"]);
    });
}

describe("broker faults", { concurrency: CONCURRENCY }, () => {
    const versions = e2eServerVersions();
    for (const version of versions) brokerFaults(version);
    // A frozen broker is frozen the same way on every server line.
    frozenBrokers(versions[0]);
    // The CLI itself killed mid-up: test/e2e/processes.test.ts.
});
