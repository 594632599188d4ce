// What a failed TLS handshake with the broker means, and what to change, told
// from Node's error code. Node's message for a handshake the server ended
// carries OpenSSL internals (error addresses, source paths), so only the code
// is repeated; the TLS settings are named by where they came from, never by
// their material.
import { type TlsMaterial, tlsSettingNames } from "./tlsMaterial.ts";

// OpenSSL's verify results for the server's certificate, as Node names them.
const UNTRUSTED = new Set([
    "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
    "UNABLE_TO_GET_ISSUER_CERT",
    "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
    "DEPTH_ZERO_SELF_SIGNED_CERT",
    "SELF_SIGNED_CERT_IN_CHAIN",
    "CERT_UNTRUSTED",
    "CERT_SIGNATURE_FAILURE",
]);
const OUT_OF_DATE = new Set(["CERT_HAS_EXPIRED", "CERT_NOT_YET_VALID"]);

// An alert the server sent (ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED,
// ERR_SSL_TLSV1_ALERT_UNKNOWN_CA, ERR_SSL_SSL/TLS_ALERT_BAD_CERTIFICATE).
// For a missing client certificate nats-server sends certificate_required,
// or bad_certificate when built with Go before 1.21 (2.9); other servers
// may send handshake_failure.
const SERVER_ALERT = /^ERR_SSL_\S*ALERT_([A-Z_]+)$/;
const NO_CERTIFICATE_ALERT = /CERTIFICATE|HANDSHAKE_FAILURE/;
const REFUSED_CERTIFICATE_ALERT = /CERTIFICATE|UNKNOWN_CA|ACCESS_DENIED/;
// How the same refusal can arrive: the client's first write reached the
// server after it closed, and the reset came before the alert.
const RESET = new Set(["ECONNRESET", "EPIPE"]);

const REFUSED_ADVICE = "it is not signed by a CA the server trusts for clients, or has expired; " +
    "give a certificate and its key signed by the CA the server verifies clients with";

/**
 * Why the handshake failed and what to do, then the TLS settings used; or
 * undefined when `err` is not a TLS failure. `verifyingServer`: `err` closed
 * the connection right after the TLS handshake with a server whose INFO said
 * it verifies client certificates (natsWorkarounds.ts).
 */
export function tlsRefusal(err: unknown, tls: TlsMaterial | undefined, namespace: string, verifyingServer: boolean): string | undefined {
    const code = (err as { code?: unknown } | undefined)?.code;
    if (typeof code !== "string") return undefined;
    const from = tls?.from ?? {};
    const noCertificate = (seen: string) => `the server requires a client certificate and none was sent (${seen}): ${setPair(namespace)}`;
    const refusedCertificate = (seen: string) => `the server refused the client certificate in ${from.cert} (${seen}): ${REFUSED_ADVICE}`;
    let why: string;
    if (UNTRUSTED.has(code)) {
        why = from.ca
            ? `the server's certificate is not signed by the CA in ${from.ca} (${code}): set it to the CA that signed the servers' certificates`
            : `the server's certificate is not signed by a CA Node.js trusts by default, and no CA is set (${code}): ` +
              `set ${tlsSettingNames(["ca"], namespace)} to the CA that signed the servers' certificates (a file path or the PEM text)`;
    } else if (OUT_OF_DATE.has(code)) {
        why = `the server's certificate is out of its validity period (${code}): renew it on the server, or check this machine's clock`;
    } else if (code === "ERR_TLS_CERT_ALTNAME_INVALID") {
        // Node's reason names the host and the certificate's names: nothing secret.
        const reason = (err as { reason?: unknown }).reason;
        why = `the server's certificate does not name the host in the URL (${code}${typeof reason === "string" ? `: ${reason}` : ""}): ` +
            "connect by a name or IP address the certificate lists, or have the server's certificate issued for this one";
    } else if (verifyingServer && RESET.has(code)) {
        const seen = `${code} right after the TLS handshake, from a server that verifies client certificates`;
        why = from.cert ? refusedCertificate(seen) : noCertificate(seen);
    } else if (SERVER_ALERT.test(code)) {
        const alert = SERVER_ALERT.exec(code)![1];
        if (!from.cert && NO_CERTIFICATE_ALERT.test(alert)) {
            why = noCertificate(code);
        } else if (from.cert && REFUSED_CERTIFICATE_ALERT.test(alert)) {
            why = refusedCertificate(code);
        } else {
            why = `the server ended the TLS handshake (${code}): check that its TLS settings (versions, ciphers) accept this client`;
        }
    } else if (/^ERR_(SSL|TLS)_/.test(code)) {
        why = `the TLS handshake failed (${code})`;
    } else {
        return undefined;
    }
    return `${why} (TLS settings used: ${settingsUsed(from)})`;
}

function setPair(namespace: string): string {
    return `set ${tlsSettingNames(["cert", "key"], namespace)} (each a file path or the PEM text)`;
}

function settingsUsed(from: TlsMaterial["from"]): string {
    const ca = from.ca ? `CA from ${from.ca}` : "no CA set (Node.js' default CAs)";
    const cert = from.cert ? `client certificate from ${from.cert}, key from ${from.key}` : "no client certificate";
    return `${ca}, ${cert}`;
}
