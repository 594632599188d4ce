// Loaded before the Pulumi SDK in the program's Node.js process
// (Pulumi.yaml: runtime.options.nodeargs) and, through this toolchain's
// dynamic-provider shim (tools/pulumi), in every provider process, to skip
// start-up work neither needs:
// - `require("@pulumi/pulumi")` eagerly loads TypeScript (9 MB) and
//   @npmcli/arborist, which only serialise closures into state; our
//   providers are stored as a package reference (providers/resource.ts), so
//   nothing is serialised. Both are replaced by stand-ins that fail loudly if
//   anything ever does serialise a closure.
// - source-map-support maps every stack trace the SDK captures (one per
//   resource) back through .js.map files; Node runs our .ts sources with
//   their positions intact, so there is nothing to map.
// - the run script enables V8's debugger for the closure serialiser too.
// - Node's compile cache keeps compiled code between runs.
// test/unit/preload.test.ts fails when an SDK upgrade changes what this
// relies on. Without this file (as with upstream's shim) everything runs the
// same, only slower.
import { enableCompileCache, registerHooks } from "node:module";

/** The source of a `fail()` that names what was skipped: nothing here should ever call it. */
const fail = (name: string) => `const fail = () => { throw new Error(${JSON.stringify(
    `${name} was not loaded (preload.ts): this program stores no serialised closures; remove the preload from Pulumi.yaml's nodeargs if it must`,
)}); };`;

/** A module whose every use fails. */
const failing = (name: string) => `${fail(name)}
module.exports = new Proxy({}, { get: (_t, key) => (key === "__esModule" || typeof key === "symbol" ? undefined : fail()), ownKeys: () => [] });`;

const STANDINS: { name: string; file: RegExp; source: string }[] = [
    { name: "typescript", file: /\/@pulumi\/pulumi\/typescript-shim\.js$/, source: failing("typescript") },
    { name: "@npmcli/arborist", file: /\/@npmcli\/arborist\/lib\/index\.js$/, source: failing("@npmcli/arborist") },
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
];

registerHooks({
    resolve(specifier, context, nextResolve) {
        const resolved = nextResolve(specifier, context);
        const hit = STANDINS.find((s) => s.file.test(resolved.url));
        return hit ? { url: `kanade-standin:${hit.name}`, format: "commonjs", shortCircuit: true } : resolved;
    },
    load(url, context, nextLoad) {
        const hit = STANDINS.find((s) => url === `kanade-standin:${s.name}`);
        return hit ? { format: "commonjs", source: hit.source, shortCircuit: true } : nextLoad(url, context);
    },
});

enableCompileCache();
