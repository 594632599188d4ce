// The data-loss guard on every server line: a delete or replacement of a
// stream, bucket or store that holds messages fails unless the program opts
// in with allowDataLoss, and leaves everything as it was.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type NatsConnection } from "nats";
import { provider as keyValue } from "../../providers/keyValue.ts";
import { provider as objectStore } from "../../providers/objectStore.ts";
import { provider as stream } from "../../providers/stream.ts";
import { bothServerVersions } from "../harness/nats.ts";
import { brokerConfig, brokerForSuite, checked, created, isolateFromNatsEnv, messages, type Props, type Provider, publish, rawDelete, rejects, streamInfo } from "./support.ts";

isolateFromNatsEnv();

interface Kind {
    label: string;
    p: Provider;
    /** Inputs for a resource called `name`. */
    args: (name: string) => Record<string, unknown>;
    stream: (name: string) => string;
    /** Puts `n` messages into it. */
    fill: (nc: NatsConnection, name: string, n: number) => Promise<void>;
    /** How errors name it, followed by `what` (a regex source). */
    named: (name: string, what?: string) => RegExp;
}

const KINDS: Kind[] = [
    {
        label: "stream", p: stream,
        args: (name) => ({ name, subjects: [`${name}.>`] }),
        stream: (name) => name,
        fill: (nc, name, n) => publish(nc, `${name}.x`, n),
        named: (name, what = "delete failed") => new RegExp(`^stream "${name}": ${what}`),
    },
    {
        label: "KV bucket", p: keyValue,
        args: (name) => ({ bucket: name, history: 5 }),
        stream: (name) => `KV_${name}`,
        fill: async (nc, name, n) => {
            const kv = await nc.jetstream().views.kv(name);
            for (let i = 0; i < n; i++) await kv.put(`key${i}`, new TextEncoder().encode(`value ${i}`));
        },
        named: (name, what = "delete failed") => new RegExp(`^KV bucket "${name}" \\(stream KV_${name}\\): ${what}`),
    },
    {
        label: "object store", p: objectStore,
        args: (name) => ({ bucket: name, maxBytes: "10MiB" }),
        stream: (name) => `OBJ_${name}`,
        fill: async (nc, name, n) => {
            const os = await nc.jetstream().views.os(name);
            for (let i = 0; i < n; i++) await os.putBlob({ name: `obj${i}` }, new Uint8Array(1000).fill(i));
        },
        named: (name, what = "delete failed") => new RegExp(`^object store "${name}" \\(stream OBJ_${name}\\): ${what}`),
    },
];

for (const version of bothServerVersions()) {
    describe(`nats-server ${version.version}`, () => {
        const broker = brokerForSuite(version);

        for (const k of KINDS) {
            describe(k.label, () => {
                const short = k.label.split(" ")[0].toLowerCase();

                test("holding messages: delete fails clearly and leaves it intact", async () => {
                    const name = `${short}_full`;
                    const { id, outs } = await created(k.p, k.args(name));
                    await k.fill(broker.nc, name, 3);
                    const held = await messages(broker.nc, k.stream(name));
                    const config = await brokerConfig(broker.nc, k.stream(name));
                    await rejects(k.p.delete!(id, outs), k.named(name), new RegExp(`it holds ${held} messages \\(\\d+ bytes\\)`),
                        /Nothing was changed/, /allowDataLoss: true/);
                    assert.equal(await messages(broker.nc, k.stream(name)), held);
                    assert.deepEqual(await brokerConfig(broker.nc, k.stream(name)), config);
                });

                test("holding messages with allowDataLoss: true in state: deleted", async () => {
                    const name = `${short}_optin`;
                    const { id, outs } = await created(k.p, { ...k.args(name), allowDataLoss: true });
                    assert.equal(outs.allowDataLoss, true);
                    await k.fill(broker.nc, name, 2);
                    await k.p.delete!(id, outs);
                    assert.equal(await streamInfo(broker.nc, k.stream(name)), undefined);
                });

                test("empty: deleted freely", async () => {
                    const name = `${short}_empty`;
                    const { id, outs } = await created(k.p, k.args(name));
                    await k.p.delete!(id, outs);
                    assert.equal(await streamInfo(broker.nc, k.stream(name)), undefined);
                });

                test("already gone: delete succeeds", async () => {
                    const name = `${short}_gone`;
                    const { id, outs } = await created(k.p, k.args(name));
                    await k.fill(broker.nc, name, 1);
                    await rawDelete(broker.nc, k.stream(name));
                    await k.p.delete!(id, outs);
                    await k.p.delete!(id, outs);
                });

                test("replacement with allowDataLoss in the new inputs: diff's opt-in carries to the delete", async () => {
                    const name = `${short}_repl`;
                    const { id, outs } = await created(k.p, k.args(name));
                    await k.fill(broker.nc, name, 2);
                    // check() with the olds, as the engine calls it for a resource the stack has.
                    const news = (await k.p.check!(outs, { ...k.args(name), storage: "memory", allowDataLoss: true })).inputs;
                    const diff = await k.p.diff!(id, outs, news);
                    assert.deepEqual(diff, { changes: true, replaces: ["storage"], deleteBeforeReplace: true });
                    assert.equal(outs.allowDataLoss, false);
                    await k.p.delete!(id, outs); // the engine passes the old state: allowDataLoss false
                    assert.equal(await streamInfo(broker.nc, k.stream(name)), undefined);
                    const { outs: replaced } = await k.p.create(news);
                    assert.equal((await brokerConfig(broker.nc, k.stream(name))).storage, "memory");
                    assert.equal((replaced as Props).allowDataLoss, true);
                });

                test("replacement without the opt-in: refused in preview (check), the delete fails too, and nothing is lost", async () => {
                    const name = `${short}_norepl`;
                    const { id, outs } = await created(k.p, k.args(name));
                    await k.fill(broker.nc, name, 2);
                    const held = await messages(broker.nc, k.stream(name));
                    const { inputs: news, failures } = await k.p.check!(outs, { ...k.args(name), storage: "memory" });
                    assert.equal(failures?.length, 1, JSON.stringify(failures));
                    assert.match(failures[0].reason, k.named(name, "replacing it \\(storage"));
                    assert.match(failures[0].reason, new RegExp(`holds ${held} messages`));
                    assert.match(failures[0].reason, /allowDataLoss: true/);
                    assert.deepEqual((await k.p.diff!(id, outs, news)).replaces, ["storage"], "diff only plans");
                    await rejects(k.p.delete!(id, outs), k.named(name), /it holds \d+ messages/, /deleting or replacing it would lose/);
                    assert.equal(await messages(broker.nc, k.stream(name)), held);
                    assert.equal((await brokerConfig(broker.nc, k.stream(name))).storage, "file");
                });
            });
        }

        test("an in-place diff with allowDataLoss does not open the guard for a later delete", async () => {
            const { id, outs } = await created(stream, { name: "GUARD_INPLACE", subjects: ["guard.inplace.>"] });
            await publish(broker.nc, "guard.inplace.x", 1);
            await stream.diff!(id, outs, await checked(stream, { name: "GUARD_INPLACE", subjects: ["guard.inplace.>"], maxMsgs: 10, allowDataLoss: true }));
            await rejects(stream.delete!(id, outs), /it holds 1 message /);
        });

        test("a later diff without the opt-in withdraws an earlier one", async () => {
            const args = { name: "GUARD_WITHDRAW", subjects: ["guard.withdraw.>"] };
            const { id, outs } = await created(stream, args);
            await publish(broker.nc, "guard.withdraw.x", 1);
            await stream.diff!(id, outs, (await stream.check!(outs, { ...args, storage: "memory", allowDataLoss: true })).inputs);
            await stream.diff!(id, outs, (await stream.check!(outs, { ...args, storage: "memory" })).inputs);
            await rejects(stream.delete!(id, outs), /it holds 1 message /);
            assert.equal(await messages(broker.nc, "GUARD_WITHDRAW"), 1);
        });
    });
}
