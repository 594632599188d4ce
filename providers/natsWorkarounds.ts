// Fixes to how nats.js 2.29 (the `nats` package) opens a connection, applied
// to its classes when this module loads. Each says what nats.js does wrong;
// drop it with the upgrade to the @nats-io/* v3 packages that fix it.
import type { ServerInfo } from "nats";
import { ProtocolHandler } from "nats/lib/nats-base-client/protocol.js";
import { NodeTransport } from "nats/lib/src/node_transport.js";

// nats.js 2.29 leaves the socket of a connect attempt open when its timeout
// fires before the server's INFO (a frozen server, a port that accepts and
// never writes): NodeTransport.close() skips a transport that never finished
// the handshake, and that socket keeps the process alive for good. Destroy it
// first, as @nats-io/transport-node 3 does.
const closeTransport = NodeTransport.prototype.close;
NodeTransport.prototype.close = function (this: NodeTransport, err?: Error) {
    if (!this.connected) this.socket?.destroy();
    return closeTransport.call(this, err);
};

// Transports whose server said in its INFO that it verifies client certificates.
const verifyingClients = new WeakSet<NodeTransport>();
const peekInfo = NodeTransport.prototype.peekInfo;
NodeTransport.prototype.peekInfo = async function (this: NodeTransport): Promise<ServerInfo> {
    const info = await peekInfo.call(this);
    if (info.tls_verify) verifyingClients.add(this);
    return info;
};

// Errors that failed a connect attempt to a server that verifies client certificates.
const fromVerifyingServers = new WeakSet<Error>();

/**
 * Whether `err` closed a connect attempt, after the TLS handshake, to a
 * server that verifies client certificates: then a reset (ECONNRESET) is that
 * server refusing the client's certificate, its alert lost (below).
 */
export function closedByVerifyingServer(err: unknown): boolean {
    return err instanceof Error && fromVerifyingServers.has(err);
}

// nats.js 2.29 does not fail a connect attempt whose transport closes with an
// error before the server's PONG: it waits for the attempt's timeout and
// reports TIMEOUT. A server that refuses the client's certificate does just
// that: in TLS 1.3 the client finishes the handshake first, and the server's
// alert (certificate required, unknown CA) arrives as the socket's error
// right after; or, when the client's CONNECT reaches the server after it
// closed, a reset that beats the alert. Fail that attempt at once with the
// transport's error, which connectError then explains.
type Dialing = { prepare(this: ProtocolHandler): Promise<unknown> };
const dialing = ProtocolHandler.prototype as unknown as Dialing;
const prepare = dialing.prepare;
dialing.prepare = function (this: ProtocolHandler) {
    const pong = prepare.call(this);
    // This attempt's own rejection: a later attempt installs another.
    const fail = this.connectError;
    const transport = this.transport;
    void transport.closed().then((err) => {
        if (!(err instanceof Error) || this.connectError !== fail) return;
        if (verifyingClients.has(transport as NodeTransport)) fromVerifyingServers.add(err);
        fail?.(err);
    });
    return pong;
};
