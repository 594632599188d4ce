// Loaded before the Pulumi SDK in the program's Node.js process
// (Pulumi.yaml: runtime.options.nodeargs) and, through this toolchain's
// dynamic-provider shim (tools/pulumi), in every provider process, to skip
// work neither needs:
// - `require("@pulumi/pulumi")` eagerly loads TypeScript (9 MB), the closure
//   serialiser's code-path walker (@npmcli/arborist, normalize-package-data)
//   and the Automation API (execa, js-yaml and more). Our providers are
//   stored as a package reference (providers/resource.ts), so no closure is
//   serialised, and nothing here drives the CLI. They are replaced by
//   stand-ins that fail loudly if anything ever uses them.
// - source-map-support maps every stack trace the SDK captures (one per
//   resource) back through .js.map files; Node runs our .ts sources with
//   their positions intact, so there is nothing to map.
// - the run script enables V8's debugger for the closure serialiser too.
// - the run script loads OpenTelemetry's SDK for its own spans, only of use
//   with `pulumi --tracing` (which then warns that it skips them).
// - the SDK wraps each of its promises (well over 100 per resource) with a
//   captured stack trace and a description, which it only ever prints with
//   PULUMI_DEBUG_PROMISE_LEAKS set: at 1000 resources they held 25 MB.
//   Without that variable they are no longer recorded, and the promises its
//   leak check tracks (40 per resource, each in a Set and two more promises)
//   are counted instead: 17 MB fewer live objects at 1000 resources.
// - Node's compile cache keeps compiled code (and stripped TypeScript)
//   between runs, written as soon as a batch of modules is loaded.
// - V8 sizes the heap for the machine and tiers up eagerly: the flags of
//   providers/nodeMemory.ts, set here before the SDK loads, bound the
//   program's memory as they bound the provider host's. Written out, not
//   imported: the toolchain's shim runs a copy of this file, away from the
//   repository (test/unit/nodeMemory.test.ts keeps the two equal).
// test/unit/preload.test.ts fails when an SDK upgrade changes what this
// relies on. Without this file (as with upstream's shim) everything runs the
// same, only slower and bigger.
import { enableCompileCache, flushCompileCache, registerHooks } from "node:module";
import { setFlagsFromString } from "node:v8";

setFlagsFromString("--semi-space-growth-factor=1 --heap-growing-percent=25 --no-maglev-inlining --invocation-count-for-maglev=1000");

/** The source of a `fail()` that names what was skipped: nothing here should ever call it. */
const fail = (name: string) => `const fail = () => { throw new Error(${JSON.stringify(
    `${name} was not loaded (preload.ts): this program stores no serialised closures and runs no Automation API; remove the preload from Pulumi.yaml's nodeargs if it must`,
)}); };`;

/**
 * A module whose every use fails. `esModule` makes TypeScript's
 * `__importStar` hand out the module itself, so that a use through the
 * namespace it is imported as (`pulumi.automation.LocalWorkspace`) fails too.
 */
const failing = (name: string, esModule = false) => `${fail(name)}
module.exports = new Proxy({}, { get: (_t, key) => (key === "__esModule" ? ${esModule} || undefined : typeof key === "symbol" ? undefined : fail()), ownKeys: () => [] });`;

const STANDINS: { name: string; file: RegExp; source: string }[] = [
    { name: "typescript", file: /\/@pulumi\/pulumi\/typescript-shim\.js$/, source: failing("typescript") },
    // runtime/index.js re-exports computeCodePaths when it loads, so that one name must exist.
    {
        name: "codePaths",
        file: /\/@pulumi\/pulumi\/runtime\/closure\/codePaths\.js$/,
        source: `${fail("the closure serialiser's code paths (@npmcli/arborist)")}
exports.computeCodePaths = fail;`,
    },
    { name: "automation", file: /\/@pulumi\/pulumi\/automation\/index\.js$/, source: failing("the Automation API", true) },
    { name: "source-map-support", file: /\/source-map-support\/register\.js$/, source: "" },
    // The run script turns on V8's debugger (Debugger.enable) before the
    // program starts, only to name the files of closures it serialises; with
    // the debugger on, every script parsed is reported and the program runs slower.
    {
        name: "v8Hooks",
        file: /\/@pulumi\/pulumi\/runtime\/closure\/v8Hooks\.js$/,
        source: `${fail("V8's debugger session")}
exports.isInitializedAsync = async () => {};
exports.getScriptUrl = () => undefined;
exports.getSessionAsync = async () => fail();`,
    },
    // The run script's own spans: with them, `pulumi --tracing` would include
    // the program's start-up, and the real module loads the OpenTelemetry SDK
    // and a Zipkin exporter (about 50 ms) even when nothing traces. The run
    // script uses a span's end, setAttribute and addEvent.
    {
        name: "tracing",
        file: /\/@pulumi\/pulumi\/cmd\/run\/tracing\.js$/,
        source: `const span = { end() {}, setAttribute() { return span; }, addEvent() { return span; } };
exports.newSpan = () => span;
exports.start = () => process.emitWarning("the program's spans are not traced: preload.ts skips the SDK's OpenTelemetry set-up; remove it from Pulumi.yaml's nodeargs to trace the program");
exports.stop = () => {};`,
    },
];

/** debuggablePromise's three lines that record a promise's id, description and stack, for promiseDebugString. */
export const PROMISE_DEBUG_LINES =
    /\n(\s*Object\.defineProperty\(p, "_debugId",[^\n]*\n\s*Object\.defineProperty\(p, "_debugCtx",[^\n]*\n\s*Object\.defineProperty\(p, "_debugStackTrace", \{ writable: true, value: new Error\(\)\.stack \}\);)\n/;

/** Where debuggablePromise adds a promise to its store's leak candidates (a Set), then wraps it twice to take it out again. */
export const PROMISE_TRACKING =
    /\n(\s*)(localStore\.leakCandidates\.add\(p\);\n\s*return p\n\s*\.then\(\(val\) => \{\n\s*localStore\.leakCandidates\.delete\(p\);)/;

// Without PULUMI_DEBUG_PROMISE_LEAKS the leak check at exit only reads how
// many promises are pending (leakedPromises lists them only when debugging):
// a count per store, settled by two handlers the store shares, instead of a
// Set entry, two closures and two derived promises per promise.
const PENDING_PROMISE_COUNT = `
class PendingPromiseCount {
    constructor() {
        this.size = 0;
        this.fulfilled = (value) => { this.size--; return value; };
        this.rejected = (err) => { this.size--; throw err; };
    }
}
function countedPromise(store, p) {
    if (!(store.leakCandidates instanceof PendingPromiseCount)) store.leakCandidates = new PendingPromiseCount();
    store.leakCandidates.size++;
    return p.then(store.leakCandidates.fulfilled, store.leakCandidates.rejected);
}
`;

/**
 * debuggable.js recording debug info and tracking promises one by one only
 * when the SDK will print them (PULUMI_DEBUG_PROMISE_LEAKS); each part
 * unchanged if its lines moved.
 */
function withoutPromiseBookkeeping(source: string): string {
    const quiet = source.replace(PROMISE_DEBUG_LINES, (_all, lines: string) => `\nif (exports.debugPromiseLeaks) {\n${lines}\n}\n`);
    if (!PROMISE_TRACKING.test(quiet)) return quiet;
    return quiet.replace(PROMISE_TRACKING, (_all, indent: string, tracking: string) =>
        `\n${indent}if (!exports.debugPromiseLeaks) return countedPromise(localStore, p);\n${indent}${tracking}`) + PENDING_PROMISE_COUNT;
}

// Node writes the compile cache when the process exits normally, and the
// engine ends dynamic-provider processes with SIGINT: written only at exit,
// the modules no program loads (the provider host, the other kinds) would be
// compiled, and TypeScript stripped, afresh in every provider process. So
// the cache is written once the modules loaded together are compiled.
let persisting = false;
function persistSoon(): void {
    if (persisting) return;
    persisting = true;
    setImmediate(() => {
        persisting = false;
        flushCompileCache();
    }).unref();
}

registerHooks({
    resolve(specifier, context, nextResolve) {
        const resolved = nextResolve(specifier, context);
        const hit = STANDINS.find((s) => s.file.test(resolved.url));
        return hit ? { url: `kanade-standin:${hit.name}`, format: "commonjs", shortCircuit: true } : resolved;
    },
    load(url, context, nextLoad) {
        const hit = STANDINS.find((s) => url === `kanade-standin:${s.name}`);
        if (hit) return { format: "commonjs", source: hit.source, shortCircuit: true };
        persistSoon();
        const loaded = nextLoad(url, context);
        if (loaded.source === undefined || loaded.source === null || !url.endsWith("/@pulumi/pulumi/runtime/debuggable.js")) return loaded;
        return { ...loaded, source: withoutPromiseBookkeeping(String(loaded.source)) };
    },
});

enableCompileCache();
