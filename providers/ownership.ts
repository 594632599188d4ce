// Which stack manages which stream, recorded on the broker itself so that
// every stack pointed at it sees the same answer: a KV bucket whose key is
// the stream name and whose value is the owner id `<org>/<project>/<stack>`.
// The backing streams' own configs are left alone (the backend's bootstrap
// strips anything it did not write, metadata included).
//
// Writes use the KV protocol's optimistic concurrency (the expected last
// sequence of the key's subject; 0: the key must be new), so two stacks
// racing for one stream cannot both win. Raw requests, not nats.js' KV: stream
// names may hold characters nats.js refuses in keys, and 2.9 and 2.12 answer
// them alike.
import { setTimeout as sleep } from "node:timers/promises";
import { headers, type NatsConnection } from "nats";
import { DEFAULT_API_PREFIX } from "./apiPrefix.ts";
import { apiPrefix, jsApi } from "./connection.ts";
import { ERR, JetStreamError } from "./errors.ts";

/**
 * The registry bucket. Named after this program (the package and the config
 * namespace kanade-jetstream) so an operator reading `nats kv ls` knows whose
 * it is; the hyphens keep it apart from the backend's buckets, all
 * snake_case, and from any name the fleet's catalogue could add. Its subjects
 * ($KV.kanade-jetstream-owners.>) overlap none of the fleet's.
 */
export const REGISTRY_BUCKET = "kanade-jetstream-owners";
export const REGISTRY_STREAM = `KV_${REGISTRY_BUCKET}`;

const keySubject = (stream: string) => `$KV.${REGISTRY_BUCKET}.${stream}`;

/**
 * Where a write of the key goes. Through a domain or an API prefix, as
 * nats.go and nats.js put to a KV bucket (useJSPfx): `<prefix>.$KV.<bucket>.<key>`,
 * which the target's servers map back to `$KV.<bucket>.<key>` (domains:
 * the server's own `$JS.<domain>.API.$KV.>` mapping; accounts: the import
 * of `$KV.>` under `<prefix>.$KV.>`). A plain `$KV.` publish would land in
 * the connected account's own JetStream, or nowhere.
 */
function writeSubject(nc: NatsConnection, stream: string): string {
    const prefix = apiPrefix(nc);
    return prefix === DEFAULT_API_PREFIX ? keySubject(stream) : `${prefix}.${keySubject(stream)}`;
}

const NO_MESSAGE = 10037;
const WRONG_LAST_SEQUENCE = 10071;
const TIMEOUT_MS = 10_000;

export interface Registration {
    /** The owning stack, or undefined: no entry (never registered, or released). */
    owner: string | undefined;
    /** The key's last revision (0: never written), for the next write's expectation. */
    revision: number;
}

/** The stream's entry in the registry. */
export async function registration(nc: NatsConnection, stream: string): Promise<Registration> {
    await registryCreated(nc);
    try {
        const { message } = await jsApi<{ message: { seq: number; data?: string; hdrs?: string } }>(
            nc, `STREAM.MSG.GET.${REGISTRY_STREAM}`, { last_by_subj: keySubject(stream) });
        const hdrs = message.hdrs ? Buffer.from(message.hdrs, "base64").toString() : "";
        const removed = /^KV-Operation:\s*(DEL|PURGE)\s*$/im.test(hdrs);
        return { owner: removed ? undefined : Buffer.from(message.data ?? "", "base64").toString(), revision: message.seq };
    } catch (err) {
        if (err instanceof JetStreamError && (err.errCode === ERR.streamNotFound || err.errCode === NO_MESSAGE)) {
            return { owner: undefined, revision: 0 };
        }
        throw err;
    }
}

class NoRegistry extends Error {
    constructor() {
        super(`the ownership registry (stream ${REGISTRY_STREAM}) takes no writes (no responders)`);
    }
}

/** How long a registry just created may take to take writes: on a cluster its stream first elects a leader. */
const REGISTRY_READY_MS = 10_000;

async function write(nc: NatsConnection, stream: string, value: string, expected: number, purge: boolean): Promise<void> {
    await registryCreated(nc);
    const h = headers();
    h.set("Nats-Expected-Last-Subject-Sequence", String(expected));
    if (purge) {
        // As nats.js' kv.purge: a marker that rolls up the key's history.
        h.set("KV-Operation", "PURGE");
        h.set("Nats-Rollup", "sub");
    }
    const subject = writeSubject(nc, stream);
    let reply;
    try {
        reply = await nc.request(subject, value, { headers: h, timeout: TIMEOUT_MS });
    } catch (err) {
        if ((err as { code?: string }).code === "503") throw new NoRegistry();
        // The broker went away, or (a timeout or a permissions violation) the user may not publish there.
        throw new Error(`cannot write the ownership registry's entry for ${stream} (${subject}): ${(err as Error).message}` +
            (nc.isClosed() ? "; the connection to NATS was lost: run up again once the broker is back"
                : `; check that the broker is up and that the deploying NATS user has publish rights on ${subject.slice(0, -stream.length)}>`));
    }
    const ack = JSON.parse(new TextDecoder().decode(reply.data)) as { error?: { err_code: number; description: string } };
    if (ack.error?.err_code === WRONG_LAST_SEQUENCE) {
        throw new Error(`the ownership registry's entry for ${stream} (bucket ${REGISTRY_BUCKET}) changed while this step ran ` +
            "(another stack registered or released it): nothing was changed; run preview again to see who owns it now");
    }
    if (ack.error) throw new JetStreamError(ack.error.err_code, ack.error.description, subject);
}

// The registry's create in flight on each connection: every create of a
// fleet finds the registry missing at once, and one request makes it.
const creatingRegistry = new WeakMap<NatsConnection, Promise<void>>();

/**
 * Waits for the registry's create this connection has in flight, if any; its
 * outcome is the creator's to report. Nothing else goes to the registry
 * meanwhile: nats-server 2.9.0 to 2.9.15 lists a new stream before its store
 * exists, and the cluster node hosting a new R1 stream dies of a nil pointer
 * when a message get for it arrives in that moment (docs/server-rules.md, 8).
 */
async function registryCreated(nc: NatsConnection): Promise<void> {
    await creatingRegistry.get(nc)?.catch(() => undefined);
}

/** Creates the registry, or joins the create this connection has in flight. */
function ensureRegistry(nc: NatsConnection, replicas: number): Promise<void> {
    let creating = creatingRegistry.get(nc);
    if (!creating) {
        creating = createRegistry(nc, replicas).finally(() => creatingRegistry.delete(nc));
        creatingRegistry.set(nc, creating);
    }
    return creating;
}

/** Creates the registry bucket: KV layout, history 1, file storage, no caps. */
async function createRegistry(nc: NatsConnection, replicas: number): Promise<void> {
    try {
        await jsApi(nc, `STREAM.CREATE.${REGISTRY_STREAM}`, {
            name: REGISTRY_STREAM,
            description: "Which Pulumi stack (kanade-jetstream) manages each stream: key = stream name, value = <org>/<project>/<stack>",
            subjects: [`$KV.${REGISTRY_BUCKET}.>`],
            max_msgs_per_subject: 1,
            discard: "new",
            storage: "file",
            num_replicas: replicas,
            allow_rollup_hdrs: true,
            deny_delete: true,
            allow_direct: true,
        });
    } catch (err) {
        // Another stack made it first (with its replicas): use that one.
        if (!(err instanceof JetStreamError && err.errCode === ERR.streamNameInUse)) throw err;
    }
}

/**
 * Records `owner` as the stream's owner, if its entry is still at
 * `expected` (the revision read when judging); creates the registry on
 * first use with the resource's replicas.
 */
export async function claim(nc: NatsConnection, stream: string, owner: string, expected: number, replicas: number): Promise<void> {
    // Through a domain or prefix, a write to a registry not made yet gets no
    // 503 (the connected server forwards it to the target, which drops it)
    // but a timeout: make sure it exists first.
    if (apiPrefix(nc) !== DEFAULT_API_PREFIX) await ensureRegistry(nc, replicas);
    try {
        await write(nc, stream, owner, expected, false);
    } catch (err) {
        if (!(err instanceof NoRegistry)) throw err;
        await ensureRegistry(nc, replicas);
        // Made here or by a create running beside this one: retry until its stream takes writes.
        const deadline = Date.now() + REGISTRY_READY_MS;
        for (;;) {
            try {
                return await write(nc, stream, owner, expected, false);
            } catch (retry) {
                if (!(retry instanceof NoRegistry) || Date.now() > deadline) throw retry;
                await sleep(200);
            }
        }
    }
}

/** Removes the stream's entry, if it is still at `expected`; nothing to do when it was never written. */
export async function release(nc: NatsConnection, stream: string, expected: number): Promise<void> {
    if (expected === 0) return;
    await write(nc, stream, "", expected, true);
}
