/**
 * Crypto section of `npm run bench`: signing (signCms) and verifying (verifyPkcs7Signature and
 * the offline verifier) a loader of 4 KiB and 15 MiB in this process, next to SHA-256 of the
 * same bytes in this process and to `openssl cms -sign` / `openssl cms -verify` on the same
 * files, all measured in this run. Keys are made fresh (RSA-2048 and P-256).
 */
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateSigningIdentity, type IdentityType } from "../src/crypto/certgen.js";
import { verifyOffline } from "../src/crypto/offline.js";
import { signCms, signerIdentity } from "../src/crypto/sign.js";
import { keySearchOf, verifyPkcs7Signature } from "../src/crypto/verify.js";
import { loadCertificate } from "../src/crypto/x509.js";
import { cmsVerifyArgs } from "./example.js";
import { goal, interleavedMedians, medianMs, ms, ratio, row } from "./util.js";

const SIZES = [
  { label: "4 KiB", bytes: 4096, runs: 200, warmup: 200, cliRuns: 5 },
  { label: "15 MiB", bytes: 15 << 20, runs: 9, warmup: 1, cliRuns: 3 },
];
const KEYS: IdentityType[] = ["rsa2048", "ec-p256"];
const INSNS_BYTES = 8 * 128;

function openssl(args: string[]): void {
  execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
}

export function run(): void {
  const dir = mkdtempSync(join(tmpdir(), "bpfsign-bench-crypto-"));
  try {
    const widths = [18, 10, 10, 8, 10, 9, 10, 11, 12];
    const ecdsa: { label: string; verify: number; sha: number }[] = [];
    console.log(
      "CMS sign / verify of insns || metadata in process vs SHA-256 of the same bytes and the openssl CLI (median)",
    );
    console.log(
      row(
        [
          "payload",
          "sha256",
          "sign",
          "/sha",
          "verify",
          "/sha",
          "offline",
          "cms -sign",
          "cms -verify",
        ],
        widths,
      ),
    );
    // Every in-process measurement first, then the openssl processes: a child process started
    // between rounds leaves this process's memory to be faulted in again (copy-on-write).
    interface Case {
      type: IdentityType;
      s: (typeof SIZES)[number];
      sha: number;
      verify: number;
      sign: number;
      offline: number;
      contentPath: string;
      sigPath: string;
      keyPath: string;
      certPath: string;
    }
    const cases: Case[] = [];
    for (const type of KEYS) {
      const identity = generateSigningIdentity({ type });
      const id = signerIdentity(identity.privateKeyPem, identity.certificateDer);
      const cert = loadCertificate(identity.certificateDer);
      if (!cert.ok) throw new Error(`bench certificate: ${cert.reason}`);
      const keys = keySearchOf([cert.value]);
      const keyPath = join(dir, `${type}.key.pem`);
      const certPath = join(dir, `${type}.cert.pem`);
      writeFileSync(keyPath, identity.privateKeyPem);
      writeFileSync(certPath, identity.certificatePem);

      for (const s of SIZES) {
        const insns = new Uint8Array(randomBytes(INSNS_BYTES));
        const metadata = new Uint8Array(randomBytes(s.bytes - INSNS_BYTES));
        const content = [insns, metadata];
        const contentPath = join(dir, `${type}-${s.bytes}.bin`);
        const sigPath = join(dir, `${type}-${s.bytes}.der`);
        writeFileSync(contentPath, Buffer.concat(content));
        const signature = signCms(content, id);
        writeFileSync(sigPath, signature);

        // SHA-256 and verify in turn, so that the ratio sees one machine load
        const [sha, verify] = interleavedMedians(
          [
            () => {
              createHash("sha256").update(insns).update(metadata).digest();
            },
            () => {
              if (!verifyPkcs7Signature(content, signature, keys).ok)
                throw new Error("verify failed");
            },
          ],
          s.runs,
          // CPU time counts the JIT's background threads too: measure once they are done
          s.warmup,
        );
        const sign = medianMs(() => signCms(content, id), s.runs);
        const exclHash = new Uint8Array(createHash("sha256").update(insns).digest());
        const offline = medianMs(() => {
          const r = verifyOffline({
            insns,
            metadata,
            signature,
            exclHash,
            trusted: [cert.value],
          });
          if (r.result !== "VERIFIED") throw new Error(r.reason);
        }, s.runs);
        cases.push({
          type,
          s,
          sha,
          verify,
          sign,
          offline,
          contentPath,
          sigPath,
          keyPath,
          certPath,
        });
        if (type === "ec-p256") ecdsa.push({ label: s.label, verify, sha });
      }
    }
    for (const c of cases) {
      const { type, s, sha, verify, sign, offline, contentPath, sigPath, keyPath, certPath } = c;
      const cliSign = medianMs(
        () =>
          openssl([
            "cms",
            "-sign",
            "-binary",
            "-nocerts",
            "-noattr",
            "-nosmimecap",
            "-keyid",
            "-md",
            "sha256",
            "-outform",
            "DER",
            "-in",
            contentPath,
            "-signer",
            certPath,
            "-inkey",
            keyPath,
            "-out",
            join(dir, "cli.der"),
          ]),
        s.cliRuns,
      );
      const cliVerify = medianMs(
        () => openssl(cmsVerifyArgs(sigPath, contentPath, certPath)),
        s.cliRuns,
      );
      console.log(
        row(
          [
            `${type} ${s.label}`,
            ms(sha),
            ms(sign),
            ratio(sign, sha),
            ms(verify),
            ratio(verify, sha),
            ms(offline),
            ms(cliSign),
            ms(cliVerify),
          ],
          widths,
        ),
      );
      console.log(
        row(
          [
            "",
            "",
            "",
            "",
            "",
            "",
            `(${ratio(offline, sha)})`,
            `(${ratio(cliSign, sign)})`,
            `(${ratio(cliVerify, verify)})`,
          ],
          widths,
        ),
      );
    }
    for (const e of ecdsa) {
      if (e.label === "4 KiB") {
        goal({
          name: "ECDSA P-256 verify, 4 KiB",
          value: e.verify,
          unit: " ms",
          kind: "max",
          target: 0.15,
          what: "verifyPkcs7Signature: parse, digest, key search, node's EC arithmetic",
        });
      } else {
        goal({
          name: "ECDSA P-256 verify, 15 MiB",
          value: e.verify / e.sha,
          unit: "x",
          kind: "max",
          target: 1.1,
          what: "verifyPkcs7Signature / SHA-256 of the same bytes (the content is hashed once)",
        });
      }
    }
    console.log(
      "/sha: in-process time over SHA-256 of the same bytes (SHA-256 and verify measured in turn).",
    );
    console.log(
      "offline = verifyOffline (sha256(insns) + one pass over insns || metadata + PKCS#7), in parentheses its /sha;",
    );
    console.log(
      "the CLI columns include process start-up; in parentheses: CLI time over our in-process time.",
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
