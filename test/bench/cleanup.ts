// What the bench has started and must stop: child servers, containers, the compose project. Each step is
// registered as soon as there is something to stop, so every exit path (success, failure, Ctrl-C) stops it.

interface Step {
  readonly what: string;
  readonly stop: () => Promise<unknown>;
}

export class Cleanup {
  readonly #steps: Step[] = [];

  /** Registers a step; the function returned runs it now, once, and forgets it. */
  add(what: string, stop: () => Promise<unknown>): () => Promise<void> {
    const step = { what, stop };
    this.#steps.push(step);
    return () => this.#run(step);
  }

  /** Runs every step still registered, the latest first; a step that fails does not keep the others from running. */
  async runAll(): Promise<void> {
    for (const step of [...this.#steps].reverse()) await this.#run(step);
  }

  async #run(step: Step): Promise<void> {
    const index = this.#steps.indexOf(step);
    if (index === -1) return;

    this.#steps.splice(index, 1);
    try {
      await step.stop();
    } catch (error) {
      process.stderr.write(`bench: could not stop ${step.what}: ${(error as Error).message}\n`);
    }
  }
}
