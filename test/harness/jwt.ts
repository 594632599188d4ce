// Minimal NATS JWT minting for the harness's "creds" auth mode (operator ->
// account -> user, decentralized auth with the MEMORY resolver). A NATS JWT is
// just base64url(header).base64url(claims).base64url(ed25519 sig) signed by the
// issuer's nkey, so we build them by hand rather than pull in another package.
import { createHash, randomBytes } from "node:crypto";
import { nkeys } from "nats";

type KeyPair = ReturnType<typeof nkeys.createUser>;

const HEADER = { typ: "JWT", alg: "ed25519-nkey" };

function b64url(data: Uint8Array | string): string {
  return Buffer.from(data).toString("base64url");
}

/** Signs `nats` claims for `subject`, issued by `issuer`. */
function mint(issuer: KeyPair, subject: string, name: string, nats: Record<string, unknown>): string {
  const claims: Record<string, unknown> = {
    jti: "",
    iat: Math.floor(Date.now() / 1000),
    iss: issuer.getPublicKey(),
    name,
    sub: subject,
    nats: { ...nats, version: 2 },
  };
  // jti only has to be unique; real tools hash the claims, so do the same.
  claims.jti = createHash("sha256").update(JSON.stringify(claims)).update(randomBytes(8)).digest("base64url");
  const signingInput = `${b64url(JSON.stringify(HEADER))}.${b64url(JSON.stringify(claims))}`;
  const sig = issuer.sign(new TextEncoder().encode(signingInput));
  return `${signingInput}.${b64url(sig)}`;
}

export interface AccountJsLimits {
  /** bytes of file storage for the account (-1 = unlimited) */
  maxFileStore?: number;
  /** bytes of memory storage for the account (-1 = unlimited) */
  maxMemoryStore?: number;
}

export interface OperatorSetup {
  operatorJwt: string;
  systemAccount: string;
  /** account public key -> account JWT, for `resolver_preload` */
  preload: Record<string, string>;
  /** application account's public key (the user lives here) */
  appAccount: string;
  /** .creds file content for the application user */
  userCreds: string;
  /** .creds file content for a user signed by an unrelated account (must be refused) */
  foreignCreds: string;
}

function account(operator: KeyPair, kp: KeyPair, name: string, js: AccountJsLimits | undefined): string {
  const limits: Record<string, unknown> = {
    subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1,
  };
  if (js) {
    // JetStream is enabled for an account iff it has non-zero storage limits.
    Object.assign(limits, {
      mem_storage: js.maxMemoryStore ?? -1,
      disk_storage: js.maxFileStore ?? -1,
      streams: -1,
      consumer: -1,
    });
  }
  return mint(operator, kp.getPublicKey(), name, {
    type: "account",
    limits,
    default_permissions: { pub: {}, sub: {} },
  });
}

function user(acct: KeyPair, name: string): { jwt: string; seed: string } {
  const u = nkeys.createUser();
  const jwt = mint(acct, u.getPublicKey(), name, {
    type: "user",
    pub: {},
    sub: {},
    subs: -1,
    data: -1,
    payload: -1,
  });
  return { jwt, seed: new TextDecoder().decode(u.getSeed()) };
}

/** The standard .creds layout that nats.js credsAuthenticator and the nats CLI parse. */
export function credsFile(jwt: string, seed: string): string {
  return [
    "-----BEGIN NATS USER JWT-----",
    jwt,
    "------END NATS USER JWT------",
    "",
    "************************* IMPORTANT *************************",
    "NKEY Seed printed below can be used to sign and prove identity.",
    "NKEYs are sensitive and should be treated as secrets.",
    "",
    "-----BEGIN USER NKEY SEED-----",
    seed,
    "------END USER NKEY SEED------",
    "",
  ].join("\n");
}

/** A fresh operator with a system account and one JetStream-enabled app account. */
export function createOperatorSetup(appLimits: AccountJsLimits = {}): OperatorSetup {
  const op = nkeys.createOperator();
  const operatorJwt = mint(op, op.getPublicKey(), "kanade-test-op", { type: "operator" });
  const sys = nkeys.createAccount();
  const app = nkeys.createAccount();
  const other = nkeys.createAccount(); // signed by nobody the server knows
  const u = user(app, "app");
  const f = user(other, "intruder");
  return {
    operatorJwt,
    systemAccount: sys.getPublicKey(),
    preload: {
      [sys.getPublicKey()]: account(op, sys, "SYS", undefined),
      [app.getPublicKey()]: account(op, app, "APP", appLimits),
    },
    appAccount: app.getPublicKey(),
    userCreds: credsFile(u.jwt, u.seed),
    foreignCreds: credsFile(f.jwt, f.seed),
  };
}
