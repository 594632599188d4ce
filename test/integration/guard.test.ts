// The data-loss guard and the ownership registry on every server line (issue
// 11): lowered limits, adoptions, deletes by the current config's opt-in,
// consumers as content, and streams another stack manages. Each refusal is
// asserted where the engine meets it in preview (check: with no olds for a
// resource new to the stack, with its olds for one it has; diff stays a plan,
// since the engine also calls it while refreshing with the previous run's
// inputs) and again at the step itself (create, update, delete: the broker
// may have changed since preview); the broker is read back with raw requests
// before and after, and the opt-in lets it proceed.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type NatsConnection } from "nats";
import { provider as keyValue } from "../../providers/keyValue.ts";
import { claim, REGISTRY_BUCKET, REGISTRY_STREAM, registration } from "../../providers/ownership.ts";
import { provider as stream } from "../../providers/stream.ts";
import { bothServerVersions, jsApi } from "../harness/nats.ts";
import {
    brokerConfig, brokerForSuite, checked, configFor, configure, created, isolateFromNatsEnv, messages, type Props, type Provider, publish, rawCreate,
    registeredOwner, rejects, streamInfo,
} from "./support.ts";

isolateFromNatsEnv();

const A = "acme/kanade-jetstream/a";
const B = "acme/kanade-jetstream/b";

/**
 * check() must refuse, the failure reasons matching every pattern; olds: the
 * resource's state when the stack has it ({}: new to the stack). The checked
 * inputs, for the step's own backstop.
 */
async function refusedInCheck(p: Provider, olds: Record<string, unknown>, raw: Record<string, unknown>, ...patterns: RegExp[]): Promise<Record<string, unknown>> {
    const { inputs, failures } = await p.check!(olds, raw);
    assert.ok(failures?.length, `check should have refused ${JSON.stringify(raw)}`);
    const reasons = failures.map((f) => f.reason).join("\n");
    for (const pattern of patterns) assert.match(reasons, pattern);
    return inputs as Record<string, unknown>;
}

/** check() with the resource's state as olds, as the engine calls it for a resource the stack has. */
async function rechecked(p: Provider, olds: Props, raw: Record<string, unknown>): Promise<Record<string, unknown>> {
    const { inputs, failures } = await p.check!(olds, raw);
    assert.equal(failures, undefined, JSON.stringify(failures));
    return inputs as Record<string, unknown>;
}

/** Publishes `count` messages of `size` bytes, acknowledged. */
async function publishSized(nc: NatsConnection, subject: string, count: number, size: number): Promise<void> {
    const js = nc.jetstream();
    for (let i = 0; i < count; i++) await js.publish(subject, new Uint8Array(size).fill(i));
}

const OPT_IN = /Set allowDataLoss: true on the resource/;

for (const version of bothServerVersions()) {
    describe(`nats-server ${version.version}`, () => {
        const broker = brokerForSuite(version);
        const is29 = version.label === "2.9";

        /** What `fn` writes with console.warn: a dynamic provider's warnings reach the CLI through stderr. */
        async function warned(fn: () => Promise<unknown>): Promise<string[]> {
            const lines: string[] = [];
            const original = console.warn;
            console.warn = (...args: unknown[]) => void lines.push(args.join(" "));
            try {
                await fn();
            } finally {
                console.warn = original;
            }
            return lines;
        }

        describe("1. limits lowered below what the stream holds: refused by check (preview) and by update", () => {
            test("maxMsgs: names the stream, the setting and how many of the oldest go", async () => {
                const args = { name: "SHRINK_MSGS", subjects: ["shrink.msgs.>"] };
                const { id, outs } = await created(stream, args);
                await publish(broker.nc, "shrink.msgs.x", 10);
                const patterns = [/maxMsgs 4: it holds 10 messages, the oldest 6 would be dropped/, /Nothing was changed/, OPT_IN, /overrides\.SHRINK_MSGS\.allowDataLoss/];
                const news = await refusedInCheck(stream, outs, { ...args, maxMsgs: 4 }, /^stream "SHRINK_MSGS": the update would drop messages/, ...patterns);
                assert.deepEqual(await stream.diff!(id, outs, news), { changes: true, replaces: [], deleteBeforeReplace: false }, "diff only plans");
                await rejects(stream.update!(id, outs, news), /^stream "SHRINK_MSGS": update failed: the update would drop messages/, ...patterns);
                assert.equal(await messages(broker.nc, "SHRINK_MSGS"), 10);
                assert.equal((await brokerConfig(broker.nc, "SHRINK_MSGS")).max_msgs, -1);

                const optedIn = await rechecked(stream, outs, { ...args, maxMsgs: 4, allowDataLoss: true });
                assert.deepEqual((await stream.diff!(id, outs, optedIn)).replaces, []);
                await stream.update!(id, outs, optedIn);
                assert.equal(await messages(broker.nc, "SHRINK_MSGS"), 4);
            });

            test("maxBytes: the bytes held and about how many messages go", async () => {
                const args = { name: "SHRINK_BYTES", subjects: ["shrink.bytes.>"], discard: "old" };
                const { id, outs } = await created(stream, args);
                await publishSized(broker.nc, "shrink.bytes.x", 20, 4096);
                const held = (await streamInfo(broker.nc, "SHRINK_BYTES"))!.state;
                const news = await refusedInCheck(stream, outs, { ...args, maxBytes: "16KiB" }, /^stream "SHRINK_BYTES": the update would drop messages: maxBytes 16KiB: it holds [\d.]+KiB in 20 messages, about 1[67] of the oldest would be dropped/);
                await rejects(stream.update!(id, outs, news), /update failed/, /maxBytes 16KiB/);
                assert.deepEqual((await streamInfo(broker.nc, "SHRINK_BYTES"))!.state.messages, held.messages);
                assert.equal((await brokerConfig(broker.nc, "SHRINK_BYTES")).max_bytes, -1);
            });

            test("maxAge: the oldest message's age", async () => {
                const args = { name: "SHRINK_AGE", subjects: ["shrink.age.>"] };
                const { id, outs } = await created(stream, args);
                await publish(broker.nc, "shrink.age.x", 3);
                await new Promise((r) => setTimeout(r, 2100)); // older than the 2s asked for below
                const news = await refusedInCheck(stream, outs, { ...args, maxAge: "2s" }, /^stream "SHRINK_AGE": the update would drop messages: maxAge 2s: its oldest message is \ds old/,
                    /of its 3 messages, every one older than 2s would be dropped/);
                await rejects(stream.update!(id, outs, news), /update failed/, /maxAge 2s/);
                assert.equal(await messages(broker.nc, "SHRINK_AGE"), 3);
                assert.equal((await brokerConfig(broker.nc, "SHRINK_AGE")).max_age, 0);
            });

            test("KV history: counts the older revisions per key (subjects_filter)", async () => {
                const { id, outs } = await created(keyValue, { bucket: "shrink_history", history: 5 });
                const kv = await broker.nc.jetstream().views.kv("shrink_history");
                for (const [key, revisions] of [["a", 3], ["b", 2], ["c", 1]] as const) {
                    for (let i = 0; i < revisions; i++) await kv.put(key, new TextEncoder().encode(`${key}${i}`));
                }
                const news = await refusedInCheck(keyValue, outs, { bucket: "shrink_history", history: 1 },
                    /^KV bucket "shrink_history" \(stream KV_shrink_history\): the update would drop messages: history 1: 2 subjects \(keys\) hold more, up to 3; the oldest 3 messages/,
                    /overrides\.shrink_history\.allowDataLoss/);
                await rejects(keyValue.update!(id, outs, news), /update failed/, /history 1/);
                assert.equal(await messages(broker.nc, "KV_shrink_history"), 6);
                assert.equal((await brokerConfig(broker.nc, "KV_shrink_history")).max_msgs_per_subject, 5);

                const optedIn = await rechecked(keyValue, outs, { bucket: "shrink_history", history: 1, allowDataLoss: true });
                await keyValue.diff!(id, outs, optedIn);
                await keyValue.update!(id, outs, optedIn);
                assert.equal((await brokerConfig(broker.nc, "KV_shrink_history")).max_msgs_per_subject, 1);
                // 2.12 drops the older revisions at the update, 2.9 at each key's next write.
                if (!is29) assert.equal(await messages(broker.nc, "KV_shrink_history"), 3);
            });

            test("raising a limit, or lowering one above what is held, is not a loss", async () => {
                const args = { name: "SHRINK_NONE", subjects: ["shrink.none.>"], maxMsgs: 100 };
                const { id, outs } = await created(stream, args);
                await publish(broker.nc, "shrink.none.x", 5);
                const news = await rechecked(stream, outs, { ...args, maxMsgs: 5, maxBytes: "1MiB", maxAge: "1d" });
                assert.deepEqual(await stream.diff!(id, outs, news), { changes: true, replaces: [], deleteBeforeReplace: false });
                await stream.update!(id, outs, news);
                assert.equal(await messages(broker.nc, "SHRINK_NONE"), 5);
            });
        });

        describe("2. adoption: refused in check (preview) and by create", () => {
            test("adopting would drop messages", async () => {
                await rawCreate(broker.nc, { name: "ADOPT_SHRINK", subjects: ["adopt.shrink.>"] });
                await publish(broker.nc, "adopt.shrink.x", 10);
                const raw = { name: "ADOPT_SHRINK", subjects: ["adopt.shrink.>"], maxMsgs: 3 };
                const inputs = await refusedInCheck(stream, {}, raw,
                    /^stream "ADOPT_SHRINK": adopting the existing stream would drop messages: maxMsgs 3: it holds 10 messages, the oldest 7 would be dropped/, OPT_IN);
                await rejects(stream.create(inputs), /^stream "ADOPT_SHRINK": create failed: adopting the existing stream would drop messages/);
                assert.equal(await messages(broker.nc, "ADOPT_SHRINK"), 10);
                assert.equal((await brokerConfig(broker.nc, "ADOPT_SHRINK")).max_msgs, -1);

                await created(stream, { ...raw, allowDataLoss: true });
                assert.equal(await messages(broker.nc, "ADOPT_SHRINK"), 3);
            });

            test("settings that cannot change in place are named in preview, not after the other creates", async () => {
                await rawCreate(broker.nc, { name: "ADOPT_STORAGE", subjects: ["adopt.storage.>"], storage: "memory" });
                await publish(broker.nc, "adopt.storage.x", 2);
                const before = await brokerConfig(broker.nc, "ADOPT_STORAGE");
                await refusedInCheck(stream, {}, { name: "ADOPT_STORAGE", subjects: ["adopt.storage.>"], maxBytes: "1MiB" },
                    /^stream "ADOPT_STORAGE": it already exists on the broker with a config nats-server .* cannot change in place: storage \(storage: "memory" -> "file"\)/);
                assert.deepEqual(await brokerConfig(broker.nc, "ADOPT_STORAGE"), before);
                assert.equal(await messages(broker.nc, "ADOPT_STORAGE"), 2);
            });

            test("the engine's re-check (no olds) of a resource diff plans to replace is no adoption", async () => {
                const args = { name: "REPLACED", subjects: ["replaced.>"] };
                const { id, outs } = await created(stream, args);
                await publish(broker.nc, "replaced.x", 2);
                const news = await rechecked(stream, outs, { ...args, storage: "memory", allowDataLoss: true });
                assert.deepEqual((await stream.diff!(id, outs, news)).replaces, ["storage"]);
                // The engine checks a replacement's inputs again with no olds, the old stream still there.
                const inputs = await checked(stream, { ...args, storage: "memory", allowDataLoss: true });
                await stream.delete!(id, outs);
                await stream.create(inputs);
                assert.equal((await brokerConfig(broker.nc, "REPLACED")).storage, "memory");
            });

            test("this program's registry bucket is no resource's to declare", async () => {
                await refusedInCheck(keyValue, {}, { bucket: REGISTRY_BUCKET }, /taken by this program's ownership registry/);
            });
        });

        describe("3. a delete honours the opt-in of the stack config it runs with", () => {
            const withConfig = async (settings: Record<string, string>, fn: () => Promise<void>) => {
                await configure({ ...configFor(broker.server), ...settings });
                try {
                    await fn();
                } finally {
                    await configure(configFor(broker.server));
                }
            };
            const full = async (name: string) => {
                const r = await created(stream, { name, subjects: [`${name.toLowerCase()}.>`] });
                await publish(broker.nc, `${name.toLowerCase()}.x`, 1);
                return r;
            };

            test("overrides.<name>.allowDataLoss set now (the state says false): deleted", async () => {
                const { id, outs } = await full("DEL_OVERRIDE");
                await withConfig({ overrides: JSON.stringify({ DEL_OVERRIDE: { allowDataLoss: true } }) }, () => stream.delete!(id, outs));
                assert.equal(await streamInfo(broker.nc, "DEL_OVERRIDE"), undefined);
            });

            test("the fleet-wide allowDataLoss: deleted; an override of false for the resource wins over it", async () => {
                const { id, outs } = await full("DEL_FLEET");
                await withConfig({ allowDataLoss: "true", overrides: JSON.stringify({ DEL_FLEET: { allowDataLoss: false } }) }, async () => {
                    await rejects(stream.delete!(id, outs), /^stream "DEL_FLEET": delete failed: it holds 1 message/);
                });
                assert.equal(await messages(broker.nc, "DEL_FLEET"), 1);
                await withConfig({ allowDataLoss: "true" }, () => stream.delete!(id, outs));
                assert.equal(await streamInfo(broker.nc, "DEL_FLEET"), undefined);
            });

            test("another resource's override opens nothing", async () => {
                const { id, outs } = await full("DEL_OTHER");
                await withConfig({ overrides: JSON.stringify({ SOMETHING_ELSE: { allowDataLoss: true } }) }, async () => {
                    await rejects(stream.delete!(id, outs), /it holds 1 message/, /overrides\.DEL_OTHER\.allowDataLoss/);
                });
                assert.equal(await messages(broker.nc, "DEL_OTHER"), 1);
            });
        });

        describe("4. consumers count as content", () => {
            test("an empty stream with a durable consumer: delete and replacement refused, deleted with the opt-in", async () => {
                const args = { name: "CONSUMED", subjects: ["consumed.>"] };
                const { id, outs } = await created(stream, args);
                await jsApi(broker.nc, "$JS.API.CONSUMER.DURABLE.CREATE.CONSUMED.worker", { stream_name: "CONSUMED", config: { durable_name: "worker", ack_policy: "explicit" } });
                await rejects(stream.delete!(id, outs), /^stream "CONSUMED": delete failed: it holds 1 consumer that deleting or replacing it would lose/, OPT_IN);
                await refusedInCheck(stream, outs, { ...args, storage: "memory" },
                    /^stream "CONSUMED": replacing it \(storage cannot change in place\) deletes the stream CONSUMED, and it holds 1 consumer/);
                const info = await streamInfo(broker.nc, "CONSUMED");
                assert.equal((info!.state as { consumer_count?: number }).consumer_count, 1);

                const { outs: optedIn } = await stream.update!(id, outs, await rechecked(stream, outs, { ...args, allowDataLoss: true }));
                await stream.delete!(id, optedIn);
                assert.equal(await streamInfo(broker.nc, "CONSUMED"), undefined);
            });
        });

        describe("5. ownership: a stack neither adopts nor deletes what another manages", () => {
            test("create registers the owner in the registry bucket (history 1, file, no caps)", async () => {
                await created(stream, { name: "OWN_REG", subjects: ["own.reg.>"], owner: A });
                assert.equal(await registeredOwner(broker.nc, "OWN_REG"), A);
                const registry = await brokerConfig(broker.nc, REGISTRY_STREAM);
                assert.equal(registry.max_msgs_per_subject, 1);
                assert.equal(registry.storage, "file");
                assert.equal(registry.num_replicas, 1);
                assert.equal(registry.max_bytes, -1);
                assert.deepEqual(registry.subjects, [`$KV.${REGISTRY_BUCKET}.>`]);
                // The backing stream's own config carries nothing of it.
                assert.equal((await brokerConfig(broker.nc, "OWN_REG")).metadata, undefined);
            });

            test("another stack: refused in check and create naming the owner; its delete leaves the stream alone", async () => {
                const { outs } = await created(stream, { name: "OWN_A", subjects: ["own.a.>"], owner: A });
                await publish(broker.nc, "own.a.x", 3);
                const raw = { name: "OWN_A", subjects: ["own.a.>"], maxBytes: "1MiB", owner: B };
                const patterns = [/the stream OWN_A is managed by the stack acme\/kanade-jetstream\/a/, /this stack \(acme\/kanade-jetstream\/b\)/,
                    /takeOverFrom: "acme\/kanade-jetstream\/a"/, /overrides\.OWN_A\.takeOverFrom/];
                const inputs = await refusedInCheck(stream, {}, raw, ...patterns);
                await rejects(stream.create(inputs), /^stream "OWN_A": create failed/, ...patterns);
                // Stack B's delete of a resource it holds state for (say, from before A took it over).
                await stream.delete!("OWN_A", { ...outs, owner: B, allowDataLoss: true });
                assert.equal(await messages(broker.nc, "OWN_A"), 3);
                assert.equal((await brokerConfig(broker.nc, "OWN_A")).max_bytes, -1);
                assert.equal(await registeredOwner(broker.nc, "OWN_A"), A);
                // Nor change it in place, from state it holds: refused in preview and by update.
                const bOuts = { ...outs, owner: B };
                const news = await refusedInCheck(stream, bOuts, raw, /managed by the stack acme\/kanade-jetstream\/a/);
                await rejects(stream.update!("OWN_A", bOuts, news), /^stream "OWN_A": update failed: the stream OWN_A is managed by the stack acme\/kanade-jetstream\/a/);
                assert.equal((await brokerConfig(broker.nc, "OWN_A")).max_bytes, -1);
            });

            test("inputs the stack already has are no step: not judged, so another stack's entry does not fail that preview; a change is judged", async () => {
                const args = { name: "OWN_KEPT", subjects: ["own.kept.>"], owner: A };
                const { id, outs } = await created(stream, args);
                const refreshed = await stream.read!(id, outs as never);
                // Stack B took it over since.
                await claim(broker.nc, "OWN_KEPT", B, (await registration(broker.nc, "OWN_KEPT")).revision, 1);
                await rechecked(stream, { ...refreshed.inputs, __provider: "p" }, { ...args, __provider: "p" });
                await refusedInCheck(stream, { ...refreshed.inputs, __provider: "p" }, { ...args, maxMsgs: 10, __provider: "p" }, /managed by the stack/);
            });

            test("hand-over with takeOverFrom: B adopts and registers; A's delete then lets go without deleting; B's deletes and releases", async () => {
                const { outs: aOuts } = await created(stream, { name: "OWN_HAND", subjects: ["own.hand.>"], owner: A });
                await publish(broker.nc, "own.hand.x", 2);
                await refusedInCheck(stream, {}, { name: "OWN_HAND", subjects: ["own.hand.>"], owner: B, takeOverFrom: "acme/kanade-jetstream/c" }, /managed by the stack acme\/kanade-jetstream\/a/);
                const { id, outs: bOuts } = await created(stream, { name: "OWN_HAND", subjects: ["own.hand.>"], owner: B, takeOverFrom: A });
                assert.equal(await registeredOwner(broker.nc, "OWN_HAND"), B);
                assert.equal(bOuts.takeOverFrom, A);

                await stream.delete!(id, { ...aOuts, allowDataLoss: true });
                assert.equal(await messages(broker.nc, "OWN_HAND"), 2, "A no longer owns it: its delete removes nothing");
                await rejects(stream.delete!(id, bOuts), /it holds 2 messages/); // B's delete is guarded as any
                await stream.delete!(id, { ...bOuts, allowDataLoss: true });
                assert.equal(await streamInfo(broker.nc, "OWN_HAND"), undefined);
                assert.equal(await registeredOwner(broker.nc, "OWN_HAND"), undefined, "released");
                // Free again: any stack may create it.
                await created(stream, { name: "OWN_HAND", subjects: ["own.hand.>"], owner: A });
                assert.equal(await registeredOwner(broker.nc, "OWN_HAND"), A);
            });

            test("a stream with no entry (made by the backend, or state from the previous release) is adopted and registered", async () => {
                await rawCreate(broker.nc, { name: "OWN_BACKEND", subjects: ["own.backend.>"] });
                await created(stream, { name: "OWN_BACKEND", subjects: ["own.backend.>"], owner: A });
                assert.equal(await registeredOwner(broker.nc, "OWN_BACKEND"), A);

                const { id, outs } = await created(stream, { name: "OWN_OLDSTATE", subjects: ["own.oldstate.>"] });
                assert.equal(await registeredOwner(broker.nc, "OWN_OLDSTATE"), undefined, "no owner input, nothing registered");
                const news = await rechecked(stream, outs, { name: "OWN_OLDSTATE", subjects: ["own.oldstate.>"], owner: A });
                assert.equal((await stream.diff!(id, outs, news)).changes, true, "the owner is a change: the next up registers it");
                const { outs: updated } = await stream.update!(id, outs, news);
                assert.equal(await registeredOwner(broker.nc, "OWN_OLDSTATE"), A);
                assert.equal((updated as Props).owner, A);
            });

            test("two stacks racing for one stream: the registry's expected revision lets one win", async () => {
                await claim(broker.nc, "OWN_RACE", A, 0, 1);
                await rejects(claim(broker.nc, "OWN_RACE", B, 0, 1), /registry's entry for OWN_RACE .* changed while this step ran/);
                assert.equal(await registeredOwner(broker.nc, "OWN_RACE"), A);
            });

            test("checked inputs without an owner still respect another stack's entry", async () => {
                await created(stream, { name: "OWN_NOBODY", subjects: ["own.nobody.>"], owner: A });
                await refusedInCheck(stream, {}, { name: "OWN_NOBODY", subjects: ["own.nobody.>"] }, /a resource without an owner must not adopt/);
                assert.ok(await checked(stream, { name: "OWN_FREE", subjects: ["own.free.>"] }));
            });
        });

        describe("7. the registry is made by one request, however many creates find it missing", () => {
            test("twelve creates at once on a broker without it send one STREAM.CREATE for it, and each registers its owner", async () => {
                // The tests before this one made it.
                if (await streamInfo(broker.nc, REGISTRY_STREAM)) await jsApi(broker.nc, `$JS.API.STREAM.DELETE.${REGISTRY_STREAM}`);
                const requests = broker.nc.subscribe(`$JS.API.STREAM.CREATE.${REGISTRY_STREAM}`);
                let creates = 0;
                const counted = (async () => {
                    for await (const _ of requests) creates++;
                })();
                await broker.nc.flush();
                const names = Array.from({ length: 12 }, (_, i) => `ONCE_${i}`);
                await Promise.all(names.map((name) => created(stream, { name, subjects: [`once.${name}.>`], owner: A })));
                await broker.nc.flush();
                requests.unsubscribe();
                await counted;
                assert.equal(creates, 1);
                for (const name of names) assert.equal(await registeredOwner(broker.nc, name), A);
            });
        });

        describe("6. what an opted-in replacement will not carry over is said in preview", () => {
            test("messages, consumers and sequence numbers, in one warning naming the stream; none for an update", async () => {
                const args = { name: "CARRIED", subjects: ["carried.>"] };
                const { outs } = await created(stream, args);
                await publish(broker.nc, "carried.a", 3);
                await jsApi(broker.nc, "$JS.API.CONSUMER.DURABLE.CREATE.CARRIED.worker", { stream_name: "CARRIED", config: { durable_name: "worker", ack_policy: "explicit" } });
                const warnings = await warned(() => rechecked(stream, outs, { ...args, storage: "memory", allowDataLoss: true }));
                assert.equal(warnings.length, 1, warnings.join("\n"));
                assert.match(warnings[0], /^warning: stream "CARRIED": replacing it \(storage cannot change in place\) deletes the stream CARRIED and creates it anew without: /);
                assert.match(warnings[0], /3 messages \(\d+ bytes\) and 1 consumer; its sequence numbers \(the next message would have been 4; the new stream starts at 1\)$/);
                assert.deepEqual(await warned(() => rechecked(stream, outs, { ...args, maxMsgs: 10 })), [], "an update carries everything over");
            });
        });
    });
}
