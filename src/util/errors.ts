/**
 * One error type for everything a user can get wrong. `where` names the file, node, op or tensor, so the CLI
 * can print a message that says what to fix; `code` gives scripts something stable to match on.
 */
export class ZkmlError extends Error {
  constructor(
    message: string,
    readonly code: string = 'E_ZKML',
    readonly where?: string,
  ) {
    super(where ? `${where}: ${message}` : message);
    this.name = 'ZkmlError';
  }
}

export function fail(message: string, code?: string, where?: string): never {
  throw new ZkmlError(message, code, where);
}
