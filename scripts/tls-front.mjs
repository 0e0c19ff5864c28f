// TLS in front of a local plain-http server: `npm start` serves kubectl this way (client-go
// sends a bearer token only over TLS, and wrangler dev serves http), and so does the kubectl
// end-to-end test. A self-signed certificate from the real openssl, and an https server that
// forwards every request unchanged and streams the answers (watches) back.
import { execFileSync } from "node:child_process";
import { request as httpRequest } from "node:http";
import { createServer } from "node:https";
import { isIP } from "node:net";

/** Writes a self-signed P-256 certificate for `names` (IP addresses and DNS names) with openssl; throws when openssl fails or is missing. */
export function selfSignedCertificate({ keyPath, certPath, names, days, subject }) {
  const san = names.map((n) => (isIP(n) ? `IP:${n}` : `DNS:${n}`)).join(",");
  execFileSync(
    "openssl",
    [
      ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
      ...["-keyout", keyPath, "-out", certPath, "-days", String(days), "-subj", subject, "-addext", `subjectAltName=${san}`],
    ],
    { stdio: "ignore" },
  );
}

/** An https server (not listening yet) that forwards every request to http://host:port; `hostHeader` replaces the Host header when given. */
export function tlsFront({ key, cert }, { host, port, hostHeader }) {
  return createServer({ key, cert }, (req, res) => {
    const headers = hostHeader ? { ...req.headers, host: hostHeader } : req.headers;
    const up = httpRequest({ host, port, method: req.method, path: req.url, headers }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    });
    up.on("error", () => res.destroy());
    // A client that hangs up (the end of a watch) ends the upstream request too.
    res.on("close", () => up.destroy());
    req.pipe(up);
  });
}
