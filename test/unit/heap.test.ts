// The dynamic-provider host's heap flags (providers/heap.ts): loading the
// providers' entry keeps V8's young generation at the size it had while the
// process loads the providers and churns through short-lived objects, as a
// provider does per call; loading the providers without it lets V8 grow it.
// And V8 accepts every flag (it only prints an unknown one on stderr, where
// Pulumi would show it among the diagnostics of every run).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";

const providers = (file: string) => pathToFileURL(join(import.meta.dirname, "..", "..", "providers", file)).href;
const MiB = 2 ** 20;

/** The young generation's size after loading `module` and a churn of short-lived objects, in a fresh node. */
async function youngGeneration(module: string): Promise<{ size: number; stderr: string }> {
    const script = `
        await import(${JSON.stringify(module)});
        const v8 = await import("node:v8");
        let batch = [];
        for (let i = 0; i < 3e6; i++) { batch.push({ i, text: "x" + i }); if (batch.length > 1000) batch = []; }
        const young = v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space");
        process.stdout.write(String(young.space_size));`;
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], { env: { ...process.env, NODE_OPTIONS: "" } });
    return { size: Number(stdout), stderr };
}

test("the providers' entry keeps the young generation at its size, and V8 knows every flag", async () => {
    // The stream provider alone loads the SDK, zod and nats.js, as the entry does.
    const [withEntry, without] = await Promise.all([youngGeneration(providers("dynamic.ts")), youngGeneration(providers("stream.ts"))]);
    assert.doesNotMatch(withEntry.stderr, /flag/i, withEntry.stderr);
    // Loading the module graph grows it before any module runs (8 MiB here); V8 would then double it twice more.
    assert.ok(without.size >= 32 * MiB, `without the flags V8 grows it (${without.size / MiB} MiB): otherwise this test proves nothing`);
    assert.ok(withEntry.size <= without.size / 2, `young generation ${withEntry.size / MiB} MiB with the entry loaded, ${without.size / MiB} MiB without`);
});
