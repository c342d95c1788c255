//! TensorBoard logs in the run folder: per-epoch scalars (losses, accuracies, learning rate,
//! images per second), the training loss every few steps, the curves and a grid of misclassified
//! test images as images, and a histogram of every parameter.
use crate::callback::{BatchEnd, Callback, Control, EpochEnd, EvalSplit, EvaluationEnd, RunStart};
use crate::callbacks::draw_curves;
use crate::error::{Error, Result};
use crate::eval::Mistake;
use crate::tensorboard::{EventWriter, TensorBoardError};
use convkit_data::Dataset;

/// Steps between two logged values of the per-step training loss.
const BATCH_LOSS_EVERY: usize = 10;
/// Misclassified test images shown in the grid.
const GRID_IMAGES: usize = 32;
const GRID_COLUMNS: usize = 8;

/// Writes TensorBoard event files (`events.out.tfevents.*`) into the run folder; a resumed run
/// adds a file, which TensorBoard reads as the same run.
#[derive(Default)]
pub struct TensorBoard {
    writer: Option<EventWriter>,
}

fn tb_error(e: TensorBoardError) -> Error {
    Error::Callback(format!("TensorBoard log: {e}"))
}

impl TensorBoard {
    fn writer(&mut self) -> &mut EventWriter {
        self.writer
            .as_mut()
            .expect("the writer is created when the run starts")
    }
}

impl Callback for TensorBoard {
    fn on_run_start(&mut self, event: &RunStart) -> Result<()> {
        self.writer = Some(EventWriter::create(event.run_dir).map_err(tb_error)?);
        Ok(())
    }

    fn on_batch_end(&mut self, e: &BatchEnd) -> Result<Control> {
        if e.step.is_multiple_of(BATCH_LOSS_EVERY) {
            let w = self.writer();
            w.add_scalar("train/batch_loss", e.global_step, e.loss as f64)
                .and_then(|()| w.add_scalar("train/lr", e.global_step, e.lr as f64))
                .map_err(tb_error)?;
        }
        Ok(Control::Continue)
    }

    fn on_evaluation_end(&mut self, e: &EvaluationEnd) -> Result<()> {
        if e.split == EvalSplit::Test && !e.report.mistakes.is_empty() {
            let (pixels, height, width, channels) = mistakes_grid(e.dataset, &e.report.mistakes);
            self.writer()
                .add_image(
                    "test/misclassified",
                    e.epoch as u64,
                    &pixels,
                    height,
                    width,
                    channels,
                )
                .map_err(tb_error)?;
        }
        Ok(())
    }

    fn on_epoch_end(&mut self, e: &EpochEnd) -> Result<Control> {
        let m = e.metrics;
        let step = m.epoch as u64;
        let mut scalars = vec![
            ("train/loss", m.train_loss),
            ("train/accuracy", m.train_accuracy),
            ("lr", m.lr),
            ("images_per_second", m.images_per_second),
        ];
        if let Some((loss, accuracy)) = m.validation {
            scalars.extend([("val/loss", loss), ("val/accuracy", accuracy)]);
        }
        if let Some((loss, accuracy)) = m.test {
            scalars.extend([("test/loss", loss), ("test/accuracy", accuracy)]);
        }
        let curves = draw_curves(e.history)?;
        let w = self.writer();
        for (tag, value) in scalars {
            w.add_scalar(tag, step, value).map_err(tb_error)?;
        }
        w.add_png("curves", step, &curves).map_err(tb_error)?;
        for (name, tensor) in e.model.parameters() {
            w.add_histogram(&format!("weights/{name}"), step, &tensor.data())
                .map_err(tb_error)?;
        }
        w.flush().map_err(tb_error)?;
        Ok(Control::Continue)
    }
}

/// The first misclassified images side by side, [`GRID_COLUMNS`] to a row with a 2-pixel white
/// border: interleaved pixels, height, width and channels.
fn mistakes_grid(dataset: &Dataset, mistakes: &[Mistake]) -> (Vec<u8>, u32, u32, u8) {
    let (c, h, w) = (dataset.channels(), dataset.height(), dataset.width());
    let count = mistakes.len().min(GRID_IMAGES);
    let columns = count.min(GRID_COLUMNS);
    let rows = count.div_ceil(GRID_COLUMNS);
    let (cell_h, cell_w) = (h + 2, w + 2);
    let (grid_h, grid_w) = (rows * cell_h + 2, columns * cell_w + 2);
    let mut pixels = vec![255u8; grid_h * grid_w * c];
    for (k, mistake) in mistakes.iter().take(count).enumerate() {
        let image = dataset
            .get(mistake.index)
            .expect("mistakes index the evaluated dataset")
            .image;
        let (top, left) = (
            (k / GRID_COLUMNS) * cell_h + 2,
            (k % GRID_COLUMNS) * cell_w + 2,
        );
        for y in 0..h {
            for x in 0..w {
                for ch in 0..c {
                    pixels[((top + y) * grid_w + left + x) * c + ch] = image[(ch * h + y) * w + x];
                }
            }
        }
    }
    (pixels, grid_h as u32, grid_w as u32, c as u8)
}
