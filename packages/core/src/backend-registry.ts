import type {
  Backend,
  BackendFactory,
  BackendOptions,
  BackendSelection,
  BackendSelectionStep,
} from './backend.js';
import { BackendUnavailableError, InvalidArgumentError } from './errors.js';

/**
 * Backend factories by name, in `auto` probe order. Callers register factories explicitly
 * (e.g. `registry.register(referenceBackend())`), so importing a package never runs anything.
 */
export class BackendRegistry {
  private readonly factories: BackendFactory[] = [];

  /** Adds a factory; `auto` tries factories in the order they were registered. */
  register(factory: BackendFactory): this {
    if (this.factories.some((f) => f.name === factory.name)) {
      throw new InvalidArgumentError(
        `backend registry: a backend named "${factory.name}" is already registered`,
      );
    }
    this.factories.push(factory);
    return this;
  }

  /** Registered names, in probe order. */
  get names(): string[] {
    return this.factories.map((f) => f.name);
  }

  /**
   * Creates the named backend, or with `auto` the first one that probes available and
   * creates successfully; every skipped factory's reason is kept in the result.
   */
  async select(name: string, options?: BackendOptions): Promise<BackendSelection> {
    if (name !== 'auto') {
      const factory = this.factories.find((f) => f.name === name);
      if (!factory) {
        throw new InvalidArgumentError(
          `backend: expected one of auto, ${this.names.join(', ')}, found ${JSON.stringify(name)}`,
        );
      }
      const probe = await factory.probe();
      if (!probe.available) {
        throw new BackendUnavailableError(
          `backend ${name} is unavailable here: ${probe.reason ?? 'no reason given'}`,
        );
      }
      const backend = await factory.create(options);
      return { backend, steps: [{ name, chosen: true }] };
    }
    const steps: BackendSelectionStep[] = [];
    for (const factory of this.factories) {
      const probe = await factory.probe();
      if (!probe.available) {
        steps.push({ name: factory.name, chosen: false, reason: probe.reason ?? 'unavailable' });
        continue;
      }
      let backend: Backend;
      try {
        backend = await factory.create(options);
      } catch (error) {
        steps.push({
          name: factory.name,
          chosen: false,
          reason: error instanceof Error ? error.message : String(error),
        });
        continue;
      }
      steps.push({ name: factory.name, chosen: true });
      return { backend, steps };
    }
    throw new BackendUnavailableError(
      `backend auto: no registered backend can run here (${steps.map((s) => `${s.name}: ${s.reason}`).join('; ') || 'none registered'})`,
    );
  }
}
