// @peculiar/x509 resolves its ASN.1 providers through tsyringe, which needs the Reflect metadata
// polyfill loaded first (its documented requirement).
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { NAMESPACE, serviceHost } from './topology.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKeyPair = webcrypto.CryptoKeyPair;

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const TRUST_DOMAIN = 'cluster.local';
const CA_VALIDITY_MS = 7 * 24 * 3600_000;

/** How long workload identity certificates are valid by default (`meshtel-demo run --cert-validity`). */
export const DEFAULT_CERT_VALIDITY_MS = 24 * 3600_000;

/** PEM material a proxy needs for mutual TLS: the mesh CA, and its own certificate and key. */
export interface TlsMaterial {
  ca: string;
  cert: string;
  key: string;
}

/**
 * The mesh's certificate authority, generated at start and kept in memory only. It issues each
 * workload an identity certificate valid for both ends of mutual TLS: its SPIFFE ID
 * (`spiffe://cluster.local/ns/default/sa/auth`) and Kubernetes DNS name as SANs, and as subject
 * the identity Linkerd would give it (`auth.default.serviceaccount.identity.meshtel.cluster.local`).
 * Workload certificates are valid from a minute before issue until `certValidityMs` after it
 * (the proxies report that expiry); the CA itself for a week, or as long as they are.
 */
export class MeshCA {
  private constructor(
    private readonly keys: CryptoKeyPair,
    private readonly certificate: x509.X509Certificate,
    private readonly certValidityMs: number,
  ) {}

  static async create(certValidityMs: number): Promise<MeshCA> {
    const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
    const certificate = await x509.X509CertificateGenerator.createSelfSigned({
      name: 'CN=meshtel example mesh CA',
      keys: keys,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + Math.max(CA_VALIDITY_MS, certValidityMs)),
      signingAlgorithm: ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      ],
    });
    return new MeshCA(keys, certificate, certValidityMs);
  }

  get pem(): string {
    return this.certificate.toString('pem');
  }

  /** The identity certificate of one workload. */
  async issue(workload: string, namespace = NAMESPACE): Promise<TlsMaterial> {
    const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']));
    const cert = await x509.X509CertificateGenerator.create({
      subject: `CN=${identityOf(workload, namespace)}`,
      issuer: this.certificate.subject,
      publicKey: keys.publicKey,
      signingKey: this.keys.privateKey,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + this.certValidityMs),
      signingAlgorithm: ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
        new x509.SubjectAlternativeNameExtension([
          { type: 'url', value: `spiffe://${TRUST_DOMAIN}/ns/${namespace}/sa/${workload}` },
          { type: 'dns', value: serviceHost(workload, namespace) },
        ]),
      ],
    });
    const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
    return { ca: this.pem, cert: cert.toString('pem'), key: toPem('PRIVATE KEY', Buffer.from(pkcs8)) };
  }
}

/** The mesh identity of a workload, as its certificate's subject CN carries it. */
export function identityOf(workload: string, namespace = NAMESPACE): string {
  return `${workload}.${namespace}.serviceaccount.identity.meshtel.${TRUST_DOMAIN}`;
}

function toPem(label: string, der: Buffer): string {
  const body = der.toString('base64').replace(/(.{64})/g, '$1\n').trimEnd();
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}
