// One broker connection per server set per process, opened on first use and
// shared by every resource. Credentials come from Pulumi config (secrets) or
// the environment at call time: nothing here is captured when Pulumi
// serialises a provider, and nothing is written to state.
import { readFileSync } from "node:fs";
import {
    type ConnectionOptions,
    type NatsConnection,
    type ServerInfo,
    connect,
    credsAuthenticator,
    nkeyAuthenticator,
} from "nats";
import { z } from "zod";
import { JetStreamError } from "./errors.ts";

/** Reads one config key of this project (`kanade-jetstream:<key>`), or undefined. */
export type ConfigGetter = (key: string) => string | undefined;

const serverList = z
    .string()
    .transform((s) => (s.trim().startsWith("[") ? (JSON.parse(s) as unknown) : s.split(",")))
    .pipe(z.array(z.string().trim().min(1)).min(1));

export const connectionSettings = z
    .object({
        servers: serverList,
        user: z.string().optional(),
        password: z.string().optional(),
        token: z.string().optional(),
        /** Contents of a .creds file (user JWT + nkey seed). */
        creds: z.string().optional(),
        /** An nkey user seed (SU...). */
        nkeySeed: z.string().optional(),
        tls: z.object({ caFile: z.string().optional(), certFile: z.string().optional(), keyFile: z.string().optional() }).optional(),
    })
    .refine((s) => !s.password || s.user, { message: "a NATS password needs a user (natsUser / NATS_USER)" });

export type ConnectionSettings = z.infer<typeof connectionSettings>;

/**
 * Connection settings from stack config, falling back to the environment the
 * way the nats CLI reads it (NATS_URL, NATS_USER, NATS_PASSWORD, NATS_TOKEN,
 * NATS_CREDS and NATS_NKEY as file paths, NATS_CA, NATS_CERT, NATS_KEY).
 */
export function resolveSettings(config: ConfigGetter, env: NodeJS.ProcessEnv = process.env): ConnectionSettings {
    const file = (path: string | undefined) => (path ? readFileSync(path, "utf8") : undefined);
    const tls = {
        caFile: config("natsTlsCa") ?? env.NATS_CA,
        certFile: config("natsTlsCert") ?? env.NATS_CERT,
        keyFile: config("natsTlsKey") ?? env.NATS_KEY,
    };
    const parsed = connectionSettings.safeParse({
        servers: config("servers") ?? env.NATS_URL,
        user: config("natsUser") ?? env.NATS_USER,
        password: config("natsPassword") ?? env.NATS_PASSWORD,
        token: config("natsToken") ?? env.NATS_TOKEN,
        creds: config("natsCreds") ?? file(env.NATS_CREDS),
        nkeySeed: config("natsNkeySeed") ?? file(env.NATS_NKEY)?.trim(),
        tls: tls.caFile || tls.certFile || tls.keyFile ? tls : undefined,
    });
    if (!parsed.success) {
        const missing = parsed.error.issues.some((i) => i.path[0] === "servers");
        throw new Error(
            missing
                ? "no NATS servers configured: set kanade-jetstream:servers in the stack config or NATS_URL in the environment"
                : `bad NATS connection settings: ${parsed.error.issues.map((i) => `${i.path.join(".") || "settings"}: ${i.message}`).join("; ")}`,
        );
    }
    return parsed.data;
}

function options(s: ConnectionSettings): ConnectionOptions {
    const opts: ConnectionOptions = {
        servers: s.servers,
        name: "kanade-jetstream",
        // Fail within seconds when nothing answers, but ride out a node
        // restart in a cluster once connected.
        timeout: 3000,
        maxReconnectAttempts: 10,
        reconnectTimeWait: 500,
    };
    if (s.user) Object.assign(opts, { user: s.user, pass: s.password });
    if (s.token) opts.token = s.token;
    // nats.js only finds the seed block when a newline follows its END line, and
    // Pulumi config drops a value's trailing newline (so does "$(cat file)").
    if (s.creds) opts.authenticator = credsAuthenticator(new TextEncoder().encode(`${s.creds.trim()}\n`));
    else if (s.nkeySeed) opts.authenticator = nkeyAuthenticator(new TextEncoder().encode(s.nkeySeed.trim()));
    if (s.tls) opts.tls = { ...s.tls };
    return opts;
}

const connections = new Map<string, Promise<NatsConnection>>();

/**
 * The shared connection for these settings. Neither a failed attempt nor a
 * connection that closed (the broker stayed away longer than the reconnect
 * attempts) is cached: the next call connects afresh.
 */
export function brokerConnection(s: ConnectionSettings): Promise<NatsConnection> {
    const key = JSON.stringify(s);
    let pending = connections.get(key);
    if (!pending) {
        const attempt: Promise<NatsConnection> = connect(options(s)).then(
            (nc) => {
                if (nc.info) infoAtConnect.set(nc, nc.info);
                void nc.closed().then(() => {
                    if (connections.get(key) === attempt) connections.delete(key);
                });
                return nc;
            },
            (err: unknown) => {
                connections.delete(key);
                throw connectError(s, err);
            },
        );
        pending = attempt;
        connections.set(key, pending);
    }
    return pending;
}

// nats.js clears a connection's server info while it reconnects.
const infoAtConnect = new WeakMap<NatsConnection, ServerInfo>();

/** What the connected nats-server said of itself (version, cluster), also while reconnecting. */
export function serverInfo(nc: NatsConnection): ServerInfo {
    const info = nc.info ?? infoAtConnect.get(nc);
    if (!info) throw new Error("the NATS connection did not report the server's info");
    return info;
}

function connectError(s: ConnectionSettings, err: unknown): Error {
    const where = s.servers.join(",");
    const code = (err as { code?: string }).code ?? "";
    const reason = err instanceof Error ? err.message : String(err);
    if (/AUTHORIZATION|AUTHENTICATION/i.test(code) || /authoriz|authenticat/i.test(reason)) {
        return new Error(`NATS at ${where} refused the credentials (${reason}): check NATS_USER/NATS_PASSWORD, NATS_TOKEN, NATS_CREDS, NATS_NKEY or the kanade-jetstream:nats* secrets`);
    }
    return new Error(`cannot reach NATS at ${where}: ${reason}`);
}

/** Closes every shared connection, so a process can exit. */
export async function closeConnections(): Promise<void> {
    const all = [...connections.values()];
    connections.clear();
    await Promise.all(all.map((p) => p.then((nc) => nc.close()).catch(() => undefined)));
}

const API_TIMEOUT_MS = 10_000;

/** One JetStream API request, answering the server's JSON as it sent it. */
export async function jsApi<T>(nc: NatsConnection, subject: string, body?: unknown): Promise<T> {
    const full = `$JS.API.${subject}`;
    let reply;
    try {
        reply = await nc.request(full, body === undefined ? undefined : JSON.stringify(body), { timeout: API_TIMEOUT_MS });
    } catch (err) {
        const code = (err as { code?: string }).code;
        // nats.js fails pending requests with TIMEOUT when the connection closes.
        if (nc.isClosed()) {
            throw new Error(`lost the connection to NATS${nc.getServer() ? ` at ${nc.getServer()}` : ""} during ${full} (the broker went away and did not come back within the reconnect attempts)`);
        }
        if (code === "503") throw new Error(`JetStream is not enabled on the broker (no responders for ${full})`);
        if (code === "TIMEOUT") throw new Error(`the broker did not answer ${full} within ${API_TIMEOUT_MS / 1000}s (JetStream unavailable or no quorum?)`);
        throw err;
    }
    const json = JSON.parse(new TextDecoder().decode(reply.data)) as { error?: { err_code: number; description: string } } & T;
    if (json.error) throw new JetStreamError(json.error.err_code, json.error.description, full);
    return json;
}
