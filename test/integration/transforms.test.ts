// Subject transforms on a stream's sources and on its mirror (2.10+), on
// every server line: messages arrive renamed, the broker's read-back plans no
// change, a source's transforms change in place and a mirror's are planned as
// a replacement; the combinations the server refuses are refused by check in
// the server's words; a line without them refuses the setting by name.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { atLeast, parseVersion } from "../../providers/rules.ts";
import { provider as stream } from "../../providers/stream.ts";
import { bothServerVersions, jsApi } from "../harness/nats.ts";
import { brokerConfig, brokerForSuite, checked, created, isolateFromNatsEnv, messages, publish, rawCreate, rawUpdate, rejects, streamInfo } from "./support.ts";

isolateFromNatsEnv();

const V2_10 = [2, 10, 0] as const;
const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Waits until the stream holds `count` messages (sourcing is asynchronous). */
async function holds(nc: Parameters<typeof messages>[0], name: string, count: number): Promise<void> {
    const deadline = Date.now() + 15_000;
    while ((await messages(nc, name)) < count) {
        if (Date.now() > deadline) assert.fail(`${name} holds ${await messages(nc, name)} messages, expected ${count}`);
        await new Promise((r) => setTimeout(r, 100));
    }
}

/** The subjects of the stream's messages. */
async function subjects(nc: Parameters<typeof messages>[0], name: string): Promise<string[]> {
    const info = await jsApi<{ state: { subjects?: Record<string, number> } }>(nc, `$JS.API.STREAM.INFO.${name}`, { subjects_filter: ">" });
    return Object.keys(info.state.subjects ?? {}).sort();
}

/** check() failures as one text. */
async function refusal(raw: Record<string, unknown>): Promise<string> {
    const r = await stream.check!({}, raw);
    assert.ok(r.failures?.length, `expected check to refuse ${JSON.stringify(raw)}`);
    return JSON.stringify(r.failures);
}

for (const version of bothServerVersions()) {
    describe(`nats-server ${version.version}`, () => {
        const broker = brokerForSuite(version);
        const supported = atLeast(parseVersion(version.version), V2_10);
        const transforms = [{ src: "orders.eu.>", dest: "eu.orders.>" }, { src: "orders.us.>" }];

        if (!supported) {
            test("transforms on a source: refused naming the setting and 2.10; the server would drop them", async () => {
                await created(stream, { name: "OLD_ORIGIN", subjects: ["old.>"] });
                const inputs = await checked(stream, { name: "OLD_AGG", sources: [{ name: "OLD_ORIGIN", subjectTransforms: [{ src: "old.>", dest: "x.>" }] }] });
                await rejects(stream.create(inputs), /does not support sources with subject_transforms \(needs nats-server >= 2\.10\.0\)/);
                assert.equal(await streamInfo(broker.nc, "OLD_AGG"), undefined, "nothing was created");
                const stored = await rawCreate(broker.nc, { name: "OLD_AGG", sources: [{ name: "OLD_ORIGIN", subject_transforms: [{ src: "old.>", dest: "x.>" }] }] });
                assert.deepEqual(stored.sources, [{ name: "OLD_ORIGIN" }], "2.9 drops the transforms without a word");
            });
            return;
        }

        test("a source with transforms: messages arrive renamed, the read-back plans no change", async () => {
            await created(stream, { name: "ORDERS", subjects: ["orders.>"] });
            await publish(broker.nc, "orders.eu.1", 1);
            await publish(broker.nc, "orders.us.1", 1);
            await publish(broker.nc, "orders.asia.1", 1);
            const agg = await created(stream, { name: "AGG", sources: [{ name: "ORDERS", subjectTransforms: transforms }] });
            assert.deepEqual((await brokerConfig(broker.nc, "AGG")).sources,
                [{ name: "ORDERS", subject_transforms: [{ src: "orders.eu.>", dest: "eu.orders.>" }, { src: "orders.us.>", dest: "" }] }]);
            await holds(broker.nc, "AGG", 2);
            assert.deepEqual(await subjects(broker.nc, "AGG"), ["eu.orders.1", "orders.us.1"], "asia filtered out, eu renamed");
            assert.equal((await stream.diff!(agg.id, agg.outs, agg.inputs)).changes, false);
            const read = await stream.read!(agg.id, agg.outs as never);
            assert.deepEqual((read.inputs as { sources: unknown }).sources, [{ name: "ORDERS", subjectTransforms: transforms }]);

            const news = await checked(stream, { name: "AGG", sources: [{ name: "ORDERS", subjectTransforms: [{ src: "orders.asia.>", dest: "asia.>" }] }] });
            const plan = await stream.diff!(agg.id, agg.outs, news);
            assert.deepEqual([plan.changes, plan.replaces], [true, []], "a source's transforms change in place");
            const { outs } = await stream.update!(agg.id, agg.outs, news);
            assert.deepEqual((await brokerConfig(broker.nc, "AGG")).sources, [{ name: "ORDERS", subject_transforms: [{ src: "orders.asia.>", dest: "asia.>" }] }]);
            assert.equal((await stream.diff!(agg.id, outs as never, news)).changes, false);

            // Drift: a transform changed behind the provider's back shows in refresh and plans an update back.
            await rawUpdate(broker.nc, "AGG", { sources: [{ name: "ORDERS", subject_transforms: [{ src: "orders.asia.>", dest: "elsewhere.>" }] }] });
            const refreshed = await stream.read!(agg.id, outs as never);
            assert.deepEqual((refreshed.inputs as { sources: unknown }).sources, [{ name: "ORDERS", subjectTransforms: [{ src: "orders.asia.>", dest: "elsewhere.>" }] }]);
            const back = await stream.diff!(agg.id, refreshed.props as never, news);
            assert.deepEqual([back.changes, back.replaces], [true, []]);
        });

        test("a mirror with transforms: renamed copies, no change planned; another transform is a replacement", async () => {
            await created(stream, { name: "MIRROR_ORIGIN", subjects: ["m.>"] });
            await publish(broker.nc, "m.a", 2);
            const m = await created(stream, { name: "RENAMED", mirror: { name: "MIRROR_ORIGIN", subjectTransforms: [{ src: "m.>", dest: "copy.>" }] } });
            await holds(broker.nc, "RENAMED", 2);
            assert.deepEqual(await subjects(broker.nc, "RENAMED"), ["copy.a"]);
            assert.equal((await stream.diff!(m.id, m.outs, m.inputs)).changes, false);
            const r = await stream.check!(m.outs, { name: "RENAMED", mirror: { name: "MIRROR_ORIGIN", subjectTransforms: [{ src: "m.>", dest: "other.>" }] }, allowDataLoss: true });
            assert.equal(r.failures, undefined, JSON.stringify(r.failures));
            const news = r.inputs as Record<string, unknown>;
            assert.deepEqual((await stream.diff!(m.id, m.outs, news)).replaces, ["mirror"]);
            const refused = await rawUpdate(broker.nc, "RENAMED", { mirror: { name: "MIRROR_ORIGIN", subject_transforms: [{ src: "m.>", dest: "other.>" }] } })
                .then(() => "", errorText);
            assert.match(refused, /mirror configuration can not be updated/, "why it is a replacement");
        });

        const refusals: { what: string; raw: Record<string, unknown>; server: Record<string, unknown>; text: RegExp }[] = [
            {
                what: "a source's filterSubject with transforms",
                raw: { name: "R1", sources: [{ name: "ORDERS", filterSubject: "orders.>", subjectTransforms: transforms }] },
                server: { name: "R1", sources: [{ name: "ORDERS", filter_subject: "orders.>", subject_transforms: [{ src: "orders.eu.>", dest: "" }] }] },
                text: /10144/,
            },
            {
                what: "a mirror's filterSubject with transforms",
                raw: { name: "R2", mirror: { name: "ORDERS", filterSubject: "orders.>", subjectTransforms: transforms } },
                server: { name: "R2", mirror: { name: "ORDERS", filter_subject: "orders.>", subject_transforms: [{ src: "orders.eu.>", dest: "" }] } },
                text: /10150/,
            },
            {
                what: "a source's transforms of which one contains the other",
                raw: { name: "R3", sources: [{ name: "ORDERS", subjectTransforms: [{ src: "orders.>" }, { src: "orders.eu.*" }] }] },
                server: { name: "R3", sources: [{ name: "ORDERS", subject_transforms: [{ src: "orders.>", dest: "" }, { src: "orders.eu.*", dest: "" }] }] },
                text: /10147/,
            },
            {
                what: "a mirror's transforms that overlap",
                raw: { name: "R4", mirror: { name: "ORDERS", subjectTransforms: [{ src: "orders.*.1" }, { src: "orders.eu.*" }] } },
                server: { name: "R4", mirror: { name: "ORDERS", subject_transforms: [{ src: "orders.*.1", dest: "" }, { src: "orders.eu.*", dest: "" }] } },
                text: /10152/,
            },
            {
                what: "two identical sources",
                raw: { name: "R5", sources: [{ name: "ORDERS", filterSubject: "orders.eu.>" }, { name: "ORDERS", filterSubject: "orders.eu.>" }] },
                server: { name: "R5", sources: [{ name: "ORDERS", filter_subject: "orders.eu.>" }, { name: "ORDERS", filter_subject: "orders.eu.>" }] },
                text: /10140/,
            },
        ];
        for (const r of refusals) {
            test(`${r.what}: check refuses it with the server's code, as the server does`, async () => {
                assert.match(await refusal(r.raw), r.text);
                assert.match(await rawCreate(broker.nc, r.server).then(() => "", errorText), r.text);
            });
        }

        test("a source's filters may overlap when neither contains the other: check and server accept them", async () => {
            const overlapping = [{ src: "orders.*.1" }, { src: "orders.eu.*" }];
            const inputs = await checked(stream, { name: "OVERLAP", sources: [{ name: "ORDERS", subjectTransforms: overlapping }] });
            await stream.create(inputs);
            assert.deepEqual((await brokerConfig(broker.nc, "OVERLAP")).sources,
                [{ name: "ORDERS", subject_transforms: overlapping.map((t) => ({ ...t, dest: "" })) }]);
        });

        test("sources of one stream that differ in their transforms are not duplicates", async () => {
            const inputs = await checked(stream, {
                name: "TWO_WAYS",
                sources: [{ name: "ORDERS", subjectTransforms: [{ src: "orders.eu.>", dest: "a.>" }] }, { name: "ORDERS", subjectTransforms: [{ src: "orders.eu.>", dest: "b.>" }] }],
            });
            await stream.create(inputs);
            await holds(broker.nc, "TWO_WAYS", 2);
            assert.deepEqual(await subjects(broker.nc, "TWO_WAYS"), ["a.1", "b.1"]);
        });
    });
}
