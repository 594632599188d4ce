// The processes behind a `pulumi up`, through the real CLI: the CLI killed
// (kill -9) or interrupted (Ctrl-C) mid-up leaves no language host, program
// or dynamic provider running and nothing changing the broker, and the stack
// recovers; `pulumi about` reports the runtime and the program's packages;
// state written by the previous release (provider references into bin/,
// which no longer exists) still loads, and one `up` rewrites it.
//
// The processes of a run are found in /proc by their environment: each
// workspace has its own PULUMI_HOME, which the CLI passes to every plugin and
// the language host to the program. Pulumi starts its plugins in process
// groups of their own, so once the CLI is killed they are no longer below it.
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, describe, test } from "node:test";
import { type KindName, providerSource } from "../../providers/resource.ts";
import { type PulumiWorkspace, REPO_ROOT } from "../harness/pulumi.ts";
import { e2eServerVersions } from "../harness/nats.ts";
import { type Broker, FLEET_STREAMS, cli, cliOk, fleetStack, startBroker, streamNames } from "./stack.ts";

/** How long the processes of a killed CLI may outlive it. */
const ORPHAN_DEADLINE_MS = 15_000;
/** How long a run may take to create its first stream. */
const FIRST_STREAM_TIMEOUT_MS = 120_000;

interface Proc {
    pid: number;
    cmdline: string;
}

/** Every live (not zombie) process whose environment carries this workspace's PULUMI_HOME. */
function runProcesses(ws: PulumiWorkspace): Proc[] {
    const marker = `PULUMI_HOME=${ws.env.PULUMI_HOME}`;
    const found: Proc[] = [];
    for (const entry of readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        try {
            // /proc/<pid>/stat: "pid (comm) state ..."; comm may hold spaces, so read after the last ")".
            const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
            if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) continue;
            if (!readFileSync(`/proc/${entry}/environ`, "utf8").split("\0").includes(marker)) continue;
            found.push({ pid: Number(entry), cmdline: readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").join(" ").trim() });
        } catch {
            /* gone meanwhile, or not ours to read */
        }
    }
    return found;
}

const describeProcs = (procs: Proc[]) => procs.map((p) => `  ${p.pid}: ${p.cmdline}`).join("\n") || "  (none)";

/** Polls `check` every 100 ms until it holds or `deadline` (epoch ms) passes; returns whether it held. */
async function until(deadline: number, check: () => boolean | Promise<boolean>): Promise<boolean> {
    for (;;) {
        if (await check()) return true;
        if (Date.now() >= deadline) return false;
        await sleep(100);
    }
}

const sleepUntil = (epochMs: number) => sleep(Math.max(0, epochMs - Date.now()));

/** Waits (up to FIRST_STREAM_TIMEOUT_MS) for the broker to hold at least one fleet stream. */
async function firstStream(broker: Broker, run: { done: Promise<unknown> }): Promise<void> {
    let exited = false;
    void run.done.then(() => (exited = true));
    const seen = await until(Date.now() + FIRST_STREAM_TIMEOUT_MS,
        async () => exited || (await streamNames(broker.nc)).some((s) => FLEET_STREAMS.includes(s)));
    assert.ok(seen && !exited, `up ${exited ? "ended" : "ran for " + FIRST_STREAM_TIMEOUT_MS / 1000 + " s"} before creating any fleet stream`);
}

/**
 * The file backend (gocloud's fileblob) rewrites a checkpoint's `.attrs`
 * sidecar in place, create then write: a CLI killed between the two leaves it
 * empty, and every later command on the stack fails with "failed to load
 * checkpoint: EOF". The sidecar holds only a content type, which fileblob
 * defaults when the file is missing, so removing the empty one is the repair.
 * Returns whether it had to.
 */
async function repairEmptyAttrs(ws: PulumiWorkspace): Promise<boolean> {
    const attrs = path.join(ws.dir, "state", ".pulumi", "stacks", "kanade-jetstream", `${ws.stack}.json.attrs`);
    if (statSync(attrs, { throwIfNoEntry: false })?.size !== 0) return false;
    await rm(attrs);
    return true;
}

/** Kills a CLI that a failed assertion left running (its plugins then exit by themselves). */
function stopStray(child: ChildProcess): void {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}

/** The kinds of process a fleet up runs, each of which must be found while it runs (so the search works). */
function assertRunProcesses(procs: Proc[]): void {
    for (const [what, re] of [
        ["the language host", /pulumi-language-nodejs/],
        ["the program", /@pulumi\/pulumi\/cmd\/run\b/],
        ["the dynamic-provider host", /@pulumi\/pulumi\/cmd\/dynamic-provider\b/],
    ] as const) {
        assert.ok(procs.some((p) => re.test(p.cmdline)), `${what} is not among the run's processes:\n${describeProcs(procs)}`);
    }
}

/** Which fleet streams the broker holds. */
async function fleetStreams(broker: Broker): Promise<string[]> {
    return (await streamNames(broker.nc)).filter((s) => FLEET_STREAMS.includes(s));
}

/** up converges: it succeeds, a preview then has nothing to do, and the broker holds every fleet stream. */
async function assertConverges(ws: PulumiWorkspace, broker: Broker): Promise<void> {
    await cliOk(ws, ["up", "--yes"]);
    await cliOk(ws, ["preview", "--expect-no-changes"]);
    assert.deepEqual(await fleetStreams(broker), [...FLEET_STREAMS], "the broker should hold all 24 fleet streams");
}

/** A state resource's provider kind, read from its current reference (`...providers["<kind>"]`). */
function kindOf(reference: unknown, urn: string): KindName {
    const kind = /\.providers\["(stream|keyValue|objectStore)"\]/.exec(String(reference))?.[1];
    assert.ok(kind, `${urn}: unexpected __provider ${JSON.stringify(reference)}`);
    return kind as KindName;
}

interface Deployment {
    deployment: { resources?: { urn: string; inputs?: Record<string, unknown>; outputs?: Record<string, unknown> }[] };
}

const version = e2eServerVersions()[0];

/** A fleet `up` on a fresh broker, caught once its first stream exists, with every kind of its processes running. */
async function upUnderWay(env: NodeJS.ProcessEnv = {}) {
    const broker = await startBroker(version);
    after(() => broker.stop());
    const ws = await fleetStack(broker.server, {}, { env });
    after(() => ws.dispose());
    const run = ws.start(["up", "--yes"]);
    after(() => stopStray(run.child));
    await firstStream(broker, run);
    assertRunProcesses(runProcesses(ws));
    return { broker, ws, run };
}

describe("processes", () => {
    // scripts/env.sh skips the engine's checkpoint after every step (PULUMI_SKIP_CHECKPOINTS); an
    // operator who types pulumi without it gets the per-step checkpoints. Either way a kill converges.
    for (const skipCheckpoints of ["true", "false"]) {
    test(`${version.version}, PULUMI_SKIP_CHECKPOINTS=${skipCheckpoints}: pulumi killed (kill -9) mid-up: within 15 s no host, program or provider of the run is left and the broker stops changing; the lock names pulumi cancel; cancel, refresh --clear-pending-creates, up converges`, async (t) => {
        const { broker, ws, run } = await upUnderWay({ PULUMI_SKIP_CHECKPOINTS: skipCheckpoints });
        run.child.kill("SIGKILL");
        const killedAt = Date.now();

        await sleepUntil(killedAt + 1000);
        const streamsAt1s = await streamNames(broker.nc);
        const gone = await until(killedAt + ORPHAN_DEADLINE_MS, () => runProcesses(ws).length === 0);
        t.diagnostic(`processes gone ${gone ? "after " + (Date.now() - killedAt) + " ms" : "never"}; ${streamsAt1s.length} streams 1 s after the kill`);
        assert.ok(gone, `processes of the killed run still running ${ORPHAN_DEADLINE_MS / 1000} s after the kill:\n${describeProcs(runProcesses(ws))}`);
        await sleepUntil(killedAt + ORPHAN_DEADLINE_MS);
        assert.deepEqual(await streamNames(broker.nc), streamsAt1s, "streams were created more than 1 s after the CLI was killed");
        const killed = await run.done;
        assert.equal(killed.signal, "SIGKILL", killed.output);
        assert.ok(streamsAt1s.filter((s) => FLEET_STREAMS.includes(s)).length < FLEET_STREAMS.length, `the up finished before the kill:\n${killed.output}`);

        if (await repairEmptyAttrs(ws)) t.diagnostic("the kill left the checkpoint's .attrs sidecar empty (a file-backend hazard); removed it");
        const state = JSON.parse((await ws.exportState()).text) as { deployment: { pending_operations?: unknown[] } };
        const pending = state.deployment.pending_operations?.length ?? 0;
        t.diagnostic(`${pending} pending operations in the state after the kill`);
        // Per-step checkpoints keep the creates in flight as pending operations; without them the state has none.
        if (skipCheckpoints === "false") assert.ok(pending >= 1, "expected pending creates in the state after the kill");
        else assert.equal(pending, 0);

        // The file backend's lock outlives the CLI: the next run is refused, and says what to do.
        const locked = await cli(ws, ["up", "--yes"]);
        assert.notEqual(locked.code, 0, locked.output);
        assert.match(locked.output, /currently locked/, locked.output);
        assert.match(locked.output, /pulumi cancel/, locked.output);

        // The operator's runbook: pulumi cancel removes the lock; refresh --clear-pending-creates drops
        // the pending creates (up alone converges but keeps them for good, without a word). Dropping
        // them is safe: create() adopts what they made, which the ownership registry says is this stack's.
        await cliOk(ws, ["cancel", "--yes"]);
        await cliOk(ws, ["refresh", "--yes", "--clear-pending-creates"]);
        await assertConverges(ws, broker);
    });
    }

    test(`${version.version}: Ctrl-C (SIGINT to pulumi) mid-up: the run stops with a non-zero exit, nothing of it is left running, and the next up converges`, async (t) => {
        const { broker, ws, run } = await upUnderWay();
        // A terminal's Ctrl-C reaches only the CLI: the plugins run in process groups of their own.
        run.child.kill("SIGINT");
        const interrupted = await run.done;
        t.diagnostic(`up exited with ${interrupted.code} (signal ${interrupted.signal}); ${(await streamNames(broker.nc)).length} streams`);
        assert.notEqual(interrupted.code, 0, `an interrupted up should fail:\n${interrupted.output}`);
        // The engine reports its own cancellation ("update canceled") or, when the program's end reaches
        // it first, the language host's answer for the program it interrupted: a race inside the engine.
        assert.match(interrupted.output, /update canceled|Program was cancelled \(signal: interrupt\)/, interrupted.output);
        assert.ok(await until(Date.now() + 5000, () => runProcesses(ws).length === 0),
            `processes of the interrupted run still running 5 s after the CLI exited:\n${describeProcs(runProcesses(ws))}`);
        assert.ok((await fleetStreams(broker)).length < FLEET_STREAMS.length, `the up finished before the interrupt:\n${interrupted.output}`);

        await assertConverges(ws, broker);
    });

    test(`${version.version}: pulumi about prints the Node.js version and the program's packages with their versions`, async () => {
        const broker = await startBroker(version);
        after(() => broker.stop());
        const ws = await fleetStack(broker.server);
        after(() => ws.dispose());

        const about = await cliOk(ws, ["about"]);
        const node = execFileSync("node", ["--version"], { encoding: "utf8" }).trim();
        assert.match(about.stdout, new RegExp(`nodejs: executable='[^']*/node' version='${node.replace(/\./g, "\\.")}'`), about.output);
        for (const pkg of ["@pulumi/pulumi", "nats", "zod"]) {
            const installed = JSON.parse(readFileSync(path.join(REPO_ROOT, "node_modules", pkg, "package.json"), "utf8")).version as string;
            assert.match(about.stdout, new RegExp(`^${pkg}\\s+${installed.replace(/\./g, "\\.")}$`, "m"), `${pkg} ${installed} is not listed:\n${about.output}`);
        }
    });

    test(`${version.version}: state whose provider references point into bin/ (the previous release) still updates, and one up rewrites them`, async () => {
        const broker = await startBroker(version);
        after(() => broker.stop());
        const ws = await fleetStack(broker.server);
        after(() => ws.dispose());
        await cliOk(ws, ["up", "--yes"]);

        // What the previous release stored: a relative require of its compiled provider module.
        const legacy = (kind: KindName) => `exports.handler = () => require(require("path").resolve("bin/providers/${kind}")).provider;\n`;
        const state = JSON.parse((await cliOk(ws, ["stack", "export"])).stdout) as Deployment;
        const kinds = new Map<string, KindName>();
        for (const r of state.deployment.resources ?? []) {
            for (const props of [r.inputs, r.outputs]) {
                if (props?.__provider === undefined) continue;
                kinds.set(r.urn, kindOf(props.__provider, r.urn));
                props.__provider = legacy(kinds.get(r.urn)!);
            }
        }
        assert.equal(kinds.size, FLEET_STREAMS.length, "every fleet resource should carry __provider");
        const file = path.join(ws.dir, "legacy-state.json");
        await writeFile(file, JSON.stringify(state));
        await cliOk(ws, ["stack", "import", "--file", file]);
        const imported = await ws.exportState();
        for (const r of imported.resources.filter((r) => kinds.has(r.urn))) {
            assert.equal(r.inputs?.__provider, legacy(kinds.get(r.urn)!), `${r.urn}: the import should keep the old reference`);
            assert.equal(r.outputs?.__provider, legacy(kinds.get(r.urn)!), `${r.urn}: the import should keep the old reference`);
        }

        await cliOk(ws, ["up", "--yes"]);
        const updated = await ws.exportState();
        for (const [urn, kind] of kinds) {
            const r = updated.resources.find((r) => r.urn === urn);
            assert.equal(r?.inputs?.__provider, providerSource(kind), `${urn}: inputs.__provider after up`);
            assert.equal(r?.outputs?.__provider, providerSource(kind), `${urn}: outputs.__provider after up`);
        }
        await cliOk(ws, ["preview", "--expect-no-changes"]);
        assert.deepEqual(await fleetStreams(broker), [...FLEET_STREAMS]);
    });
});
