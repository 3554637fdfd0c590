// Every error a user can cause is a DaprupError: one clear sentence, a hint, and a documented exit code.
// The table is also in the README ("Exit codes").
export const ExitCode = {
  ok: 0,
  stepFailed: 1,
  usage: 2,
  refused: 3,
  confirmationNeeded: 4,
  interrupted: 130,
} as const;

/** `plan --detailed-exitcode` answers in its own codes (as `terraform plan -detailed-exitcode`): any error is 1. */
export const DetailedExitCode = {
  noChanges: 0,
  error: 1,
  changesPending: 2,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class DaprupError extends Error {
  constructor(
    message: string,
    readonly hint: string,
    readonly exitCode: ExitCodeValue = ExitCode.stepFailed,
  ) {
    super(message);
    this.name = 'DaprupError';
  }
}

export const usageError = (message: string, hint: string) => new DaprupError(message, hint, ExitCode.usage);
export const refusal = (message: string, hint: string) => new DaprupError(message, hint, ExitCode.refused);
