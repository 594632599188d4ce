// The one lifecycle behind all three resource kinds: check, diff, create
// (adopting what already exists), read, update and delete of the backing
// stream. A kind (stream.ts, keyValue.ts, objectStore.ts) only says how its
// inputs become a stream config and back.
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { type ConfigGetter, brokerConnection, jsApi, resolveSettings, serverInfo } from "./connection.ts";
import { ERR, JetStreamError, resourceError } from "./errors.ts";
import { type FieldChange, compare, describeChange, forServer } from "./plan.ts";
import { type Field, MANAGED_FIELDS, type StreamConfig, type Version, parseVersion, withUserMetadata } from "./rules.ts";

/** What every kind's checked inputs carry besides its own settings. */
export interface ManagedInputs {
    allowDataLoss: boolean;
}

export interface Kind<S extends z.ZodType<ManagedInputs>> {
    /** How messages name this kind: "stream", "KV bucket", "object store". */
    label: string;
    schema: S;
    /** The resource's own name on the broker (stream name or bucket). */
    nameOf(inputs: z.infer<S>): string;
    streamName(inputs: z.infer<S>): string;
    toStreamConfig(inputs: z.infer<S>): StreamConfig;
    /** The broker's config in this kind's input form, for refresh. */
    fromStreamConfig(config: StreamConfig): Omit<z.infer<S>, "allowDataLoss">;
    /** The input property a stream-config field comes from, for plans and errors. */
    inputOf(field: Field): string;
}

/**
 * The layout of the outputs this version writes; a later release reads it to
 * migrate state an earlier one wrote.
 */
export const SCHEMA_VERSION = 1;

/** State outputs: the actual config in input form, the stream and its config. */
export type Outputs<I> = I & { stream: string; config: StreamConfig; schemaVersion: number; __provider?: string };

interface StreamInfo {
    config: StreamConfig;
    state: { messages: number; bytes: number };
}

const MANAGED = new Set<string>(MANAGED_FIELDS);

// Stack config, from the provider's configure(); connection settings are
// resolved at call time so credentials never live in a serialised provider.
let stackConfig: ConfigGetter = () => undefined;

// Replacement opt-ins seen by diff, for the delete the engine runs next in
// the same process: delete itself only sees the old state.
const replacementOptIns = new Map<string, boolean>();

async function broker(): Promise<{ nc: Awaited<ReturnType<typeof brokerConnection>>; version: Version; versionText: string }> {
    const nc = await brokerConnection(resolveSettings(stackConfig));
    const versionText = serverInfo(nc).version;
    return { nc, version: parseVersion(versionText), versionText };
}

type Broker = Awaited<ReturnType<typeof broker>>;

/**
 * The request body this broker can store: only fields its version knows,
 * and replicas > 1 only on a cluster (a single server would record the
 * setting on update without replicating anything).
 */
function requestFor(config: StreamConfig, b: Broker): StreamConfig {
    const replicas = config.num_replicas ?? 1;
    if (replicas > 1 && !serverInfo(b.nc).cluster) {
        throw new Error(`replicas ${replicas} needs a JetStream cluster, but nats-server ${b.versionText} at ${b.nc.getServer()} runs alone: use replicas 1`);
    }
    return forServer(config, b.version, b.versionText);
}

async function streamInfo(nc: Awaited<ReturnType<typeof brokerConnection>>, stream: string): Promise<StreamInfo | undefined> {
    try {
        return await jsApi<StreamInfo>(nc, `STREAM.INFO.${stream}`);
    } catch (err) {
        if (err instanceof JetStreamError && err.errCode === ERR.streamNotFound) return undefined;
        throw err;
    }
}


export function lifecycle<S extends z.ZodType<ManagedInputs>>(kind: Kind<S>): pulumi.dynamic.ResourceProvider {
    type Inputs = z.infer<S>;
    const describe = (name: string, stream: string) =>
        stream === name ? `${kind.label} "${name}"` : `${kind.label} "${name}" (stream ${stream})`;
    const describeInputs = (inputs: Inputs) => describe(kind.nameOf(inputs), kind.streamName(inputs));

    const outputs = (config: StreamConfig, allowDataLoss: boolean): Outputs<Inputs> =>
        ({ ...kind.fromStreamConfig(config), allowDataLoss, stream: config.name, config: withUserMetadata(config), schemaVersion: SCHEMA_VERSION }) as Outputs<Inputs>;

    /** Fails unless the server stored what was sent (older servers drop fields they do not know). */
    const verifyApplied = (resource: string, desired: StreamConfig, applied: StreamConfig, version: Version, versionText: string) => {
        const missed = compare(desired, applied, version);
        if (missed.length) {
            const fields = missed.map((c) => `${c.field} (sent ${JSON.stringify(c.to)}, the broker kept ${JSON.stringify(c.from)})`);
            throw new Error(`${resource}: nats-server ${versionText} did not apply ${fields.join(", ")}; ` +
                "it may not support these settings: remove them or upgrade the server");
        }
    };

    const immutableError = (resource: string, blocking: FieldChange[], versionText: string) =>
        new Error(`${resource} already exists on the broker with a config nats-server ${versionText} cannot change in place: ` +
            `${blocking.map((c) => `${kind.inputOf(c.field)} (${describeChange(c)})`).join(", ")}. ` +
            "Make the program match the broker, or move the data away and remove the stream (nats stream rm) so it can be created anew.");

    /** Sends the full config (the API replaces, it does not merge), keeping fields this program does not manage. */
    const applyUpdate = async (resource: string, existing: StreamInfo, desired: StreamConfig): Promise<StreamConfig> => {
        const b = await broker();
        const { nc, version, versionText } = b;
        const unmanaged = Object.fromEntries(Object.entries(existing.config).filter(([k]) => !MANAGED.has(k)));
        const body = requestFor({ ...unmanaged, ...desired }, b);
        const blocking = compare(desired, existing.config, version).filter((c) => c.change === "replace");
        if (blocking.length) throw immutableError(resource, blocking, versionText);
        const updated = await jsApi<StreamInfo>(nc, `STREAM.UPDATE.${desired.name}`, body);
        verifyApplied(resource, desired, updated.config, version, versionText);
        return updated.config;
    };

    return {
        async configure(req: pulumi.dynamic.ConfigureRequest) {
            stackConfig = (key) => req.config.get(key);
        },

        async check(_olds: unknown, news: Record<string, unknown>) {
            const { __provider: _, ...raw } = news;
            const parsed = kind.schema.safeParse(raw);
            if (parsed.success) return { inputs: parsed.data as Record<string, unknown> };
            const at = (path: PropertyKey[]) => path.reduce<unknown>((v, k) => (v as Record<PropertyKey, unknown> | undefined)?.[k], raw);
            return {
                failures: parsed.error.issues.flatMap((issue) => {
                    // An unknown key is a failure of that key, not of the whole inputs object.
                    if (issue.code === "unrecognized_keys") {
                        return issue.keys.map((key) => {
                            const property = [...issue.path, key].join(".");
                            return {
                                property,
                                reason: `${kind.label}: ${property} is not a known setting (got ${JSON.stringify(at([...issue.path, key]))})`,
                            };
                        });
                    }
                    const value = at(issue.path);
                    return {
                        property: issue.path.join(".") || "(inputs)",
                        reason: `${kind.label}: ${issue.path.join(".") || "inputs"} ${issue.message}` +
                            (value === undefined ? "" : ` (got ${JSON.stringify(value)})`),
                    };
                }),
            };
        },

        async diff(id: string, olds: Outputs<Inputs>, news: Inputs & { __provider?: string }) {
            const resource = describeInputs(news);
            let version: Version;
            let desired: StreamConfig;
            try {
                const b = await broker();
                version = b.version;
                desired = requestFor(kind.toStreamConfig(news), b);
            } catch (err) {
                throw resourceError(resource, "planning", err);
            }
            const changes = compare(desired, olds.config, version);
            const replaces = [...new Set(changes.filter((c) => c.change === "replace").map((c) => kind.inputOf(c.field)))];
            if (kind.streamName(news) !== olds.stream && !replaces.includes(kind.inputOf("name"))) replaces.push(kind.inputOf("name"));
            if (replaces.length) replacementOptIns.set(id, news.allowDataLoss);
            // The SDK's host copies the old provider reference into read's and
            // update's outputs; only an update with the new inputs replaces it,
            // so state written by an older layout (or schema) is rewritten on
            // the next `up`, with nothing sent to the broker.
            const stateOutdated = olds.__provider !== news.__provider || olds.schemaVersion !== SCHEMA_VERSION;
            return {
                changes: changes.length > 0 || replaces.length > 0 || olds.allowDataLoss !== news.allowDataLoss || stateOutdated,
                replaces,
                deleteBeforeReplace: replaces.length > 0,
            };
        },

        async create(inputs: Inputs) {
            const resource = describeInputs(inputs);
            const desired = kind.toStreamConfig(inputs);
            try {
                const b = await broker();
                const { nc, version, versionText } = b;
                // Settings this server cannot store fail the create, adopting or not.
                const body = requestFor(desired, b);
                const existing = await streamInfo(nc, desired.name);
                let config: StreamConfig;
                if (existing) {
                    // Adopt: made by the backend, by hand, or lost from state.
                    config = compare(desired, existing.config, version).length
                        ? await applyUpdate(resource, existing, desired)
                        : existing.config;
                } else {
                    const created = await jsApi<StreamInfo>(nc, `STREAM.CREATE.${desired.name}`, body);
                    verifyApplied(resource, desired, created.config, version, versionText);
                    config = created.config;
                }
                return { id: desired.name, outs: outputs(config, inputs.allowDataLoss) };
            } catch (err) {
                throw resourceError(resource, "create", err);
            }
        },

        async read(id: string, props: Outputs<Inputs>) {
            const resource = describe(props.stream ?? id, id);
            try {
                const { nc } = await broker();
                const existing = await streamInfo(nc, id);
                if (!existing) return {}; // gone: refresh drops it, the next plan creates it
                const outs = outputs(existing.config, props.allowDataLoss ?? false);
                const { stream: _s, config: _c, schemaVersion: _v, ...inputs } = outs;
                return { id, props: outs, inputs };
            } catch (err) {
                throw resourceError(resource, "read", err);
            }
        },

        async update(id: string, _olds: Outputs<Inputs>, news: Inputs) {
            const resource = describeInputs(news);
            const desired = kind.toStreamConfig(news);
            try {
                const b = await broker();
                const { nc, version } = b;
                requestFor(desired, b); // settings this server cannot store fail, even with nothing else to change
                const existing = await streamInfo(nc, id);
                if (!existing) {
                    throw new Error("it no longer exists on the broker; run `pulumi up --refresh` so it is planned as a create");
                }
                const config = compare(desired, existing.config, version).length
                    ? await applyUpdate(resource, existing, desired)
                    : existing.config;
                return { outs: outputs(config, news.allowDataLoss) };
            } catch (err) {
                throw resourceError(resource, "update", err);
            }
        },

        async delete(id: string, props: Outputs<Inputs>) {
            const resource = describe(props.stream && props.stream !== id ? props.stream : kind.nameOf(props), id);
            try {
                const { nc } = await broker();
                const existing = await streamInfo(nc, id);
                if (!existing) return; // already gone
                const optedIn = props.allowDataLoss || replacementOptIns.get(id) === true;
                if (existing.state.messages > 0 && !optedIn) {
                    const count = existing.state.messages === 1 ? "1 message" : `${existing.state.messages} messages`;
                    throw new Error(`it holds ${count} (${existing.state.bytes} bytes) that deleting or replacing it would lose. ` +
                        "Nothing was changed. Set allowDataLoss: true for this resource to proceed, or move the data first");
                }
                await jsApi(nc, `STREAM.DELETE.${id}`);
            } catch (err) {
                throw resourceError(resource, "delete", err);
            }
        },
    };
}
