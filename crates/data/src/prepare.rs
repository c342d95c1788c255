//! Turning a list of dataset indices into a [`Batch`]: the fast lookup-table path when nothing is
//! random, else decode → transforms → normalise per image, then mixup over the batch and label
//! smoothing. Every random choice comes from a generator derived from `(seed, epoch, index)`, so a
//! batch's content does not depend on which worker thread makes it.

use crate::dataset::Dataset;
use crate::loader::Batch;
use crate::normalize::{LookupTable, Normalize};
use crate::transforms::{mixup, one_hot, rng_for, smooth_targets, Draw, Image, Pipeline, Stream};

/// What a worker needs to make batches; shared read-only by all workers.
#[derive(Debug, Clone)]
pub(crate) struct Preparer {
    pub dataset: std::sync::Arc<Dataset>,
    pub table: LookupTable,
    pub normalize: Option<Normalize>,
    pub pipeline: Pipeline,
    pub mixup_alpha: Option<f32>,
    pub label_smoothing: Option<f32>,
    pub seed: u64,
}

impl Preparer {
    /// `[height, width]` of the images in a batch.
    pub fn output_size(&self) -> [usize; 2] {
        self.pipeline
            .output_size([self.dataset.height(), self.dataset.width()])
    }

    /// Batch number `number` of epoch `epoch`, holding the images at `indices`.
    pub fn batch(&self, epoch: u64, number: usize, indices: &[usize]) -> Batch {
        let ds = &*self.dataset;
        let [height, width] = self.output_size();
        let mut images = Vec::with_capacity(indices.len() * ds.channels() * height * width);
        for &i in indices {
            let pixels = ds.get(i).expect("the order indexes the dataset").image;
            if self.pipeline.is_empty() {
                let plane = ds.height() * ds.width();
                for (channel, values) in pixels.chunks_exact(plane).zip(&self.table) {
                    images.extend(channel.iter().map(|&p| values[usize::from(p)]));
                }
            } else {
                let mut image = Image::from_u8(pixels, [ds.channels(), ds.height(), ds.width()]);
                let draw = Draw {
                    seed: self.seed,
                    epoch,
                    index: i as u64,
                };
                self.pipeline.apply(&mut image, draw);
                self.normalise(&mut image);
                images.extend_from_slice(&image.data);
            }
        }
        let labels: Vec<usize> = indices.iter().map(|&i| ds.labels()[i]).collect();
        let targets = self.mixup_alpha.map(|alpha| {
            let mut rng = rng_for(self.seed, epoch, number as u64, Stream::Mixup);
            mixup(&mut images, &labels, ds.num_classes(), alpha, &mut rng)
                .expect("alpha and labels were validated when the loader was built")
        });
        let targets = match self.label_smoothing {
            None => targets,
            Some(epsilon) => {
                let classes = ds.num_classes();
                let mut smoothed = targets.unwrap_or_else(|| one_hot(&labels, classes));
                smooth_targets(&mut smoothed, classes, epsilon);
                Some(smoothed)
            }
        };
        Batch {
            images,
            dims: [indices.len(), ds.channels(), height, width],
            labels,
            targets,
            indices: indices.to_vec(),
        }
    }

    /// `(v − mean) / std` per channel, if normalising.
    fn normalise(&self, image: &mut Image) {
        let Some(n) = &self.normalize else { return };
        let plane = image.plane();
        for ((channel, &mean), &std) in image.data.chunks_exact_mut(plane).zip(&n.mean).zip(&n.std)
        {
            channel.iter_mut().for_each(|v| *v = (*v - mean) / std);
        }
    }
}
