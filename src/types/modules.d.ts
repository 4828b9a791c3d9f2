// Packages zkml uses that ship no type declarations.
declare module 'r1csfile' {
  export function readR1cs(path: string, options: Record<string, unknown>): Promise<any>;
}
declare module 'circom_runtime' {
  export function WitnessCalculatorBuilder(code: Uint8Array, options?: Record<string, unknown>): Promise<any>;
}
declare module 'circomlibjs';
