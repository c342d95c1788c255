//! `convkit attack`: robust accuracy of a checkpoint under adversarial attacks over a list of ε,
//! with a robustness curve, a grid of examples, a CSV and the gradient-masking checks.
mod charts;
mod grid;
mod report;

use crate::config_flags::cli_error;
use anyhow::{bail, Context};
use clap::Args;
use convkit_attack::{
    attack_batch, Attack, CarliniWagnerConfig, Classifier, MaskingChecks, MaskingConfig, Norm,
    PgdConfig, RobustnessCurve,
};
use convkit_data::{Dataset, Split};
use convkit_tensor::{seeded_rng, Tensor};
use convkit_train::checkpoint::{self, LoadedModel};
use convkit_train::DatasetName;
use grid::{GridColumn, GridExamples};
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct AttackArgs {
    /// Checkpoint written by `convkit train` (it must record the normalisation).
    #[arg(value_name = "CHECKPOINT")]
    pub checkpoint: PathBuf,
    /// Comma-separated attacks: fgsm, fgsm-rs, bim, pgd (L∞), pgd-l2, deepfool, cw (L2).
    #[arg(long, value_delimiter = ',', default_value = "fgsm,pgd")]
    pub method: Vec<String>,
    /// L∞ radii for the L∞ attacks, in pixel units ([0, 1] scale).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "0,0.05,0.1,0.15,0.2,0.25,0.3",
        allow_hyphen_values = true
    )]
    pub eps: Vec<f32>,
    /// L2 radii for the L2 attacks (pgd-l2, deepfool, cw), in pixel units.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "0,0.5,1,1.5,2,2.5,3",
        allow_hyphen_values = true
    )]
    pub eps_l2: Vec<f32>,
    /// Attack only the first N test images (default: the whole test set).
    #[arg(long)]
    pub limit: Option<usize>,
    /// PGD steps (pgd, pgd-l2).
    #[arg(long, default_value_t = 40)]
    pub steps: usize,
    /// PGD step size (default 2.5·ε/steps).
    #[arg(long)]
    pub alpha: Option<f32>,
    /// PGD runs from fresh random starts (each on the images no earlier run fooled).
    #[arg(long, default_value_t = 1)]
    pub restarts: usize,
    /// Carlini–Wagner: Adam iterations per binary-search round (the paper's 10000 is slow on a CPU).
    #[arg(long, default_value_t = 10_000)]
    pub cw_iterations: usize,
    /// Carlini–Wagner: binary-search rounds over the constant c.
    #[arg(long, default_value_t = 9)]
    pub cw_search_steps: usize,
    /// Random points per image and ε tried by the black-box noise check.
    #[arg(long, default_value_t = 10)]
    pub noise_draws: usize,
    /// Skip the gradient-masking checks (noise search and PGD at ε = 1).
    #[arg(long)]
    pub no_masking_checks: bool,
    /// Examples (rows) in the grid.
    #[arg(long, default_value_t = 8)]
    pub grid_images: usize,
    #[arg(long, default_value_t = 100)]
    pub batch_size: usize,
    /// Seed of the random starts and the noise check.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Folder holding the dataset files (default: the dataset's usual place).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Folder for robustness.csv, robustness.png and examples.png (default: CHECKPOINT's folder/attack).
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
}

/// The checkpoint's model and metadata. The one place this command loads checkpoints.
fn load_model(path: &Path) -> anyhow::Result<LoadedModel> {
    let loaded = checkpoint::load_model(path)?;
    // Loading reads a missing normalisation as the identity; an attack must not guess the
    // pixel scale the model was trained on.
    if loaded.checkpoint.meta().normalization.mean.is_empty() {
        return Err(
            anyhow::Error::from(convkit_attack::Error::MissingNormalization)
                .context(path.display().to_string()),
        );
    }
    Ok(loaded)
}

/// The test split of the dataset named `name`. The one place this command loads data.
fn load_test_set(name: &str, data_dir: Option<&Path>) -> anyhow::Result<Dataset> {
    let dataset = DatasetName::parse(name).map_err(anyhow::Error::msg)?;
    dataset.load(data_dir, Split::Test).map_err(cli_error)
}

/// The attacks named by `--method`, with the command's settings.
fn parse_attacks(args: &AttackArgs) -> anyhow::Result<Vec<Attack>> {
    let mut attacks = Vec::new();
    for name in &args.method {
        let attack = match Attack::from_name(name).context("--method")? {
            Attack::Pgd(config) => Attack::Pgd(PgdConfig {
                steps: args.steps,
                alpha: args.alpha,
                restarts: args.restarts,
                ..config
            }),
            Attack::CarliniWagner(config) => Attack::CarliniWagner(CarliniWagnerConfig {
                max_iterations: args.cw_iterations,
                binary_search_steps: args.cw_search_steps,
                ..config
            }),
            attack => attack,
        };
        if attacks.contains(&attack) {
            bail!("--method names {name} twice");
        }
        attacks.push(attack);
    }
    if attacks.is_empty() {
        bail!("--method names no attack");
    }
    Ok(attacks)
}

/// `list` checked to hold finite radii ≥ 0.
fn check_radii(flag: &str, list: &[f32]) -> anyhow::Result<()> {
    if list.is_empty() {
        bail!("{flag} lists no ε");
    }
    if let Some(bad) = list.iter().find(|e| !(e.is_finite() && **e >= 0.0)) {
        bail!("{flag}: ε must be a finite number ≥ 0, got {bad}");
    }
    Ok(())
}

/// The images `start..start + len` of `data` as pixels in [0, 1], and their labels.
fn pixel_batch(data: &Dataset, start: usize, len: usize) -> anyhow::Result<(Tensor, Vec<usize>)> {
    let size = data.image_len();
    let pixels = data.images()[start * size..(start + len) * size]
        .iter()
        .map(|&p| f32::from(p) / 255.0)
        .collect();
    let dims = [len, data.channels(), data.height(), data.width()];
    Ok((
        Tensor::from_vec(pixels, dims)?,
        data.labels()[start..start + len].to_vec(),
    ))
}

pub fn run(args: AttackArgs) -> anyhow::Result<()> {
    let attacks = parse_attacks(&args)?;
    check_radii("--eps", &args.eps)?;
    check_radii("--eps-l2", &args.eps_l2)?;
    let radii = |norm: Norm| match norm {
        Norm::Linf => &args.eps,
        Norm::L2 => &args.eps_l2,
    };
    let loaded = load_model(&args.checkpoint)?;
    let classifier = Classifier::new(
        loaded.model.as_ref(),
        &loaded.record.normalize.mean,
        &loaded.record.normalize.std,
    )
    .with_context(|| format!("{}", args.checkpoint.display()))?;
    let test_set = load_test_set(&loaded.record.dataset, args.data_dir.as_deref())?;
    let total = args.limit.unwrap_or(usize::MAX).min(test_set.len());
    if total == 0 {
        bail!("--limit 0 leaves no image to attack");
    }
    let batch_size = args.batch_size.max(1);
    let out_dir = args.out_dir.clone().unwrap_or_else(|| {
        args.checkpoint
            .parent()
            .unwrap_or(Path::new("."))
            .join("attack")
    });
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    println!(
        "attacking {} ({}) on {} {} test images with {}",
        args.checkpoint.display(),
        loaded.record.name,
        total,
        loaded.record.dataset,
        attacks
            .iter()
            .map(Attack::name)
            .collect::<Vec<_>>()
            .join(", ")
    );

    let mut curves: Vec<RobustnessCurve> = attacks
        .iter()
        .map(|a| RobustnessCurve::new(a, radii(a.norm())))
        .collect();
    let mut norms_used: Vec<(Norm, Vec<f32>)> = Vec::new();
    for norm in [Norm::Linf, Norm::L2] {
        if attacks.iter().any(|a| a.norm() == norm) {
            norms_used.push((norm, radii(norm).clone()));
        }
    }
    let masking_config = MaskingConfig {
        noise_draws: args.noise_draws,
        ..MaskingConfig::default()
    };
    let mut masking = match args.no_masking_checks {
        true => None,
        false => Some(MaskingChecks::new(masking_config, &norms_used)?),
    };
    let mut examples = GridExamples::default();
    let rng = &mut seeded_rng(args.seed);
    for start in (0..total).step_by(batch_size) {
        let len = batch_size.min(total - start);
        let (images, labels) = pixel_batch(&test_set, start, len)?;
        if start == 0 {
            let rows = args.grid_images.min(len);
            let shown = images.narrow(0, 0, rows)?;
            let predictions = classifier.predict(&shown)?;
            examples.set_clean(shown, labels[..rows].to_vec(), predictions);
        }
        for (attack, curve) in attacks.iter().zip(&mut curves) {
            let results = attack_batch(&classifier, attack, &images, &labels, &curve.eps, rng)?;
            curve.add(&results, &labels);
            if start == 0 {
                let strongest = results.last().expect("a non-empty ε list");
                examples.add_column(GridColumn::new(attack.name(), strongest, args.grid_images)?);
            }
        }
        if let Some(checks) = masking.as_mut() {
            checks.add_batch(&classifier, &images, &labels, rng)?;
        }
        eprintln!("attacked {}/{} images", start + len, total);
    }

    report::print_tables(&curves);
    let csv = out_dir.join("robustness.csv");
    report::write_csv(&curves, &csv)?;
    let chart = out_dir.join("robustness.png");
    charts::draw_robustness(&curves, &chart)?;
    let grid_path = out_dir.join("examples.png");
    grid::draw_grid(&examples, &loaded.record.class_names, &grid_path)?;
    if let Some(checks) = &masking {
        println!("{}", checks.report(&curves));
    }
    println!(
        "wrote {}, {} and {}",
        csv.display(),
        chart.display(),
        grid_path.display()
    );
    Ok(())
}
