/** The smallest run protocol the evaluation tests start from: one step, every extra off. */
import type { RunConfig } from "../../benchmarks/record.ts";

/** One training step, binary input, `eval_count` test images, no IWAE, features, Parzen, AIS. */
export function minimalProtocol(evalCount: number): RunConfig {
  return {
    steps: 1,
    input: "binary",
    options: {},
    budget: null,
    eval_count: evalCount,
    iwae_k: 0,
    sample_count: 4,
    feature_samples: 0,
    kid_subsets: 2,
    parzen_samples: 0,
    recon_count: 0,
    ais_count: 0,
  };
}
