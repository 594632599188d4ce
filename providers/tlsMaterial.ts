// The TLS material of the broker connection: the CA that signed the servers'
// certificates, and the client certificate and key for servers that verify
// clients. Each comes from one stack config key or environment variable whose
// value is either a file path or the PEM text itself, so a Pulumi secret can
// carry it (`pulumi config set --secret kanade-jetstream:natsTlsKey < client-key.pem`),
// as natsCreds carries a .creds file. One key for both forms, as Pulumi's
// Kubernetes provider takes `kubeconfig` as a path or as contents, because
// the two cannot be confused: PEM text always holds a "-----BEGIN" line and no
// file path does. It also keeps the config keys the fleet's schema knows.
//
// The material is read and checked here, before anything connects, so a
// mistake is an error naming the key or variable. A private key is never
// repeated in a message, nor is anything that might be one.
import { type KeyObject, X509Certificate, createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import type { ConfigGetter } from "./connection.ts";

/** PEM text as nats.js hands it to Node's tls.connect, and where each item came from. */
export interface TlsMaterial {
    ca?: string;
    cert?: string;
    key?: string;
    /** The key or variable of each item given, and the file if it named one: for messages, never the material. */
    from: Partial<Record<Item, string>>;
}

const CONFIG_KEYS = { ca: "natsTlsCa", cert: "natsTlsCert", key: "natsTlsKey" } as const;
const ENV_VARS = { ca: "NATS_CA", cert: "NATS_CERT", key: "NATS_KEY" } as const;
type Item = keyof typeof CONFIG_KEYS;

/** Where items that are not set could be set, for messages: `<namespace>:natsTlsCert and <namespace>:natsTlsKey, or NATS_CERT and NATS_KEY`. */
export function tlsSettingNames(items: Item[], namespace: string): string {
    const keys = items.map((item) => `${namespace}:${CONFIG_KEYS[item]}`).join(" and ");
    return `${keys}${items.length > 1 ? "," : ""} or ${items.map((item) => ENV_VARS[item]).join(" and ")}`;
}
const CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]*-----END CERTIFICATE-----/g;
const PRIVATE_KEY = /-----BEGIN ([A-Z]+ )?PRIVATE KEY-----[^-]*-----END \1?PRIVATE KEY-----/;

/** One value as given, and the key or variable it came from. */
interface Given {
    value: string;
    name: string;
}

/**
 * The TLS material from stack config, else the environment. The CA is chosen
 * key by key. The client certificate and its key are a pair taken from one
 * source: from the stack config when it sets either, so a NATS_KEY left in
 * the shell is never paired with a natsTlsCert secret.
 */
export function resolveTls(config: ConfigGetter, env: NodeJS.ProcessEnv, namespace: string): TlsMaterial | undefined {
    const fromConfig = (item: Item): Given | undefined => {
        const value = config(CONFIG_KEYS[item]);
        return value ? { value, name: `${namespace}:${CONFIG_KEYS[item]}` } : undefined;
    };
    const fromEnv = (item: Item): Given | undefined => {
        const value = env[ENV_VARS[item]];
        return value ? { value, name: ENV_VARS[item] } : undefined;
    };
    const ca = fromConfig("ca") ?? fromEnv("ca");
    const pairInConfig = fromConfig("cert") !== undefined || fromConfig("key") !== undefined;
    const source = pairInConfig ? fromConfig : fromEnv;
    const cert = source("cert");
    const key = source("key");
    if ((cert === undefined) !== (key === undefined)) {
        const [set, unset]: Item[] = cert ? ["cert", "key"] : ["key", "cert"];
        const named = (item: Item) => (pairInConfig ? `${namespace}:${CONFIG_KEYS[item]}` : ENV_VARS[item]);
        const stray = pairInConfig && fromEnv(unset) ? ` (${ENV_VARS[unset]} in the environment is not paired with stack config)` : "";
        throw new Error(`${named(set)} is set without ${named(unset)}${stray}: a client certificate and its private key go together; ` +
            "set both (each a file path or the PEM text) or neither");
    }
    if (!ca && !cert) return undefined;
    const material: TlsMaterial = { from: {} };
    if (ca) {
        const caPem = pem(ca, "ca");
        material.ca = checkedCertificates(caPem, "ca");
        material.from.ca = caPem.name;
    }
    if (cert && key) {
        const certPem = pem(cert, "cert");
        const keyPem = pem(key, "key");
        material.cert = checkedCertificates(certPem, "cert");
        material.key = checkedKey(keyPem, certPem.name, material.cert);
        Object.assign(material.from, { cert: certPem.name, key: keyPem.name });
    }
    return material;
}

/** What a PEM item needs, for messages. */
const WANTED: Record<Item, string> = {
    ca: "the PEM certificate(s) of the CA that signed the servers' certificates",
    cert: "the client's PEM certificate (then any intermediates)",
    key: "the client's unencrypted PEM private key",
};

/** PEM text with the name to report it by: the key or variable, and the file if it named one. */
interface Pem {
    text: string;
    name: string;
}

/** The PEM text of a value: the value itself when it holds a "-----BEGIN" line, else the file it names. */
function pem({ value, name }: Given, item: Item): Pem {
    if (value.includes("-----BEGIN")) return { text: value, name };
    // Base64 (an encoded PEM file, or bare DER) is how secrets are often
    // kept, and is no path: refused without being repeated.
    if (/[\r\n]/.test(value) || /^[A-Za-z0-9+/=]{64,}$/.test(value.trim())) {
        throw new Error(`${name} is neither a file path nor PEM text (which starts with -----BEGIN; base64 is not decoded): ` +
            `give ${WANTED[item]}, or the path of its file`);
    }
    try {
        return { text: readFileSync(value, "utf8"), name: `${name} (${value})` };
    } catch (err) {
        const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
        throw new Error(`${name} names ${value}, which cannot be read (${why}): point it at ${WANTED[item]}, or give the PEM text itself`);
    }
}

/** Node's reason for refusing PEM, by its code only: the message of a failed parse is not trusted to leave the input out. */
function reason(err: unknown): string {
    const code = (err as { code?: unknown }).code;
    return typeof code === "string" && /^ERR_[A-Z0-9_]+$/.test(code) ? ` (${code})` : "";
}

/**
 * The certificates of a CA or client certificate item, once each parses. A
 * client certificate file that also holds its key (one combined file for
 * both, which the nats CLI accepts) gives its certificates only; a CA item
 * holding a private key is refused: that key belongs on no client.
 */
function checkedCertificates({ text, name }: Pem, item: "ca" | "cert"): string {
    if (item === "ca" && /PRIVATE KEY-----/.test(text)) {
        throw new Error(`${name} holds a private key, which must not be there: give ${WANTED.ca} only`);
    }
    const blocks = text.match(CERTIFICATE) ?? [];
    if (!blocks.length) throw new Error(`${name} holds no PEM certificate (-----BEGIN CERTIFICATE-----): give ${WANTED[item]}`);
    blocks.forEach((block, i) => {
        try {
            new X509Certificate(block);
        } catch (err) {
            throw new Error(`${name}: certificate ${i + 1} of ${blocks.length} does not parse${reason(err)}: give ${WANTED[item]}`);
        }
    });
    return `${blocks.join("\n")}\n`;
}

/** The client's private key block, once it parses and is the key of the client certificate (the first in `certs`). */
function checkedKey({ text, name }: Pem, certName: string, certs: string): string {
    if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,ENCRYPTED/.test(text)) {
        throw new Error(`${name} is an encrypted private key, and there is no passphrase setting: store it decrypted ` +
            "(openssl pkey -in key.pem -out plain-key.pem) as a Pulumi secret, or in a file only the deploying user can read");
    }
    const block = PRIVATE_KEY.exec(text)?.[0];
    if (!block) throw new Error(`${name} holds no PEM private key (-----BEGIN PRIVATE KEY-----, or EC or RSA PRIVATE KEY): give ${WANTED.key}`);
    let key: KeyObject;
    try {
        key = createPrivateKey(block);
    } catch (err) {
        throw new Error(`${name} does not hold a PEM private key that Node.js can read${reason(err)}: give ${WANTED.key}`);
    }
    const leaf = new X509Certificate(certs.match(CERTIFICATE)![0]);
    if (!leaf.checkPrivateKey(key)) {
        throw new Error(`${name} is not the private key of the client certificate in ${certName} (${leaf.subject.replace(/\n/g, ", ")}): ` +
            "give the certificate and the key of the same client");
    }
    return `${block}\n`;
}
