// The package as another program uses it: `npm run pack`'s tarball installed
// into a fresh copy of examples/basic, type-checked against the shipped
// declarations, then up, read back, a no-change preview and destroy through
// the real CLI, on the Node.js lines the package supports.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { REGISTRY_STREAM } from "../../providers/ownership.ts";
import { e2eServerVersions } from "../harness/nats.ts";
import { PulumiWorkspace, REPO_ROOT, planSummary } from "../harness/pulumi.ts";
import { type Broker, cliOk, startBroker, streamConfig, streamNames } from "./stack.ts";

const EXAMPLE_STREAMS = ["KV_orders_index", "KV_sessions", "OBJ_blobs", "ORDERS", "ORDERS_MIRROR"];

/** The broker's streams but the owner registry every program's resources share. */
async function exampleStreams(broker: Broker): Promise<string[]> {
    return (await streamNames(broker.nc)).filter((name) => name !== REGISTRY_STREAM);
}

function required(name: string): string {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is not set: source scripts/env.sh (scripts/setup.sh installs it)`);
    return value;
}

describe("the packed package, used by examples/basic", () => {
    let work: string;
    let tarball: string;
    let example: string;

    before(() => {
        work = mkdtempSync(path.join(tmpdir(), "kanade-package-"));
        const printed = execFileSync("bash", [path.join(REPO_ROOT, "scripts/pack.sh"), work], { encoding: "utf8" });
        tarball = printed.trim().split("\n").pop()!;
        example = path.join(work, "example");
        cpSync(path.join(REPO_ROOT, "examples/basic"), example, { recursive: true });
        // The registry's packages come from npm's cache when npm ci already fetched them.
        execFileSync("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", tarball], { cwd: example, stdio: "pipe" });
    });

    after(() => {
        if (work) rmSync(work, { recursive: true, force: true });
    });

    test("the tarball holds the compiled package and its documents, nothing else", () => {
        const files = execFileSync("tar", ["tzf", tarball], { encoding: "utf8" }).trim().split("\n").map((f) => f.replace(/^package\//, ""));
        assert.ok(files.includes("dist/providers/index.js") && files.includes("dist/providers/index.d.ts"), files.join("\n"));
        for (const doc of ["package.json", "README.md", "CHANGELOG.md", "LICENSE"]) assert.ok(files.includes(doc), doc);
        assert.deepEqual(files.filter((f) => !/^dist\/providers\/[A-Za-z]+\.(js|d\.ts)$/.test(f) && !/^(package\.json|README\.md|CHANGELOG\.md|LICENSE)$/.test(f)), []);
        assert.ok(!files.some((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")), "TypeScript sources in the tarball");
    });

    test("the example type-checks against the shipped declarations", () => {
        execFileSync(path.join(REPO_ROOT, "node_modules/.bin/tsc"), ["-p", "tsconfig.json"], { cwd: example, stdio: "pipe" });
        const installed = readdirSync(path.join(example, "node_modules/kanade-jetstream/dist/providers"));
        assert.ok(installed.includes("stream.js"));
    });

    const nodes: [string, string][] = [
        ["24", path.dirname(process.execPath)],
        ["22", path.dirname(required("NODE22_BIN"))],
    ];
    const version = e2eServerVersions()[0];
    for (const [line, nodeDir] of nodes) {
        describe(`on Node.js ${line}, nats-server ${version.version}`, () => {
            let broker: Broker;
            let ws: PulumiWorkspace;

            before(async () => {
                broker = await startBroker(version);
                ws = await PulumiWorkspace.create(example, `node${line}`, {
                    PATH: `${nodeDir}:${process.env.PATH}`,
                    NATS_URL: broker.server.url,
                });
            });

            after(async () => {
                await ws?.dispose();
                await broker?.stop();
            });

            test("a new stack previews (a bucket named from an output is unknown), up creates the example's resources, a preview then plans nothing, destroy removes them", async () => {
                const version = execFileSync(path.join(nodeDir, "node"), ["--version"], { encoding: "utf8" });
                assert.match(version, new RegExp(`^v${line}\\.`));
                const preview = await cliOk(ws, ["preview"]);
                assert.deepEqual(planSummary(preview.stdout), { "to create": 6 }, preview.output);
                assert.deepEqual(await exampleStreams(broker), [], "preview changed the broker");
                await cliOk(ws, ["up", "--yes"]);
                assert.deepEqual(await exampleStreams(broker), EXAMPLE_STREAMS);
                assert.deepEqual((await streamConfig(broker.nc, "ORDERS_MIRROR")).mirror, { name: "ORDERS" });
                assert.equal((await streamConfig(broker.nc, "ORDERS")).max_bytes, 64 * 1024 * 1024);
                assert.equal((await streamConfig(broker.nc, "KV_sessions")).max_msgs_per_subject, 1);
                await cliOk(ws, ["preview", "--expect-no-changes"]);
                await cliOk(ws, ["destroy", "--yes"]);
                assert.deepEqual(await exampleStreams(broker), []);
            });
        });
    }
});
