/**
 * The page served by `zkml serve` at `/`: the files of the package's web/ folder and snarkjs' browser build,
 * taken from the installed snarkjs package (nothing is fetched from elsewhere at run time, by the server or the
 * page). A fixed table of routes, read once at start: no path from a request ever reaches the file system.
 *
 * The Content-Security-Policy keeps the page to this origin: scripts from here only (WebAssembly allowed, for
 * snarkjs' curve code, and workers from blob: URLs, which is how snarkjs starts its threads), no inline script.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { PACKAGE_ROOT } from '../util/package-root.ts';
import { ZkmlError } from '../util/errors.ts';

const CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self' blob:",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** snarkjs' UMD browser build (a global `snarkjs`), beside the CommonJS entry its package.json exports. */
export function snarkjsBrowserBuild(): string {
  return join(dirname(createRequire(import.meta.url).resolve('snarkjs')), 'snarkjs.min.js');
}

export function registerWeb(app: FastifyInstance, webDir = join(PACKAGE_ROOT, 'web')): void {
  const files: [route: string, file: string, type: string][] = [
    ['/', join(webDir, 'index.html'), 'text/html; charset=utf-8'],
    ['/app.js', join(webDir, 'app.js'), 'text/javascript; charset=utf-8'],
    ['/style.css', join(webDir, 'style.css'), 'text/css; charset=utf-8'],
    ['/vendor/snarkjs.min.js', snarkjsBrowserBuild(), 'text/javascript; charset=utf-8'],
  ];
  for (const [route, file, type] of files) {
    let body: Buffer;
    try {
      body = readFileSync(file);
    } catch (err) {
      throw new ZkmlError(`cannot read the page's file ${route} (${(err as Error).message}): the package's web/ folder or snarkjs is incomplete; reinstall zkml`, 'E_ARTIFACT', file);
    }
    app.get(route, async (_req, reply) =>
      reply.header('content-type', type).header('content-security-policy', CSP).header('x-content-type-options', 'nosniff').header('cache-control', 'no-cache').send(body),
    );
  }
}
