/**
 * Where a training step's time goes: every kernel of a backend wrapped with a timer, so the
 * bench (`deno task bench --profile`) can list milliseconds per kernel. The replica workers
 * (`lib/engine/replica_worker.ts`) profile themselves with it, since their kernels run there.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** Self time (excluding the kernels it called) and calls of one kernel, or kernel and shapes. */
export interface KernelStats {
  ms: number;
  calls: number;
}

/** A running profile: read `stats`, then `stop()` to restore the kernels. */
export interface KernelProfile {
  stats: Map<string, KernelStats>;
  stop(): void;
}

function describe(inputs: tf.NamedTensorInfoMap): string {
  return Object.entries(inputs).map(([k, t]) => `${k}[${t?.shape.join(",")}]`).join(" ");
}

/**
 * Wraps every kernel registered for `backendName` with a timer until `stop()`. Kernels that call
 * other kernels (the gradient kernels of `kernels.ts` do) are charged their self time only.
 * With `byShape`, the key also holds the input shapes and attributes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { startKernelProfile } from "./kernel_profile.ts";
 * await tf.setBackend("cpu");
 * const profile = startKernelProfile("cpu");
 * tf.tidy(() => tf.add(tf.ones([4]), tf.ones([4])));
 * profile.stop();
 * assert.equal(profile.stats.get("Add")?.calls, 1);
 * ```
 */
export function startKernelProfile(
  backendName: string,
  options: { byShape?: boolean } = {},
): KernelProfile {
  const stats = new Map<string, KernelStats>();
  const originals = tf.getKernelsForBackend(backendName);
  const childTime: number[] = [];
  for (const config of originals) {
    const inner = config.kernelFunc;
    const name = config.kernelName;
    const timed: tf.KernelFunc = (args) => {
      childTime.push(0);
      const t0 = performance.now();
      try {
        return inner(args);
      } finally {
        const total = performance.now() - t0;
        const children = childTime.pop() ?? 0;
        if (childTime.length > 0) childTime[childTime.length - 1] += total;
        const key = options.byShape
          ? `${name} ${describe(args.inputs)} ${JSON.stringify(args.attrs ?? {})}`
          : name;
        const s = stats.get(key) ?? { ms: 0, calls: 0 };
        s.ms += total - children;
        s.calls++;
        stats.set(key, s);
      }
    };
    tf.unregisterKernel(name, backendName);
    tf.registerKernel({ ...config, kernelFunc: timed });
  }
  let stopped = false;
  return {
    stats,
    stop() {
      if (stopped) return;
      stopped = true;
      for (const config of originals) {
        tf.unregisterKernel(config.kernelName, backendName);
        tf.registerKernel(config);
      }
    },
  };
}
