// V8's memory settings (providers/nodeMemory.ts): loading the providers'
// entry, as the dynamic-provider host does, or the program's preload keeps
// V8's young generation small while the process churns through
// short-lived objects, as a provider does per call and the program per
// resource, and Maglev compiles less; loading the providers without them
// lets V8 grow it and compile more. And V8 accepts every flag (it
// only prints an unknown one on stderr, where Pulumi would show it among the
// diagnostics of every run).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";

const inRepo = (...path: string[]) => pathToFileURL(join(import.meta.dirname, "..", "..", ...path)).href;
const providers = (file: string) => inRepo("providers", file);
const MiB = 2 ** 20;

/** Runs `body` in a fresh node (no NODE_OPTIONS, `nodeArgs` on its command line) once `modules` have loaded in turn, with `v8` imported. */
function inFreshNode(modules: string[], body: string, nodeArgs: string[] = []): Promise<{ stdout: string; stderr: string }> {
    const script = `
        const v8 = await import("node:v8");
        for (const m of ${JSON.stringify(modules)}) await import(m);
        ${body}`;
    return promisify(execFile)(process.execPath, [...nodeArgs, "--input-type=module", "-e", script], { env: { ...process.env, NODE_OPTIONS: "" } });
}

/** The young generation's size after loading `modules` in turn and a churn of short-lived objects, in a fresh node. */
async function youngGeneration(modules: string[], nodeArgs: string[] = []): Promise<{ size: number; stderr: string }> {
    const { stdout, stderr } = await inFreshNode(modules, `
        let batch = [];
        for (let i = 0; i < 3e6; i++) { batch.push({ i, text: "x" + i }); if (batch.length > 1000) batch = []; }
        const young = v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space").space_size;
        process.stdout.write(JSON.stringify({ size: young }));`, nodeArgs);
    return { ...JSON.parse(stdout), stderr };
}

test("the providers' entry and the program's preload keep the young generation small, and V8 knows every flag", async () => {
    // The stream provider alone loads the SDK, zod and nats.js, as the entry does.
    const [withEntry, withPreload, without] = await Promise.all(
        [youngGeneration([providers("dynamic.ts")]), youngGeneration([inRepo("preload.ts"), providers("stream.ts")]), youngGeneration([providers("stream.ts")])]);
    for (const { stderr } of [withEntry, withPreload]) assert.doesNotMatch(stderr, /flag/i, stderr);
    // Without the flags V8 doubles it up to 64 MiB here, every time. With them it stays at 2 MiB in most
    // processes, but V8 still grows it now and then (to 3.5-22 MiB in about 1 fresh process in 8 here):
    // a bound of twice its starting size failed CI once, so the bound is half of what it is without.
    assert.ok(without.size >= 32 * MiB, `without the flags V8 grows it (${without.size / MiB} MiB): otherwise this test proves nothing`);
    for (const [what, { size }] of [["the entry", withEntry], ["the preload", withPreload]] as const) {
        assert.ok(size <= without.size / 2, `young generation ${size / MiB} MiB with ${what} loaded, ${without.size / MiB} MiB without`);
    }
});

/**
 * What V8's tracing shows of Maglev, once `modules` have loaded in a fresh node:
 * whether it compiled a function called 700 times (`few`), one called 2 million
 * times (`many`), and whether it inlined `many`'s callee.
 */
async function maglev(...modules: string[]): Promise<{ few: boolean; many: boolean; inlined: boolean }> {
    const { stdout } = await inFreshNode(modules, `
        v8.setFlagsFromString("--trace-opt --trace-maglev-inlining");
        const add = (a, b) => a + b;
        function few(o) { return o.a + 1; }
        function many(o) { return add(o.a, o.b * 2); }
        let total = 0;
        for (let i = 0; i < 700; i++) total += few({ a: i });
        for (let i = 0; i < 2e6; i++) total += many({ a: i, b: 1 });
        v8.setFlagsFromString("--no-trace-opt --no-trace-maglev-inlining");`);
    const compiled = (name: string) => new RegExp(`compiling method .*<JSFunction ${name} .*target MAGLEV`).test(stdout);
    return { few: compiled("few"), many: compiled("many"), inlined: /^\s*greedy inlining .*SharedFunctionInfo add>/m.test(stdout) };
}

test("with the providers' entry or the program's preload loaded, Maglev compiles only what runs a thousand times, and inlines nothing", async () => {
    const [withEntry, withPreload, without] = await Promise.all(
        [maglev(providers("dynamic.ts")), maglev(inRepo("preload.ts")), maglev(providers("stream.ts"))]);
    assert.deepEqual(without, { few: true, many: true, inlined: true }, "V8's defaults changed: otherwise this test proves nothing");
    assert.deepEqual(withEntry, { few: false, many: true, inlined: false }, "with the providers' entry loaded");
    assert.deepEqual(withPreload, { few: false, many: true, inlined: false }, "with the program's preload loaded");
});

/** A project's `runtime.options.nodeargs` (Pulumi.yaml), split as the language host splits them. */
const nodeArgs = (project: string) => /^\s*nodeargs:\s*(.*)$/m.exec(readFileSync(fileURLToPath(inRepo(project, "Pulumi.yaml")), "utf8"))![1].trim().split(/\s+/);

test("the program's node flags (Pulumi.yaml nodeargs) fix its young generation at 16 MiB, preload or not, and the benchmark's program runs with the same", async () => {
    const program = nodeArgs(".");
    const flags = program.filter((a) => !["--import", "./preload.ts"].includes(a));
    assert.deepEqual(program.slice(flags.length), ["--import", "./preload.ts"], "the preload comes after the flags");
    assert.deepEqual(nodeArgs("bench/projects/synthetic"), [...flags, "--import", "../../../preload.ts"]);
    const [withPreload, flagsOnly] = await Promise.all([
        youngGeneration([inRepo("preload.ts"), providers("stream.ts")], flags),
        youngGeneration([providers("stream.ts")], flags),
    ]);
    assert.doesNotMatch(withPreload.stderr, /flag/i, withPreload.stderr);
    // Two semi-spaces of 8 MiB: neither the 2 MiB V8 starts with nor the 64 MiB it grows to here.
    assert.equal(withPreload.size, 16 * MiB, `young generation ${withPreload.size / MiB} MiB with the program's flags and preload`);
    assert.equal(flagsOnly.size, 16 * MiB, `young generation ${flagsOnly.size / MiB} MiB with the program's flags alone`);
});

test("the program's preload sets the flags of providers/nodeMemory.ts (it writes them out: the toolchain's shim runs a copy of it)", () => {
    const flags = (file: string) => [...readFileSync(fileURLToPath(inRepo(file)), "utf8").matchAll(/setFlagsFromString\(("[^"]*")\)/g)].map((m) => m[1]);
    assert.equal(flags("providers/nodeMemory.ts").length, 1);
    assert.deepEqual(flags("preload.ts"), flags("providers/nodeMemory.ts"));
});
