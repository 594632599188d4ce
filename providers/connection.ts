// One broker connection per server set per process, opened on first use and
// shared by every resource. Credentials come from Pulumi config (secrets) or
// the environment at call time: nothing here is captured when Pulumi
// serialises a provider, and nothing is written to state.
import { readFileSync } from "node:fs";
import { createConnection } from "node:net";
import { type ConnectionOptions, type NatsConnection, type ServerInfo, connect, credsAuthenticator, nkeyAuthenticator, nkeys } from "nats";
import { type ApiTarget, DEFAULT_API_PREFIX, describeTarget, newestForApiLevel, resolveApiTarget, targetName, unreachableAdvice } from "./apiPrefix.ts";
import { ERR, JetStreamError, TRANSIENT } from "./errors.ts";
// Also fixes how nats.js opens connections, for every connect here.
import { closedByVerifyingServer } from "./natsWorkarounds.ts";
import { atLeast, parseVersion } from "./rules.ts";
import { type TlsMaterial, resolveTls } from "./tlsMaterial.ts";
import { tlsRefusal } from "./tlsRefusal.ts";

/** Reads one connection key (`servers`, `natsUser`, ...) of the stack config, or undefined. */
export type ConfigGetter = (key: string) => string | undefined;

/** The config keys of the connection, read through a ConfigGetter. */
export const CONNECTION_KEYS = ["servers", "natsUser", "natsPassword", "natsToken", "natsCreds", "natsNkeySeed", "natsTlsCa", "natsTlsCert", "natsTlsKey", "jsDomain", "jsApiPrefix"] as const;

/**
 * The namespace of the connection settings a program using this package sets
 * whatever its project is called (`jetstream:servers`).
 */
export const CONNECTION_NAMESPACE = "jetstream";

/**
 * Where the connection settings are read: the package's own namespace when any
 * of its keys is set, else the project's (the kanade fleet's
 * `kanade-jetstream:servers`). `get` reads a full key, `<namespace>:<key>`.
 */
export function connectionConfig(get: (key: string) => string | undefined, project: string): { get: ConfigGetter; namespace: string } {
    const own: ConfigGetter = (key) => get(`${CONNECTION_NAMESPACE}:${key}`);
    return CONNECTION_KEYS.some((key) => own(key) !== undefined)
        ? { get: own, namespace: CONNECTION_NAMESPACE }
        : { get: (key) => get(`${project}:${key}`), namespace: project };
}

/** The one way this program authenticates, and where it came from: a key or variable name, never the value. */
export type Credentials =
    | { kind: "creds"; creds: string; from: string }
    | { kind: "nkey"; seed: string; from: string }
    | { kind: "token"; token: string; from: string }
    | { kind: "user"; user: string; password?: string; from: string };

export interface ConnectionSettings {
    /** Normalised `nats://host:port` / `tls://host:port`, validated. */
    servers: string[];
    credentials?: Credentials;
    /** PEM text, read and checked, and where it came from (tlsMaterial.ts): nats.js passes the PEM to Node's tls.connect as it is. */
    tls?: TlsMaterial;
    /** A tls:// URL: the connection must be encrypted, even to a server that only offers TLS. */
    requireTls: boolean;
    /** The config namespace the keys were read from, for messages (`<namespace>:servers`). */
    namespace: string;
    /** Another domain's or account's JetStream (apiPrefix.ts); absent: the connected account's own. */
    jetstream?: ApiTarget;
}

const DEFAULT_PORT = 4222;

/**
 * Connection settings from stack config, falling back to the environment the
 * way the nats CLI reads it (NATS_URL, NATS_USER, NATS_PASSWORD, NATS_TOKEN,
 * NATS_CREDS and NATS_NKEY as file paths, NATS_CA, NATS_CERT, NATS_KEY as
 * file paths or PEM text).
 *
 * Exactly one authentication method is sent. Its source: the stack config
 * (Pulumi secrets) when it sets any credential, otherwise the environment;
 * the two are never mixed, so a stray NATS_TOKEN does not ride along with a
 * natsUser secret. Within the source: creds, then nkey seed, then token, then
 * user/password (the most specific identity first).
 */
export function resolveSettings(config: ConfigGetter, env: NodeJS.ProcessEnv = process.env, namespace = "kanade-jetstream"): ConnectionSettings {
    const fromConfig = config("servers");
    const list = fromConfig ?? env.NATS_URL;
    if (!list?.trim()) {
        throw new Error(`no NATS servers configured: set ${namespace}:servers in the stack config or NATS_URL in the environment`);
    }
    const servers = serverUrls(list, fromConfig !== undefined ? `${namespace}:servers` : "NATS_URL", namespace);
    const tls = resolveTls(config, env, namespace);
    const stack = stackCredentials(config, namespace);
    return {
        servers: servers.map((s) => s.url),
        credentials: chooseCredentials(Object.values(stack).some((c) => c.value) ? stack : envCredentials(env)),
        tls,
        requireTls: servers.some((s) => s.tls),
        namespace,
        jetstream: resolveApiTarget(config, env, namespace),
    };
}

/** Every entry of a comma list (or JSON array) as `scheme://host:port`; errors name the key or variable. */
function serverUrls(list: string, from: string, namespace: string): { url: string; tls: boolean }[] {
    let entries: unknown;
    try {
        entries = list.trim().startsWith("[") ? JSON.parse(list) : list.split(",");
    } catch {
        throw new Error(`${from} is neither a comma-separated list of NATS URLs nor a JSON array of them`);
    }
    if (!Array.isArray(entries) || !entries.every((e) => typeof e === "string")) throw new Error(`${from}: expected NATS URLs as strings`);
    return entries.map((raw, i) => serverUrl(raw.trim(), `${from} entry ${i + 1}`, namespace));
}

function serverUrl(entry: string, where: string, namespace: string): { url: string; tls: boolean } {
    // An entry with an "@" may hold a password: never repeat it.
    const shown = entry.includes("@") ? "" : ` (${JSON.stringify(entry)})`;
    const expected = "expected nats://host:port or tls://host:port";
    if (!entry) throw new Error(`${where} is empty: ${expected}`);
    let u: URL;
    try {
        u = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(entry) ? entry : `nats://${entry}`);
    } catch {
        throw new Error(`${where}${shown} is not a valid URL: ${expected}`);
    }
    if (u.username || u.password) {
        throw new Error(`${where} carries credentials in the URL (not repeated here): remove them from the URL and set the ` +
            `${namespace}:natsUser/natsPassword secrets or NATS_USER/NATS_PASSWORD instead`);
    }
    const scheme = u.protocol.slice(0, -1).toLowerCase();
    if (scheme === "ws" || scheme === "wss") {
        throw new Error(`${where}${shown} is a WebSocket URL; this program's client (nats.js for Node) speaks the NATS TCP protocol: ` +
            "use the server's client port with nats:// or tls://");
    }
    if (scheme !== "nats" && scheme !== "tls") throw new Error(`${where}${shown} has the scheme ${scheme}://: ${expected}`);
    const port = u.port ? Number(u.port) : DEFAULT_PORT;
    if (!u.hostname || port < 1) throw new Error(`${where}${shown} needs a host and a port from 1 to 65535: ${expected}`);
    if ((u.pathname && u.pathname !== "/") || u.search || u.hash) throw new Error(`${where}${shown} has a path or query: ${expected}`);
    return { url: `${scheme}://${u.hostname}:${port}`, tls: scheme === "tls" };
}

/** One credential in one source: its name for messages, and its value if set (read on demand: NATS_CREDS and NATS_NKEY name files). */
interface Found {
    name: string;
    value?: () => string;
}
type Source = Record<"creds" | "nkey" | "token" | "user" | "password", Found>;

function stackCredentials(config: ConfigGetter, namespace: string): Source {
    const key = (name: string): Found => {
        const value = config(name);
        return { name: `${namespace}:${name}`, value: value ? () => value : undefined };
    };
    return { creds: key("natsCreds"), nkey: key("natsNkeySeed"), token: key("natsToken"), user: key("natsUser"), password: key("natsPassword") };
}

function envCredentials(env: NodeJS.ProcessEnv): Source {
    const plain = (name: string): Found => {
        const value = env[name];
        return { name, value: value ? () => value : undefined };
    };
    const file = (name: string): Found => {
        const path = env[name];
        if (!path) return { name };
        return {
            name: `${name} (${path})`,
            value: () => {
                try {
                    return readFileSync(path, "utf8");
                } catch (err) {
                    const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
                    throw new Error(`${name} names ${path}, which cannot be read (${why}): point it at the file, or unset it`);
                }
            },
        };
    };
    return { creds: file("NATS_CREDS"), nkey: file("NATS_NKEY"), token: plain("NATS_TOKEN"), user: plain("NATS_USER"), password: plain("NATS_PASSWORD") };
}

function chooseCredentials({ creds, nkey, token, user, password }: Source): Credentials | undefined {
    if (creds.value) return { kind: "creds", creds: checkedCreds(creds.value(), creds.name), from: creds.name };
    if (nkey.value) return { kind: "nkey", seed: checkedSeed(nkey.value().trim(), nkey.name), from: nkey.name };
    if (token.value) return { kind: "token", token: token.value(), from: token.name };
    if (password.value && !user.value) throw new Error(`a NATS password needs a user: ${password.name} is set without ${user.name}`);
    if (user.value) {
        return { kind: "user", user: user.value(), password: password.value?.(), from: password.value ? `${user.name}/${password.name}` : user.name };
    }
    return undefined;
}

/** A user nkey seed, checked without ever printing it. */
function checkedSeed(seed: string, name: string): string {
    let valid = seed.startsWith("SU");
    try {
        if (valid) nkeys.fromSeed(new TextEncoder().encode(seed));
    } catch {
        valid = false;
    }
    if (!valid) throw new Error(`${name} does not hold a valid nkey user seed (one line starting with SU, as nk -gen user writes it)`);
    return seed;
}

/** The contents of a .creds file: a user JWT block and a valid seed block. */
function checkedCreds(text: string, name: string): string {
    const jwt = /-----BEGIN NATS USER JWT-----\s*(\S+)/.exec(text);
    const seed = /-----BEGIN USER NKEY SEED-----\s*(\S+)/.exec(text);
    if (!jwt || !seed) throw new Error(`${name} is not a NATS .creds file (it needs a NATS USER JWT block and a USER NKEY SEED block)`);
    checkedSeed(seed[1], `the seed block of ${name}`);
    return text;
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
    const c = s.credentials;
    const bytes = (text: string) => new TextEncoder().encode(text);
    // nats.js only finds the seed block when a newline follows its END line, and
    // Pulumi config drops a value's trailing newline (so does "$(cat file)").
    if (c?.kind === "creds") opts.authenticator = credsAuthenticator(bytes(`${c.creds.trim()}\n`));
    else if (c?.kind === "nkey") opts.authenticator = nkeyAuthenticator(bytes(c.seed));
    else if (c?.kind === "token") opts.token = c.token;
    else if (c?.kind === "user") Object.assign(opts, { user: c.user, pass: c.password });
    // An empty tls object still makes nats.js refuse a server without TLS.
    if (s.tls || s.requireTls) {
        const { from: _names, ...pem } = s.tls ?? { from: {} };
        opts.tls = pem;
    }
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
                if (s.jetstream) apiTargets.set(nc, s.jetstream);
                configuredServers.set(nc, s.servers);
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
const configuredServers = new WeakMap<NatsConnection, string[]>();
const apiTargets = new WeakMap<NatsConnection, ApiTarget>();

/** The JetStream this connection's requests go to, when not the connected account's own. */
export function apiTarget(nc: NatsConnection): ApiTarget | undefined {
    return apiTargets.get(nc);
}

/** The JetStream API prefix of this connection's requests: `$JS.API`, `$JS.<domain>.API` or a custom one. */
export function apiPrefix(nc: NatsConnection): string {
    return apiTargets.get(nc)?.prefix ?? DEFAULT_API_PREFIX;
}

/** What the connected nats-server said of itself (version, cluster), also while reconnecting. */
export function serverInfo(nc: NatsConnection): ServerInfo {
    const info = nc.info ?? infoAtConnect.get(nc);
    if (!info) throw new Error("the NATS connection did not report the server's info");
    return info;
}

const lowestVersions = new WeakMap<NatsConnection, Promise<string>>();
const PROBE_TIMEOUT_MS = 2000;

/**
 * The lowest nats-server version among the servers of the broker's cluster:
 * the version whose rules every request must follow, whichever server
 * answers it. Without the system account ($SYS.REQ.SERVER.PING) a client
 * cannot ask the servers, and $JS.API.INFO tells only an API level. But
 * every server sends its INFO (with its version) to any TCP client before
 * authentication, and the connected server's INFO lists the client URLs of
 * its cluster peers (connect_urls). So this is the lowest version of the
 * connected server, of its advertised peers and of the configured servers
 * that send their INFO within 2 s. Not seen: servers that are down, and the
 * peers of a cluster that sets no_advertise unless they are configured here.
 * With a domain or API prefix (apiPrefix.ts), no newer than the line the
 * API level of that JetStream allows. Learned once per connection.
 */
export function brokerVersion(nc: NatsConnection): Promise<string> {
    let pending = lowestVersions.get(nc);
    if (!pending) {
        const info = serverInfo(nc);
        const hostPort = (url: string) => url.replace(/^[a-z]+:\/\//i, "");
        const peers = new Set([...(info.connect_urls ?? []), ...(configuredServers.get(nc) ?? []).map(hostPort)]);
        // The connected server's version is known: probing it again would be a second connection to it.
        peers.delete(hostPort(nc.getServer()));
        const lower = (a: string, b: string | undefined) => (b && !atLeast(parseVersion(b), parseVersion(a)) ? b : a);
        pending = Promise.all([...peers].map(probeVersion)).then(async (found) => {
            const lowest = found.reduce<string>(lower, info.version);
            const target = apiTargets.get(nc);
            if (!target) return lowest;
            const { api } = await jsApi<{ api?: { level?: number } }>(nc, "INFO");
            const newest = newestForApiLevel(api?.level);
            if (!newest) return lowest;
            // The level bounds a line, not a patch: only a newer line than it allows is lowered.
            const [major, minor] = parseVersion(newest);
            if (!atLeast(parseVersion(lowest), [major, minor + 1, 0])) return lowest;
            // Messages print this version: say where it comes from.
            return `${newest} (the newest the API level of the ${targetName(target)} allows)`;
        });
        lowestVersions.set(nc, pending);
        // A domain not reachable yet is asked again by the next call.
        pending.catch(() => lowestVersions.delete(nc));
    }
    return pending;
}

/** The version in the INFO line a server sends on accept, or undefined (down, silent, not NATS). */
function probeVersion(hostPort: string): Promise<string | undefined> {
    const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(hostPort);
    if (!m) return Promise.resolve(undefined);
    return new Promise((resolve) => {
        let text = "";
        const socket = createConnection({ host: m[1], port: Number(m[2]), timeout: PROBE_TIMEOUT_MS });
        const done = (version?: string) => {
            socket.destroy();
            resolve(version);
        };
        socket.setEncoding("utf8");
        socket.on("data", (chunk: string) => {
            text += chunk;
            const line = /^INFO\s+(\{.*\})\s*\n/.exec(text);
            if (line) {
                try {
                    const version = (JSON.parse(line[1]) as { version?: string }).version;
                    done(version && /^v?\d+\.\d+\.\d+/.test(version) ? version : undefined);
                } catch {
                    done();
                }
            } else if (text.length > 64 * 1024 || !"INFO".startsWith(text.slice(0, 4))) {
                done();
            }
        });
        socket.on("timeout", () => done());
        socket.on("error", () => done());
        socket.on("close", () => done());
    });
}

function connectError(s: ConnectionSettings, err: unknown): Error {
    const where = s.servers.join(",");
    const code = (err as { code?: string }).code ?? "";
    const reason = err instanceof Error ? err.message : String(err);
    const unreachable = (why: string) => new Error(`cannot reach NATS at ${where}: ${why}`);
    const refusal = tlsRefusal(err, s.tls, s.namespace, closedByVerifyingServer(err));
    if (refusal) return unreachable(refusal);
    if (/AUTHORIZATION|AUTHENTICATION/i.test(code) || /authoriz|authenticat/i.test(reason)) {
        const c = s.credentials;
        const sent = c
            ? `sent the ${c.kind === "user" ? "user/password" : c.kind} from ${c.from}; fix that`
            : `sent none: set NATS_CREDS, NATS_NKEY, NATS_TOKEN or NATS_USER/NATS_PASSWORD, or the ${s.namespace}:nats* secrets`;
        return new Error(`NATS at ${where} refused the credentials (${reason}): ${sent} ` +
            "(stack secrets win over the environment; within one, creds, then nkey, then token, then user/password)");
    }
    return unreachable(reason);
}

/** Closes every shared connection, so a process can exit. */
export async function closeConnections(): Promise<void> {
    const all = [...connections.values()];
    connections.clear();
    await Promise.all(all.map((p) => p.then((nc) => nc.close()).catch(() => undefined)));
}

const API_TIMEOUT_MS = 10_000;
/** How long jsApi keeps repeating a request that may succeed later (a leader election, a server restarting). */
const RETRY_WINDOW_MS = 30_000;
const FIRST_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 2000;

const IDEMPOTENT = ["INFO", "STREAM.INFO", "STREAM.LIST", "STREAM.NAMES", "STREAM.MSG.GET", "STREAM.CREATE", "STREAM.UPDATE", "STREAM.DELETE"];

/**
 * Whether a JetStream API request (subject without its API prefix) may be sent
 * again when the broker did not answer it or answered "try again". Reads may
 * (infos, lists, names, a stored message);
 * so may CREATE and UPDATE, which jsApi repeats with the same body: the server
 * answers a create of an existing, identical stream with its info, and an
 * update to the config it already has changes nothing. A repeated DELETE
 * that finds the stream gone (10059) means an earlier attempt, whose answer
 * was lost, deleted it: done. Anything else (purge, messages, consumers) is
 * sent once.
 */
export function retryPolicy(subject: string): { retry: boolean; goneIsDone: boolean } {
    const is = (verb: string) => subject === verb || subject.startsWith(`${verb}.`);
    return { retry: IDEMPOTENT.some(is), goneIsDone: is("STREAM.DELETE") };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One JetStream API request, answering the server's JSON as it sent it.
 * Idempotent requests (retryPolicy) are repeated with backoff for up to 30 s
 * while the broker does not answer, has no responders, or answers an error
 * that means "try again" (errors.ts TRANSIENT).
 */
export async function jsApi<T>(nc: NatsConnection, subject: string, body?: unknown): Promise<T> {
    const full = `${apiPrefix(nc)}.${subject}`;
    const policy = retryPolicy(subject);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const started = Date.now();
    for (let attempt = 1, backoff = FIRST_BACKOFF_MS; ; attempt++, backoff = Math.min(backoff * 2, MAX_BACKOFF_MS)) {
        const timeout = Math.max(1000, Math.min(API_TIMEOUT_MS, started + RETRY_WINDOW_MS - Date.now()));
        const outcome = await attemptRequest(nc, full, payload, timeout);
        const again = policy.retry && Date.now() + backoff < started + RETRY_WINDOW_MS;
        if ("json" in outcome) {
            const error = outcome.json.error;
            if (!error) return outcome.json as T;
            if (attempt > 1 && policy.goneIsDone && error.err_code === ERR.streamNotFound) return { success: true } as T;
            if (!TRANSIENT.has(error.err_code) || !again) throw new JetStreamError(error.err_code, error.description, full, attempt);
        } else if (!again) {
            const tried = attempt > 1 ? `, ${attempt} attempts over ${Math.round((Date.now() - started) / 1000)}s` : "";
            throw new Error(`${outcome.transient} (${full}${tried})`);
        }
        await sleep(backoff);
    }
}

// Connections whose JetStream API answered at least once: from then on, no
// responders is a restart or a leader election, worth waiting for.
const answered = new WeakSet<NatsConnection>();

/** One request: the broker's JSON, or why it did not answer that may pass; anything else throws. */
async function attemptRequest(
    nc: NatsConnection,
    full: string,
    payload: string | undefined,
    timeout: number,
): Promise<{ json: { error?: { err_code: number; description: string } } } | { transient: string }> {
    try {
        const reply = await nc.request(full, payload, { timeout });
        const json = JSON.parse(new TextDecoder().decode(reply.data));
        answered.add(nc);
        return { json };
    } catch (err) {
        const code = (err as { code?: string }).code;
        const target = apiTargets.get(nc);
        const via = target ? ` through the ${describeTarget(target)}` : "";
        // nats.js fails pending requests with TIMEOUT when the connection closes.
        if (nc.isClosed()) {
            throw new Error(`lost the connection to NATS${nc.getServer() ? ` at ${nc.getServer()}` : ""} during ${full}${via} (the broker went away and did not come back within the reconnect attempts)`);
        }
        if (code === "503") {
            const server = serverInfo(nc);
            // A domain or prefix that never answered is not there (a typo, a leaf node not connected): no use waiting.
            if (target && !answered.has(nc)) {
                throw new Error(`the ${describeTarget(target)} is not reachable from NATS at ${nc.getServer()} (no responders for ${full}): ${unreachableAdvice(target)}`);
            }
            if (!target && !server.jetstream) throw new Error(`JetStream is not enabled on the broker (nats-server ${server.version} at ${nc.getServer()}, no responders for ${full}): enable jetstream in its config`);
            return { transient: `no JetStream responders ${target ? via.trim() : "on the broker"} (503: a server restarting, a leaf node reconnecting, or JetStream without a leader): check that the broker's servers are up, then run again` };
        }
        if (code === "TIMEOUT") {
            return { transient: `the broker did not answer within ${Math.round(timeout / 1000)}s${via} (TIMEOUT: JetStream without quorum, or a server frozen): check that a majority of the cluster's servers are up (nats server report jetstream), then run again` };
        }
        throw err;
    }
}
