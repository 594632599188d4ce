// The broker's floor: a plain nats.js script doing what the kanade fleet asks
// of the broker, with nothing of Pulumi or of our providers loaded.
//
//   node bench/floor.ts create <servers> <configs.json>
//       one connection, then every stream created at once (the 24 backing
//       streams of the fleet's streams, KV buckets and object stores, with
//       the exact configs the providers send)
//   node bench/floor.ts check <servers> <configs.json>
//       one connection, every stream read back at once and compared with
//       its desired config: what a no-change preview or up must at least do
//
// Prints one JSON line: { mode, streams, differences, differing, ms } (ms in-process).
import { readFileSync } from "node:fs";
import { connect, type StreamConfig } from "nats";

type Config = Record<string, unknown> & { name: string };

/** The server leaves out zero values (omitempty): absent equals false, 0, "" and empty. */
function isEmpty(v: unknown): boolean {
    return v === undefined || v === null || v === false || v === 0 || v === "" ||
        (typeof v === "object" && Object.keys(v as object).length === 0);
}

function same(a: unknown, b: unknown): boolean {
    return JSON.stringify(a) === JSON.stringify(b) || (isEmpty(a) && isEmpty(b));
}

async function main(): Promise<void> {
    const [mode, servers, file] = process.argv.slice(2);
    if (!["create", "check"].includes(mode) || !servers || !file) {
        throw new Error("usage: floor.js create|check <servers> <configs.json>");
    }
    const t0 = performance.now();
    const configs = JSON.parse(readFileSync(file, "utf8")) as Config[];
    const nc = await connect({ servers: servers.split(","), name: "kanade-bench-floor" });
    const differing: string[] = [];
    try {
        const jsm = await nc.jetstreamManager();
        if (mode === "create") {
            await Promise.all(configs.map((c) => jsm.streams.add(c as Partial<StreamConfig>)));
        } else {
            const infos = await Promise.all(configs.map((c) => jsm.streams.info(c.name)));
            infos.forEach((info, i) => {
                const actual = info.config as unknown as Record<string, unknown>;
                for (const [key, want] of Object.entries(configs[i])) {
                    if (!same(actual[key], want)) differing.push(`${configs[i].name}.${key}: ${JSON.stringify(actual[key])} != ${JSON.stringify(want)}`);
                }
            });
        }
    } finally {
        await nc.close();
    }
    process.stdout.write(JSON.stringify({ mode, streams: configs.length, differences: differing.length, differing, ms: performance.now() - t0 }) + "\n");
}

main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
});
