//! `summary` and `train`.

use super::CliResult;
use super::args::{SummaryArgs, TrainArgs};
use super::convert::write_file;
use catvnoncat::block_on;
use catvnoncat::data::{self, split::stratified_split};
use catvnoncat::metrics::Metrics;
use catvnoncat::model::summary::ModelSummary;
use catvnoncat::model::{HeadSettings, Vgg16Base, save_head};
use catvnoncat::training::{EpochReport, Features, RunConfig, TrainObserver, evaluate, extract_features, train_head};
use catvnoncat::weights::{Vgg16Weights, store};
use burn::tensor::Device;
use serde_json::json;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

pub fn summary(args: SummaryArgs) -> CliResult {
    let config = args.model.run_config()?;
    let summary = ModelSummary::new(config.input_size, &config.head);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!("{summary}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Loads and verifies the converted weights, float32 or float16, and builds the base on
/// `device`.
pub fn load_base(path: &Path, device: &Device) -> Result<Vgg16Base, Box<dyn std::error::Error>> {
    let bytes = std::fs::read(path).map_err(|error| {
        format!(
            "cannot read the weights {}: {error}; run `./build.sh weights` in the repository, or pass --weights PATH",
            path.display()
        )
    })?;
    let (weights, _): (Vgg16Weights, _) = store::load_verified(&bytes, &path.display().to_string())?;
    Ok(Vgg16Base::new(&weights, device))
}

pub fn train(args: TrainArgs) -> CliResult {
    let config = args.run_config()?;
    let device = Device::flex();
    let quiet = args.json;
    let say = |text: String| {
        if !quiet {
            println!("{text}");
        }
    };

    let data_dir = args.data.clone().unwrap_or_else(data::data_dir_from_env);
    let data = data::hdf5::read_dir(&data_dir)?;
    let base = load_base(&args.weights, &device)?;
    let split = stratified_split(&data.test.labels, config.validation_fraction(), config.split_seed())?;
    say(format!("{}\n", ModelSummary::new(config.input_size, &config.head)));

    let started = Instant::now();
    let train_features = features(&base, &data.train, &config, args.feature_batch_size, &device, "training", quiet)?;
    let test_features = features(&base, &data.test, &config, args.feature_batch_size, &device, "test", quiet)?;
    let feature_seconds = started.elapsed().as_secs_f64();
    let images = data.train.len() + data.test.len();
    say(format!(
        "features of {images} images in {feature_seconds:.1} s ({:.1} images/s)",
        images as f64 / feature_seconds
    ));

    let validation_features = test_features.subset(&split.validation);
    let started = Instant::now();
    let mut observer = EpochPrinter { quiet, epochs: config.training.epochs };
    let trained = block_on(train_head(
        &config.head,
        &config.training,
        &train_features,
        &validation_features,
        &device,
        &mut observer,
    ))?;
    let train_seconds = started.elapsed().as_secs_f64();
    let evaluation = block_on(evaluate(&trained.head, &test_features, &split, &device))?;

    let settings = HeadSettings {
        input_size: config.input_size,
        head: config.head.clone(),
        training: Some(config.training.clone()),
    };
    let head_bytes = block_on(save_head(&trained.head, &settings))?;
    write_file(&args.output, &head_bytes)?;

    if args.json {
        let report = json!({
            "test_accuracy": evaluation.all.accuracy,
            "validation": evaluation.validation,
            "test": evaluation.test,
            "all_test": evaluation.all,
            "history": trained.history,
            "kept_epoch": trained.kept_epoch,
            "feature_seconds": feature_seconds,
            "feature_images_per_second": images as f64 / feature_seconds,
            "train_seconds": train_seconds,
            "settings": config,
            "validation_indices": split.validation,
            "test_indices": split.test,
            "head_file": args.output,
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("trained in {train_seconds:.2} s; kept the weights of epoch {}", trained.kept_epoch);
        print_metrics(&format!("validation ({} images)", split.validation.len()), &evaluation.validation);
        print_metrics(&format!("test ({} images)", split.test.len()), &evaluation.test);
        print_metrics(&format!("all {} test images", data.test.len()), &evaluation.all);
        print_confusion(&evaluation.all);
        println!("saved the head to {}", args.output.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn features(
    base: &Vgg16Base,
    images: &data::ImageSet,
    config: &RunConfig,
    batch_size: usize,
    device: &Device,
    name: &str,
    quiet: bool,
) -> Result<Features, String> {
    let mut progress = |done: usize, total: usize| {
        if !quiet {
            eprint!("\rcomputing features of the {name} images: {done}/{total}");
            if done == total {
                eprintln!();
            }
        }
    };
    block_on(extract_features(base, images, config.input_size, batch_size, device, &mut progress))
}

struct EpochPrinter {
    quiet: bool,
    epochs: usize,
}

impl TrainObserver for EpochPrinter {
    fn epoch(&mut self, report: &EpochReport) -> bool {
        if !self.quiet {
            let validation = match (report.validation_loss, report.validation_accuracy) {
                (Some(loss), Some(accuracy)) => format!("  val_loss {loss:.4}  val_accuracy {accuracy:.4}"),
                _ => String::new(),
            };
            println!(
                "epoch {:>3}/{}  loss {:.4}  accuracy {:.4}{validation}",
                report.epoch, self.epochs, report.train_loss, report.train_accuracy
            );
        }
        true
    }
}

fn print_metrics(name: &str, metrics: &Metrics) {
    let optional = |value: Option<f64>| value.map_or("n/a".to_string(), |value| format!("{value:.4}"));
    let [non_cats, cats] = metrics.class_accuracy;
    println!(
        "{name}: accuracy {:.4}  precision {:.4}  recall {:.4}  F1 {:.4}  ROC AUC {}  accuracy on non-cats {}  on cats {}",
        metrics.accuracy,
        metrics.precision,
        metrics.recall,
        metrics.f1,
        optional(metrics.roc_auc),
        optional(non_cats),
        optional(cats)
    );
}

fn print_confusion(metrics: &Metrics) {
    let [[tn, fp], [false_negatives, tp]] = metrics.confusion.rows();
    println!("confusion matrix (rows: actual class, columns: predicted class)");
    println!("{:>12} {:>8} {:>8}", "", "non-cat", "cat");
    println!("{:>12} {tn:>8} {fp:>8}", "non-cat");
    println!("{:>12} {false_negatives:>8} {tp:>8}", "cat");
}
