// Which JetStream the program manages: the connected account's own
// ($JS.API), another JetStream domain's ($JS.<domain>.API: a leaf node's
// seen from its hub, or the hub's seen from a leaf), or another account's
// that this account imports under a prefix of its own (cross-account
// access). Every JetStream API request goes to `<prefix>.<API subject>`.
import type { ConfigGetter } from "./connection.ts";

export const DEFAULT_API_PREFIX = "$JS.API";

/** A JetStream other than the connected account's own, and where it was configured (a key or variable name). */
export interface ApiTarget {
    /** `$JS.<domain>.API` or the custom prefix, without a trailing dot. */
    prefix: string;
    domain?: string;
    /** The config key or variable that set it, for messages. */
    from: string;
}

/**
 * The domain or API prefix, from the stack config (`jsDomain`, `jsApiPrefix`)
 * when it sets either, else from NATS_JS_DOMAIN / NATS_JS_API_PREFIX (the
 * nats CLI has only flags for these, --js-domain and --js-api-prefix, no
 * variables). The two sources are never mixed, as with credentials. Both
 * set is an error: a domain is a prefix, and the two would disagree.
 */
export function resolveApiTarget(config: ConfigGetter, env: NodeJS.ProcessEnv, namespace: string): ApiTarget | undefined {
    const stack = { domain: config("jsDomain"), prefix: config("jsApiPrefix"), names: [`${namespace}:jsDomain`, `${namespace}:jsApiPrefix`] };
    const source = stack.domain || stack.prefix
        ? stack
        : { domain: env.NATS_JS_DOMAIN, prefix: env.NATS_JS_API_PREFIX, names: ["NATS_JS_DOMAIN", "NATS_JS_API_PREFIX"] };
    const [domainFrom, prefixFrom] = source.names;
    if (source.domain && source.prefix) {
        throw new Error(`${domainFrom} and ${prefixFrom} are both set: a JetStream domain stands for the API prefix $JS.<domain>.API, so set only one`);
    }
    if (source.domain) {
        const domain = source.domain.trim();
        if (!/^[^.*>\s]+$/.test(domain)) {
            throw new Error(`${domainFrom} (${JSON.stringify(source.domain)}) is not a JetStream domain: expected one subject token, ` +
                "no dots, wildcards or spaces, as the servers' jetstream { domain } spells it");
        }
        return { prefix: `$JS.${domain}.API`, domain, from: domainFrom };
    }
    if (source.prefix) {
        // nats.go and nats.js accept the prefix with or without its trailing dot.
        const prefix = source.prefix.trim().replace(/\.$/, "");
        const tokens = prefix.split(".");
        if (tokens.some((t) => t === "" || t === "*" || t === ">" || /\s/.test(t))) {
            throw new Error(`${prefixFrom} (${JSON.stringify(source.prefix)}) is not a JetStream API prefix: expected a subject without wildcards ` +
                "(e.g. JS.orders.API), the one this account imports the other account's $JS.API.> under");
        }
        return { prefix, from: prefixFrom };
    }
    return undefined;
}

/** The target in a few words: `JetStream domain "leaf"`. */
export function targetName(t: ApiTarget): string {
    return t.domain !== undefined ? `JetStream domain "${t.domain}"` : `JetStream API prefix ${t.prefix}`;
}

/** How messages name the target: `JetStream domain "leaf" (kanade-jetstream:jsDomain)`. */
export function describeTarget(t: ApiTarget): string {
    return `${targetName(t)} (${t.from})`;
}

/** What to check when nothing answers on the target's API. */
export function unreachableAdvice(t: ApiTarget): string {
    const where = t.domain !== undefined
        ? `check that a server with jetstream { domain: ${t.domain} } is connected to this broker (a leaf node's remote to it, or the hub it connects to) ` +
          "and that the name is spelled as in its config"
        : `check that this account imports the other account's $JS.API.> as a service under ${t.prefix}.> and that the exporting account has JetStream enabled`;
    return `${where}; or unset ${t.from} to manage the connected account's own JetStream`;
}

/**
 * The newest server line a JetStream API level allows (`api.level` of
 * INFO: 1 from 2.11, 2 and up from 2.12; none before): the connected
 * servers say nothing of the version of a JetStream in another domain or
 * account, so rules follow the lower of the two. A JetStream without a level
 * is taken as 2.10 (2.9 does not tell itself apart from it).
 */
export function newestForApiLevel(level: number | undefined): string | undefined {
    if (!level) return "2.10.0";
    if (level === 1) return "2.11.0";
    return undefined;
}
