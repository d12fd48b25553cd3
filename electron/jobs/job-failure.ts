// How a kind ends its job as failed while still handing back what it produced (an import that failed half-way
// still has a summary of what it read). Anything else thrown fails the job with no result.
export class JobFailure<R = unknown> extends Error {
  constructor(
    message: string,
    readonly result: R | null,
  ) {
    super(message);
    this.name = 'JobFailure';
  }
}
