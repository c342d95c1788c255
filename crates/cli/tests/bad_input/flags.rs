//! Absurd and degenerate values on the command line, subcommand by subcommand: each is refused
//! before any work, naming the flag (and, for sizes, the limit and how to raise it).
use crate::fixtures::{lenet_checkpoint, repo};
use crate::table::{case, refuse_all, Case};

/// `--threads`, `RAYON_NUM_THREADS` and the sizes that used to abort or hang.
#[test]
fn threads_and_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let cases = vec![
        case(
            &["--threads", "0", "summary", "lenet5"],
            &["--threads: must be at least 1"],
        ),
        case(
            &["--threads", "1000000", "summary", "lenet5"],
            &["1000000 threads is above the limit of", "per core"],
        ),
        case(
            &["summary", "lenet5"],
            &["RAYON_NUM_THREADS: 1000000 threads"],
        )
        .with_env("RAYON_NUM_THREADS", "1000000"),
        case(
            &["summary", "lenet5", "--classes", "1000000000000"],
            &[
                "1000000000000 classes is above convkit's limit of 100000",
                "CONVKIT_MAX_CLASSES",
            ],
        ),
        case(
            &["summary", "lenet5", "--input", "1x100000x100000"],
            &["input 100000×100000", "CONVKIT_MAX_INPUT_PIXELS"],
        ),
        case(
            &["summary", "lenet5", "--input", "100000x28x28"],
            &["100000 input channels", "CONVKIT_MAX_INPUT_CHANNELS"],
        ),
        // Within the input limit, LeNet-5's first linear layer would take 26 GB.
        case(
            &["summary", "lenet5", "--input", "1x2048x2048"],
            &[
                "Linear parameter (shape [500, 13107200], f32)",
                "CONVKIT_MAX_TENSOR_BYTES",
            ],
        ),
        case(
            &["summary", "lenet5", "--classes", "0"],
            &["must be at least 1"],
        ),
        case(
            &["summary", "lenet5", "--input", "0x28x28"],
            &["three positive sizes"],
        ),
        case(&["summary", "lenet5", "--input", "28x28"], &["CxHxW"]),
        case(&["summary", "resnet18", "--classes", "x"], &["--classes"]),
        case(
            &["summary", "lenet6"],
            &["unknown model 'lenet6'", "lenet5"],
        ),
        // The limits can be lowered (and raised) by their variables; a bad value is named.
        case(
            &["summary", "lenet5"],
            &["10 classes is above convkit's limit of 5"],
        )
        .with_env("CONVKIT_MAX_CLASSES", "5"),
        case(
            &["summary", "lenet5"],
            &["CONVKIT_MAX_CLASSES=\"lots\" is not a whole number"],
        )
        .with_env("CONVKIT_MAX_CLASSES", "lots"),
        case(
            &["init-stats", "--width", "1000000"],
            &[
                "init-stats weight (shape [1000000, 1000000], f32)",
                "CONVKIT_MAX_TENSOR_BYTES",
            ],
        ),
        case(
            &["init-stats", "--batch", "100000000", "--width", "64"],
            &["activations of all layers", "CONVKIT_MAX_TENSOR_BYTES"],
        ),
        case(
            &["init-stats", "--layers", "100000", "--width", "8"],
            &[
                "--layers 100000: the histograms",
                "CONVKIT_MAX_IMAGE_PIXELS",
            ],
        ),
        case(&["init-stats", "--width", "0"], &["must be at least 1"]),
        case(&["init-stats", "--layers", "0"], &["must be at least 1"]),
    ];
    println!("{} bad inputs refused", refuse_all(dir.path(), &cases));
}

/// `train` values that can never give a meaningful run.
#[test]
fn train_flags() {
    let dir = tempfile::tempdir().unwrap();
    let train = |extra: &[&str], says: &[&str]| -> Case {
        let mut args = vec!["train", "--train-limit", "64"];
        args.extend_from_slice(extra);
        case(&args, says)
    };
    let cases = vec![
        train(
            &["--epochs", "0"],
            &["--epochs (epochs): must be at least 1"],
        ),
        train(&["--batch-size", "0"], &["--batch-size", "at least 1"]),
        case(
            &["train", "--train-limit", "0"],
            &["--train-limit", "at least 1"],
        ),
        train(
            &["--lr", "0"],
            &["--lr (optimizer.lr): must be a positive number, got 0"],
        ),
        train(&["--lr", "-1"], &["--lr", "got -1"]),
        train(&["--lr", "nan"], &["--lr", "got NaN"]),
        train(&["--lr", "1e39"], &["--lr", "got inf"]),
        train(&["--momentum", "1.5"], &["--momentum", "below 1"]),
        train(&["--weight-decay", "-1"], &["--weight-decay"]),
        train(
            &["--clip-grad-norm", "0"],
            &["--clip-grad-norm", "clipping to 0"],
        ),
        train(&["--clip-grad-value", "0"], &["--clip-grad-value"]),
        train(
            &["--mixup", "0"],
            &["--mixup", "alpha must be a positive number"],
        ),
        train(&["--val-fraction", "1"], &["--val-fraction", "below 1"]),
        train(
            &["--workers", "0"],
            &["--workers (data.workers)", "must be at least 1"],
        ),
        train(
            &["--workers", "1000000"],
            &["--workers", "1000000 threads is above the limit"],
        ),
        train(&["--early-stop", "0"], &["--early-stop", "at least 1"]),
        train(
            &["--checkpoint-every", "0"],
            &["--checkpoint-every", "at least 1"],
        ),
        train(&["--snapshots", "0"], &["--snapshots"]),
        train(
            &["--epochs", "2", "--snapshots", "3"],
            &["multiple of the number of cycles"],
        ),
        train(
            &["--stop-after", "0"],
            &["--stop-after needs an epoch of at least 1"],
        ),
        train(&["--model", "lenet6"], &["unknown model 'lenet6'"]),
        train(&["--optimizer", "sgdd"], &["sgdd"]),
        train(&["--schedule", "step", "--gamma", "nan"], &["gamma"]),
        train(
            &["--augment", "crop,sparkle"],
            &["unknown transform 'sparkle'"],
        ),
        train(
            &["--augment", "resized-crop:size=100000"],
            &[
                "--augment",
                "10000000000 pixels in one image",
                "CONVKIT_MAX_IMAGE_PIXELS",
            ],
        ),
        train(&["--dataset", "folder"], &["data_dir", "image folder"]),
        train(&["--config", "missing.toml"], &["missing.toml"]),
        train(&["--resume", "nowhere"], &["cannot resume from nowhere"]),
        train(&["--init-from", "missing.pth"], &["missing.pth"]),
    ];
    println!("{} bad inputs refused", refuse_all(dir.path(), &cases));
}

/// `eval`, `predict`, `bench`, `search`, `augment`, `import` and `export` values that would
/// measure, show or write nothing meaningful.
#[test]
fn other_subcommands() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let ckpt = lenet_checkpoint(&dir.path().join("lenet.safetensors"));
    let (ckpt, digit) = (
        ckpt.to_str().unwrap().to_string(),
        repo().join("data/samples/digit3.png"),
    );
    let digit = digit.to_str().unwrap();
    let cases = vec![
        case(&["eval"], &["give the checkpoint to evaluate"]),
        case(
            &["eval", &ckpt, "--batch-size", "0"],
            &["--batch-size must be at least 1"],
        ),
        case(
            &["predict", "--checkpoint", &ckpt, "--top", "0", digit],
            &["--top must be at least 1"],
        ),
        case(&["predict", "--checkpoint", &ckpt], &["IMAGES"]),
        case(&["bench", "--iters", "0"], &["--iters must be at least 1"]),
        case(&["bench", "--reps", "0"], &["--reps must be at least 1"]),
        case(
            &["bench", "--min-time", "0"],
            &["--min-time must be a number of seconds above 0"],
        ),
        case(&["bench", "--min-time", "nan"], &["--min-time", "got NaN"]),
        case(&["bench", "--min-time", "1e9"], &["at most 3600"]),
        case(&["bench", "--workloads", "w9"], &["w9"]),
        case(
            &["search", "--subset", "0"],
            &["--subset must be at least 1"],
        ),
        case(
            &["search", "--trials", "0"],
            &["--trials and --epochs must be at least 1"],
        ),
        case(
            &["search", "--epochs", "0"],
            &["--trials and --epochs must be at least 1"],
        ),
        case(
            &["search", "--val-fraction", "0"],
            &["--val-fraction must be above 0 and below 1"],
        ),
        case(&["search", "--lr-range", "nan,1"], &["--lr-range"]),
        case(
            &["search", "--", "--epochs", "0"],
            &["--epochs", "at least 1"],
        ),
        case(
            &["augment", "--out", "a.png", "--samples", "0"],
            &["--samples and --zoom"],
        ),
        case(
            &["augment", "--out", "a.png", "--zoom", "0"],
            &["--samples and --zoom"],
        ),
        case(
            &[
                "augment",
                "--out",
                "a.png",
                "--samples",
                "1000000000",
                "--variants",
                "100000",
            ],
            &[
                "--samples 1000000000 --variants 100000 --zoom 4: the grid",
                "CONVKIT_MAX_IMAGE_PIXELS",
            ],
        ),
        case(
            &["augment", "--out", "a.png", "--zoom", "4000000000"],
            &["the grid", "pixels in one image"],
        ),
        case(
            &["augment", "--out", "a.png", "--transforms", "sparkle"],
            &["unknown transform"],
        ),
        case(
            &[
                "augment",
                "--out",
                "a.png",
                "--transforms",
                "crop:size=100000",
            ],
            &["does not fit"],
        ),
        case(
            &[
                "augment",
                "--out",
                "a.png",
                "--transforms",
                "resized-crop:size=100000",
            ],
            &["10000000000 pixels in one image"],
        ),
        case(
            &[
                "import",
                "x.pth",
                "--model",
                "lenet5",
                "--classes",
                "1000000000000",
                "--out",
                "o.safetensors",
            ],
            &["1000000000000 classes is above convkit's limit"],
        ),
        case(
            &[
                "import",
                "x.pth",
                "--model",
                "lenet5",
                "--input",
                "1x100000x100000",
                "--out",
                "o.safetensors",
            ],
            &["CONVKIT_MAX_INPUT_PIXELS"],
        ),
        case(
            &[
                "import",
                "x.pth",
                "--model",
                "lenet5",
                "--mean",
                "0.5,0.5",
                "--std",
                "1,1",
                "--out",
                "o.safetensors",
            ],
            &["one finite mean and one positive std for each of the 1 input channels"],
        ),
        case(
            &[
                "import",
                "x.pth",
                "--model",
                "lenet5",
                "--mean",
                "0.5",
                "--std",
                "0",
                "--out",
                "o.safetensors",
            ],
            &["positive std"],
        ),
        case(
            &[
                "import",
                "x.pth",
                "--model",
                "lenet5",
                "--out",
                "o.safetensors",
            ],
            &["x.pth", "No such file"],
        ),
        case(
            &["export", "missing.safetensors", "--out", "o.safetensors"],
            &["missing.safetensors"],
        ),
        case(
            &["export", &ckpt, "--out", "no/such/folder/o.safetensors"],
            &["no/such/folder/o.safetensors"],
        ),
        // A folder where an output or input file should be: the OS error, once.
        case(
            &["export", &ckpt, "--out", "sub"],
            &["sub: Is a directory (os error 21)"],
        ),
        case(
            &["augment", "--out", "sub"],
            &["writing sub: Is a directory (os error 21)"],
        ),
        case(
            &["init-stats", "--width", "8", "--out", "sub"],
            &["writing sub: Is a directory (os error 21)"],
        ),
        case(
            &[
                "import",
                "sub",
                "--model",
                "lenet5",
                "--out",
                "o.safetensors",
            ],
            &["sub: Is a directory (os error 21)"],
        ),
        case(
            &["predict", "--checkpoint", &ckpt, "sub"],
            &["sub: cannot read: Is a directory (os error 21)"],
        ),
        case(
            &["train", "--config", "sub"],
            &["sub: Is a directory (os error 21)"],
        ),
    ];
    println!("{} bad inputs refused", refuse_all(dir.path(), &cases));
}

/// `plot` and the initialisation flag: folders that are not runs, unknown metrics, labels that
/// don't match the runs, `--weight-init` or `--zero-init-residual` beside `--init-from`, and
/// `--zero-init-residual` on a plain network.
#[test]
fn plot_and_initialisation_flags() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    let cases = vec![
        case(
            &["plot", "empty", "--out", "p.png"],
            &["empty/metrics.csv: No such file or directory (os error 2)"],
        ),
        case(
            &["plot", "empty", "--metric", "loss"],
            &["unknown metric 'loss'", "train-loss", "batch-loss"],
        ),
        case(
            &["plot", "empty", "--label", "a,b"],
            &["--label: 2 labels for 1 runs"],
        ),
        case(&["plot", "empty", "--smooth", "0"], &["--smooth"]),
        case(
            &["train", "--weight-init", "kaiming", "--init-from", "w.pth"],
            &["--weight-init (weight_init): cannot be combined with init_from"],
        ),
        case(
            &["train", "--zero-init-residual", "--init-from", "w.pth"],
            &["--zero-init-residual (zero_init_residual): initialises a fresh model"],
        ),
        case(
            &["train", "--model", "plain20", "--zero-init-residual"],
            &["zero_init_residual: the model has no residual block"],
        ),
    ];
    println!("{} bad inputs refused", refuse_all(dir.path(), &cases));
}
