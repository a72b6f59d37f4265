/**
 * POSIX shell quoting. Every command that crosses a shell (SSH, `sh -c`) is
 * built from an argv array through these functions, so user input can never
 * change the shape of a command.
 */

const SAFE = /^[A-Za-z0-9_\/.,:=@%+-]+$/;

/** Quotes one argument for a POSIX shell. */
export function quote(arg: string): string {
  if (arg.length > 0 && SAFE.test(arg)) {
    return arg;
  }
  return "'" + arg.replace(/'/g, "'\\''") + "'";
}

/** Joins an argv array into one shell command line. */
export function commandLine(argv: readonly string[]): string {
  if (argv.length === 0) {
    throw new Error("commandLine: argv must not be empty");
  }
  return argv.map(quote).join(" ");
}
