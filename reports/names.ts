/**
 * How the report names and groups metrics: the question each metric answers, a readable name
 * (plain and LaTeX) and the unit shown with it. Metrics not listed here keep their own name and
 * land under "other".
 */

/** The questions a report answers, in the order it answers them. */
export type Question =
  | "likelihood"
  | "samples"
  | "reconstruction"
  | "completion"
  | "translation"
  | "conditional"
  | "cost"
  | "other";

export const QUESTIONS: readonly Question[] = [
  "likelihood",
  "samples",
  "reconstruction",
  "completion",
  "translation",
  "conditional",
  "cost",
  "other",
];

/** Each question's heading and the one sentence under it. */
export const QUESTION_TEXT: Record<Question, { title: string; what: string }> = {
  likelihood: {
    title: "Likelihood",
    what: "How probable are unseen test images under the model? Ranked within each kind of " +
      "estimate: exact values first, then importance-weighted (IWAE-k) and ELBO upper bounds, " +
      "which only bound the NLL from above and are never ranked against exact values.",
  },
  samples: {
    title: "Sample quality",
    what: "How close are the model's samples to real test images in the frozen LeNet's " +
      "feature space? The real-vs-real row, where present, is the floor a perfect model reaches " +
      "with the same number of images.",
  },
  reconstruction: {
    title: "Reconstruction",
    what: "How well does an encoder–decoder model rebuild test images from their codes?",
  },
  completion: {
    title: "Completion from key patches",
    what: "Given K key patches of a test image (positions hidden), how close is the whole image " +
      "the model completes to its source, and does its mask put the patches where they were cut?",
  },
  translation: {
    title: "Translation",
    what: "How well does a model translate test digits between domains of known ground truth " +
      "(datasets/domains.ts)? Means over the ordered domain pairs scored: the digit kept, the " +
      "target domain reached (frozen classifiers, 28×28 only), PSNR/SSIM against the true " +
      "translation, the round trip's error and FID.",
  },
  conditional: {
    title: "Conditional generation",
    what: 'Does an image made from a held-out caption ("a thick seven") show what it asks? ' +
      "The frozen digit and domain classifiers' accuracies (28×28 only), FID against the " +
      "captioned test digits through the captioned domains (overall, per domain, per class), " +
      "and the pixel diversity of samples of one caption beside that of real images.",
  },
  cost: {
    title: "Cost",
    what: "What a result costs: trainable parameters, training wall time and throughput " +
      "(timings depend on the machine and the backend).",
  },
  other: { title: "Other metrics", what: "Metrics without a question of their own." },
};

/** A metric's place and names in the report. */
export interface MetricName {
  question: Question;
  /** Plain text, e.g. `−ELBO`. */
  plain: string;
  /** LaTeX (text mode), e.g. `$-$ELBO`. */
  latex: string;
  /** Unit shown in headings; "" for none (counts, fractions, ratios). Default: the value's. */
  unit?: string;
}

/** Every metric genbench knows, in the order its question's table shows them. */
export const METRIC_NAMES: Record<string, MetricName> = {
  nll_nats: { question: "likelihood", plain: "NLL", latex: "NLL" },
  bpd: { question: "likelihood", plain: "bits/dim", latex: "bits/dim", unit: "" },
  elbo_nats: { question: "likelihood", plain: "−ELBO", latex: "$-$ELBO" },
  iwae_nats: { question: "likelihood", plain: "−IWAE", latex: "$-$IWAE" },
  ais_ll: { question: "likelihood", plain: "AIS log-lik.", latex: "AIS log-lik." },
  ais_sigma: { question: "likelihood", plain: "AIS σ", latex: "AIS $\\sigma$" },
  parzen_ll: { question: "likelihood", plain: "Parzen log-lik.", latex: "Parzen log-lik." },
  parzen_sigma: { question: "likelihood", plain: "Parzen σ", latex: "Parzen $\\sigma$" },
  fid: { question: "samples", plain: "FID", latex: "FID", unit: "" },
  kid: { question: "samples", plain: "KID", latex: "KID", unit: "" },
  kid_std: { question: "samples", plain: "KID std", latex: "KID std", unit: "" },
  precision: { question: "samples", plain: "Precision", latex: "Precision", unit: "" },
  recall: { question: "samples", plain: "Recall", latex: "Recall", unit: "" },
  is_score: { question: "samples", plain: "IS", latex: "IS", unit: "" },
  is_score_std: { question: "samples", plain: "IS std", latex: "IS std", unit: "" },
  class_entropy: { question: "samples", plain: "Class entropy", latex: "Class entropy" },
  label_accuracy: { question: "samples", plain: "Label acc.", latex: "Label acc.", unit: "" },
  nn_train_ratio: { question: "samples", plain: "NN ratio", latex: "NN ratio", unit: "" },
  // Against the binarized test set (binary models): never one column with the grey ones.
  fid_binary: { question: "samples", plain: "FID (binarized)", latex: "FID (bin.)", unit: "" },
  kid_binary: { question: "samples", plain: "KID (binarized)", latex: "KID (bin.)", unit: "" },
  kid_std_binary: {
    question: "samples",
    plain: "KID std (binarized)",
    latex: "KID std (bin.)",
    unit: "",
  },
  precision_binary: {
    question: "samples",
    plain: "Precision (binarized)",
    latex: "Precision (bin.)",
    unit: "",
  },
  recall_binary: {
    question: "samples",
    plain: "Recall (binarized)",
    latex: "Recall (bin.)",
    unit: "",
  },
  recon_bce: { question: "reconstruction", plain: "Recon. BCE", latex: "Recon.\\ BCE" },
  kl_nats: { question: "reconstruction", plain: "KL", latex: "KL" },
  elbo_recon_nats: {
    question: "reconstruction",
    plain: "ELBO recon. (sampled z)",
    latex: "ELBO recon.\\ (sampled $z$)",
  },
  recon_mse: { question: "reconstruction", plain: "MSE", latex: "MSE", unit: "" },
  recon_psnr: { question: "reconstruction", plain: "PSNR", latex: "PSNR" },
  recon_ssim: { question: "reconstruction", plain: "SSIM", latex: "SSIM", unit: "" },
  active_units: { question: "reconstruction", plain: "Active units", latex: "Active units" },
  completion_psnr: { question: "completion", plain: "PSNR", latex: "PSNR" },
  completion_ssim: { question: "completion", plain: "SSIM", latex: "SSIM", unit: "" },
  completion_mask_iou: { question: "completion", plain: "Mask IoU", latex: "Mask IoU", unit: "" },
  completion_label_acc: {
    question: "completion",
    plain: "Label acc.",
    latex: "Label acc.",
    unit: "",
  },
  completion_fid: { question: "completion", plain: "FID", latex: "FID", unit: "" },
  translation_label_acc: {
    question: "translation",
    plain: "Label kept",
    latex: "Label kept",
    unit: "",
  },
  translation_domain_acc: {
    question: "translation",
    plain: "Target domain",
    latex: "Target domain",
    unit: "",
  },
  translation_psnr: { question: "translation", plain: "PSNR vs truth", latex: "PSNR vs truth" },
  translation_ssim: {
    question: "translation",
    plain: "SSIM vs truth",
    latex: "SSIM vs truth",
    unit: "",
  },
  translation_cycle_l1: {
    question: "translation",
    plain: "Cycle L1",
    latex: "Cycle L1",
    unit: "",
  },
  translation_fid: {
    question: "translation",
    plain: "FID vs truth",
    latex: "FID vs truth",
    unit: "",
  },
  caption_digit_acc: {
    question: "conditional",
    plain: "Digit acc.",
    latex: "Digit acc.",
    unit: "",
  },
  caption_domain_acc: {
    question: "conditional",
    plain: "Domain acc.",
    latex: "Domain acc.",
    unit: "",
  },
  caption_match_acc: {
    question: "conditional",
    plain: "Both right",
    latex: "Both right",
    unit: "",
  },
  caption_fid: { question: "conditional", plain: "FID", latex: "FID", unit: "" },
  caption_fid_domain: {
    question: "conditional",
    plain: "FID per domain",
    latex: "FID per domain",
    unit: "",
  },
  caption_intra_fid: { question: "conditional", plain: "Intra-FID", latex: "Intra-FID", unit: "" },
  caption_diversity: { question: "conditional", plain: "Diversity", latex: "Diversity" },
  caption_diversity_real: {
    question: "conditional",
    plain: "Diversity (real)",
    latex: "Diversity (real)",
  },
  params: { question: "cost", plain: "Params", latex: "Params", unit: "" },
  train_seconds: { question: "cost", plain: "Train time", latex: "Train time" },
  train_img_per_s: { question: "cost", plain: "Train speed", latex: "Train speed" },
  sample_img_per_s: { question: "cost", plain: "Sampling speed", latex: "Sampling speed" },
};

/** Units that say nothing a heading needs (the name or the note says it). */
const SILENT_UNITS = new Set(["count", "unitless", "fraction", "ratio", ""]);

/** The names of `metric`, with the unit to show for a value in `unit`. */
export function metricName(metric: string, unit: string): MetricName & { unit: string } {
  const known = METRIC_NAMES[metric];
  const shown = known?.unit ?? (SILENT_UNITS.has(unit) ? "" : unit);
  if (known) return { ...known, unit: shown };
  return { question: "other", plain: metric, latex: latexText(metric), unit: shown };
}

/** Position of a metric within its question's table. */
export function metricOrder(metric: string): number {
  const i = Object.keys(METRIC_NAMES).indexOf(metric);
  return i === -1 ? Number.MAX_SAFE_INTEGER : i;
}

/** Characters LaTeX cannot take as they are, written as LaTeX (text mode). */
const LATEX_CHARS: Record<string, string> = {
  "\\": "\\textbackslash{}",
  "~": "\\textasciitilde{}",
  "^": "\\textasciicircum{}",
  "&": "\\&",
  "%": "\\%",
  $: "\\$",
  "#": "\\#",
  _: "\\_",
  "{": "\\{",
  "}": "\\}",
  "²": "$^2$",
  "³": "$^3$",
  "±": "$\\pm$",
  "−": "$-$",
  "–": "--",
  "—": "---",
  "×": "$\\times$",
  "·": "$\\cdot$",
  "≈": "$\\approx$",
  "≤": "$\\le$",
  "≥": "$\\ge$",
  "≪": "$\\ll$",
  "‖": "$\\|$",
  "↓": "$\\downarrow$",
  "↑": "$\\uparrow$",
  "→": "$\\to$",
  "…": "\\dots{}",
  "é": "\\'e",
  "è": "\\`e",
  "ö": '\\"o',
  "ü": '\\"u',
  "ä": '\\"a',
  "“": "``",
  "”": "''",
  "‘": "`",
  "’": "'",
};

const GREEK = "αβγδεζηθικλμνξοπρστυφχψω";
const GREEK_NAMES = [
  "alpha",
  "beta",
  "gamma",
  "delta",
  "epsilon",
  "zeta",
  "eta",
  "theta",
  "iota",
  "kappa",
  "lambda",
  "mu",
  "nu",
  "xi",
  "o",
  "pi",
  "rho",
  "sigma",
  "tau",
  "upsilon",
  "phi",
  "chi",
  "psi",
  "omega",
];

/**
 * Text for LaTeX's text mode: special characters escaped, the Unicode genbench uses written as
 * LaTeX (², ±, −, Greek letters, arrows); anything else outside ASCII becomes `?`.
 */
export function latexText(text: string): string {
  return Array.from(text, (c) => {
    if (c in LATEX_CHARS) return LATEX_CHARS[c];
    const greek = GREEK.indexOf(c);
    if (greek !== -1) return GREEK_NAMES[greek] === "o" ? "o" : `$\\${GREEK_NAMES[greek]}$`;
    if (c === "μ" || c === "µ") return "$\\mu$";
    return /[\x20-\x7e]/.test(c) ? c : "?";
  }).join("").replace(/(?<!\\)\$\$/g, "");
}
