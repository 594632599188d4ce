// preload.ts relies on the Pulumi SDK's internals (which files load
// TypeScript, arborist, the Automation API and source-map-support, and how
// debuggablePromise records its debug info and tracks promises): this fails when an SDK upgrade
// changes them, instead of the program silently paying for them again.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { test } from "node:test";
import { REPO_ROOT } from "../harness/pulumi.ts";
import { PROMISE_DEBUG_LINES, PROMISE_TRACKING } from "../../preload.ts";

// What the SDK's run script (cmd/run) loads before the program: the SDK and
// source-map-support; then what the preload must still let work (a wrapped
// promise, with and without PULUMI_DEBUG_PROMISE_LEAKS) or make fail loudly.
const probe = `
const pulumi = require("@pulumi/pulumi");
const fromRunScript = require("node:module").createRequire(require.resolve("@pulumi/pulumi/cmd/run/index.js"));
fromRunScript("source-map-support/register");
fromRunScript("../../runtime/closure/v8Hooks").isInitializedAsync();
const tracing = fromRunScript("./tracing");
const span = tracing.newSpan("a span");
span.setAttribute("k", "v").addEvent("e");
span.end();
const loaded = Object.keys(require.cache);
const failure = (f) => { try { f(); return undefined; } catch (err) { return err.message; } };
const automation = failure(() => pulumi.automation.LocalWorkspace);
const { debuggablePromise, promiseDebugString } = require("@pulumi/pulumi/runtime/debuggable.js");
const inner = Promise.resolve(42);
debuggablePromise(inner, "a context").then(async (value) => {
    const debug = promiseDebugString(inner);
    const serialised = await pulumi.runtime.serializeFunction(() => 1).then(() => ({ serialised: true }), (err) => ({ serialised: false, error: err.message }));
    console.log(JSON.stringify({ loaded, automation, value, debug, ...serialised }));
});`;

interface ProbeOut {
    loaded: string[];
    automation?: string;
    value: number;
    debug: string;
    serialised: boolean;
    error?: string;
}

/** Runs `script` in a fresh node from the repository root: its exit status, stderr and last line of stdout, parsed. */
function runScript<T>(script: string, args: string[], env: NodeJS.ProcessEnv): { status: number | null; stderr: string; out: T } {
    const r = spawnSync(process.execPath, ["--no-warnings", ...args, "-e", script], { cwd: REPO_ROOT, encoding: "utf8", env: { ...process.env, ...env } });
    return { status: r.status, stderr: r.stderr, out: JSON.parse(r.stdout.trim().split("\n").pop()!) as T };
}

function runProbe(args: string[], env: NodeJS.ProcessEnv = {}): ProbeOut {
    const r = runScript<ProbeOut>(probe, args, env);
    assert.equal(r.status, 0, r.stderr);
    return r.out;
}

const HEAVY = /node_modules\/(typescript|@npmcli\/arborist|normalize-package-data|execa|js-yaml|source-map-support|source-map)\//;

test("with preload.ts, loading @pulumi/pulumi skips TypeScript, arborist, the Automation API, source-map-support, V8's debugger and OpenTelemetry's SDK; their uses fail loudly", () => {
    const out = runProbe(["--import", "./preload.ts"], { PULUMI_DEBUG_PROMISE_LEAKS: "" });
    assert.deepEqual(out.loaded.filter((k) => k.startsWith("kanade-standin:")).sort(),
        ["kanade-standin:automation", "kanade-standin:codePaths", "kanade-standin:source-map-support", "kanade-standin:tracing", "kanade-standin:typescript", "kanade-standin:v8Hooks"]);
    assert.deepEqual(out.loaded.filter((k) => /node_modules\/@opentelemetry\/(sdk-trace-base|exporter-zipkin|resources)\//.test(k)), [], "OpenTelemetry's SDK is not loaded");
    assert.deepEqual(out.loaded.filter((k) => HEAVY.test(k)), []);
    assert.equal(out.serialised, false);
    assert.match(out.error ?? "", /(typescript|V8.s debugger session|code paths.*) was not loaded \(preload\.ts\): this program stores no serialised closures/);
    assert.match(out.automation ?? "", /the Automation API was not loaded \(preload\.ts\)/);
});

test("with preload.ts, the SDK's promises carry no debug info unless PULUMI_DEBUG_PROMISE_LEAKS asks for it, and still resolve", () => {
    const quiet = runProbe(["--import", "./preload.ts"], { PULUMI_DEBUG_PROMISE_LEAKS: "" });
    assert.equal(quiet.value, 42);
    assert.equal(quiet.debug, "CONTEXT(undefined): undefined\nSTACK_TRACE:\nundefined");
    const debugging = runProbe(["--import", "./preload.ts"], { PULUMI_DEBUG_PROMISE_LEAKS: "1" });
    assert.equal(debugging.value, 42);
    assert.match(debugging.debug, /^CONTEXT\(\d+\): a context\nSTACK_TRACE:\nError\n\s+at debuggablePromise /);
});

// The SDK's leak check at exit, as the run script meets it: two promises
// left pending, one fulfilled and one rejected (the rejection handled).
const leakProbe = `
const { debuggablePromise } = require("@pulumi/pulumi/runtime/debuggable.js");
const state = require("@pulumi/pulumi/runtime/state.js");
debuggablePromise(new Promise(() => {}), "never settles");
debuggablePromise(new Promise(() => {}), "never settles either");
const boom = new Error("boom");
Promise.all([
    debuggablePromise(Promise.resolve(42), "fulfilled"),
    debuggablePromise(Promise.reject(boom), "rejected").catch((err) => err === boom && "the same error"),
]).then((settled) => console.log(JSON.stringify({ settled, tracker: state.getStore().leakCandidates.constructor.name })));`;

const runLeakProbe = (args: string[], env: NodeJS.ProcessEnv) => runScript<{ settled: unknown[]; tracker: string }>(leakProbe, args, env);

test("with preload.ts, the SDK's leak check counts its pending promises instead of tracking each, and still fails a program that leaves some", () => {
    const quiet = runLeakProbe(["--import", "./preload.ts"], { PULUMI_DEBUG_PROMISE_LEAKS: "" });
    assert.deepEqual(quiet.out, { settled: [42, "the same error"], tracker: "PendingPromiseCount" });
    assert.equal(quiet.status, 1, "a program exiting with promises pending fails");
    assert.match(quiet.stderr, /The Pulumi runtime detected that 2 promises were still active/);
    const debugging = runLeakProbe(["--import", "./preload.ts"], { PULUMI_DEBUG_PROMISE_LEAKS: "1" });
    assert.deepEqual(debugging.out, { settled: [42, "the same error"], tracker: "Set" });
    assert.equal(debugging.status, 1);
    assert.deepEqual([...debugging.stderr.matchAll(/CONTEXT\(\d+\): (.*)/g)].map((m) => m[1]), ["never settles", "never settles either"]);
    const without = runLeakProbe([], { PULUMI_DEBUG_PROMISE_LEAKS: "" });
    assert.deepEqual(without.out, { settled: [42, "the same error"], tracker: "Set" });
    assert.equal(without.status, 1);
    assert.match(without.stderr, /The Pulumi runtime detected that 2 promises were still active/);
});

test("without it, the SDK and its run script load them and record every promise's debug info (the preload's targets still exist)", () => {
    const sdk = createRequire(import.meta.url);
    const runScript = readFileSync(sdk.resolve("@pulumi/pulumi/cmd/run/index.js"), "utf8");
    assert.match(runScript, /require\("source-map-support\/register"\)/);
    assert.match(runScript, /require\("\.\.\/\.\.\/runtime\/closure\/v8Hooks"\)[\s\S]*isInitializedAsync\(\)/);
    const debuggable = readFileSync(sdk.resolve("@pulumi/pulumi/runtime/debuggable.js"), "utf8");
    assert.match(debuggable, PROMISE_DEBUG_LINES);
    assert.match(debuggable, PROMISE_TRACKING);
    // The tracing stand-in offers start, stop and newSpan, and spans with end, setAttribute and addEvent: all the run script uses.
    const run = readFileSync(sdk.resolve("@pulumi/pulumi/cmd/run/run.js"), "utf8");
    assert.deepEqual([...new Set([...run.matchAll(/\btracing\.(\w+)/g)].map((m) => m[1]))].sort(), ["newSpan", "start", "stop"]);
    assert.deepEqual([...new Set([...run.matchAll(/\b\w*[sS]pan\.(\w+)\(/g)].map((m) => m[1]))].sort(), ["addEvent", "end", "setAttribute"]);
    const out = runProbe([], { PULUMI_DEBUG_PROMISE_LEAKS: "" });
    for (const name of ["typescript", "@npmcli/arborist", "execa", "source-map-support", "@opentelemetry/exporter-zipkin"]) {
        assert.ok(out.loaded.some((k) => k.includes(`/node_modules/${name}/`)), `${name} is no longer loaded by @pulumi/pulumi: preload.ts may be obsolete`);
    }
    assert.equal(out.serialised, true);
    assert.match(out.debug, /^CONTEXT\(\d+\): a context\nSTACK_TRACE:\nError/);
});
