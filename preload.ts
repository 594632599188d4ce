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
// - Node's compile cache keeps compiled code between runs.
// test/unit/preload.test.ts fails when an SDK upgrade changes what this
// relies on. Without this file (as with upstream's shim) everything runs the
// same, only slower.
import { enableCompileCache, registerHooks } from "node:module";

const STANDINS: [RegExp, string][] = [
    [/\/@pulumi\/pulumi\/typescript-shim\.js$/, "typescript"],
    [/\/@npmcli\/arborist\/lib\/index\.js$/, "@npmcli/arborist"],
    [/\/source-map-support\/register\.js$/, ""],
];

/** The source of a stand-in: empty, or an object whose every use throws, naming what was skipped. */
function standIn(name: string): string {
    if (!name) return "";
    return `const fail = () => { throw new Error(${JSON.stringify(
        `${name} was not loaded (preload.ts): this program stores no serialised closures; remove the preload from Pulumi.yaml's nodeargs if it must`,
    )}); };
module.exports = new Proxy({}, { get: (_t, key) => (key === "__esModule" || typeof key === "symbol" ? undefined : fail()), ownKeys: () => [] });`;
}

export const skipped = new Set<string>();

registerHooks({
    resolve(specifier, context, nextResolve) {
        const resolved = nextResolve(specifier, context);
        const hit = STANDINS.find(([pattern]) => pattern.test(resolved.url));
        if (!hit) return resolved;
        skipped.add(hit[1] || "source-map-support");
        return { url: `kanade-standin:${hit[1] || "source-map-support"}`, format: "commonjs", shortCircuit: true };
    },
    load(url, context, nextLoad) {
        if (!url.startsWith("kanade-standin:")) return nextLoad(url, context);
        const name = url.slice("kanade-standin:".length);
        return { format: "commonjs", source: standIn(name === "source-map-support" ? "" : name), shortCircuit: true };
    },
});

enableCompileCache();
