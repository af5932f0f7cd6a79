// The one error type of the boot loaders: a kernel image that cannot be
// loaded. The message is a single line that names the problem.

export class LoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LoadError";
  }
}
