import type { Server } from "node:https";

export function selfSignedCertificate(opts: { keyPath: string; certPath: string; names: string[]; days: number; subject: string }): void;
export function tlsFront(tls: { key: string | Buffer; cert: string | Buffer }, upstream: { host: string; port: number | string; hostHeader?: string }): Server;
