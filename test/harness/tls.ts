// Test-time TLS material via the openssl CLI: a throwaway CA, a server cert for
// 127.0.0.1/localhost, and a client cert (for tls verify). Generated per test
// run into the server's temp dir, so no key ever lives in the repository.
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

export interface TlsFiles {
  /** The CA's own key: only for tests of material given in the wrong place. */
  caKeyFile: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync("openssl", args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    if (err.code === "ENOENT") {
      throw new Error("openssl CLI not found on PATH: the TLS harness needs it (apt-get install openssl)");
    }
    throw new Error(`openssl ${args.join(" ")} failed: ${err.stderr?.toString() ?? err.message}`);
  }
}

/**
 * Creates CA + server + client certs (EC P-256, 1 day) in `dir`; the server's
 * for 127.0.0.1 and localhost unless `serverNames` (subjectAltName entries)
 * says otherwise.
 */
export function generateTls(dir: string, serverNames = "IP:127.0.0.1,DNS:localhost"): TlsFiles {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl(["req", "-x509", ...ec, "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "1",
    "-subj", "/CN=kanade-test-ca"], dir);

  const sign = (name: string, cn: string, ext: string): void => {
    writeFileSync(join(dir, `${name}.ext`), ext);
    openssl(["req", ...ec, "-keyout", `${name}-key.pem`, "-out", `${name}.csr`, "-subj", `/CN=${cn}`], dir);
    openssl(["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca-key.pem",
      "-CAcreateserial", "-out", `${name}.pem`, "-days", "1", "-extfile", `${name}.ext`], dir);
  };
  sign("server", "localhost",
    `subjectAltName=${serverNames}\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n`);
  sign("client", "kanade-test-client",
    "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n");

  return {
    caKeyFile: join(dir, "ca-key.pem"),
    caFile: join(dir, "ca.pem"),
    certFile: join(dir, "server.pem"),
    keyFile: join(dir, "server-key.pem"),
    clientCertFile: join(dir, "client.pem"),
    clientKeyFile: join(dir, "client-key.pem"),
  };
}

/**
 * The base64 lines of PEM text (between its BEGIN and END lines): what must
 * never show in an error, a log or the state. Only lines of 32 characters or
 * more: a block's short last line could turn up in any base64 by chance.
 */
export function pemBodyLines(pem: string): string[] {
  const lines = pem.split(/\r?\n/).map((l) => l.trim());
  const body = lines.filter((l) => l.length >= 32 && !l.startsWith("-----") && !l.includes(":"));
  if (!body.length) throw new Error("pemBodyLines: no PEM body in the text");
  return body;
}
