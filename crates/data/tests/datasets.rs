//! Fashion-MNIST, CIFAR-10/100 and image folders: the real files where present (skipped with a
//! message otherwise), small generated files for the rest and for the error paths.

use std::path::{Path, PathBuf};

use convkit_data::{
    Cifar10, Cifar100, Cifar100Labels, Dataset, FashionMnist, ImageFolder, ImageFolderConfig,
    OnCorrupt, Split, FASHION_MNIST_SYSTEM_DIR,
};
use sha2::{Digest, Sha256};

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `path` if it exists, else `None` after saying which test is skipped.
fn present(path: &str, test: &str) -> Option<PathBuf> {
    let path = PathBuf::from(path);
    if path.exists() {
        Some(path)
    } else {
        println!("skipping {test}: {} is absent", path.display());
        None
    }
}

const SHARED_CIFAR: &str = "/work/shared/datasets/cifar-10";

/// The dataset re-encoded as CIFAR records (label byte, then pixels), to compare with the raw
/// files' published sha256.
fn cifar_records(ds: &Dataset, range: std::ops::Range<usize>) -> Vec<u8> {
    range
        .flat_map(|i| {
            let s = ds.get(i).unwrap();
            std::iter::once(s.label as u8).chain(s.image.iter().copied())
        })
        .collect()
}

fn class_counts(labels: &[usize], classes: usize) -> Vec<usize> {
    let mut counts = vec![0; classes];
    labels.iter().for_each(|&l| counts[l] += 1);
    counts
}

#[test]
fn cifar10_exact_subset_decodes_byte_for_byte() {
    let Some(dir) = present(
        &format!("{SHARED_CIFAR}/exact-subset"),
        "cifar10 exact subset",
    ) else {
        return;
    };
    let ds = Cifar10::load_batch_file(&dir.join("data_batch_1.first1000.bin.gz")).unwrap();
    assert_eq!(
        (ds.len(), ds.channels(), ds.height(), ds.width()),
        (1000, 3, 32, 32)
    );
    assert_eq!(ds.labels()[..10], [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]);
    assert_eq!(
        ds.get(0).unwrap().image[..10],
        [59, 43, 50, 68, 98, 119, 139, 145, 149, 149]
    );
    assert_eq!(ds.class_names()[6], "frog");
    assert_eq!(
        class_counts(ds.labels(), 10),
        [102, 112, 99, 92, 99, 85, 107, 102, 99, 103]
    );
    assert_eq!(
        sha256_hex(&cifar_records(&ds, 0..1000)),
        "1c5f9ea0fc1111d586f29115efd3db25eecf7db27b29aaebbe84721446b052cc"
    );
}

#[test]
fn cifar10_full_set_has_the_published_sizes_and_checksums() {
    let Some(dir) = present(&format!("{SHARED_CIFAR}/jpeg-derived"), "cifar10 full set") else {
        return;
    };
    let train = Cifar10::load(&dir, Split::Train).unwrap();
    let test = Cifar10::load(&dir, Split::Test).unwrap();
    assert_eq!((train.len(), test.len()), (50_000, 10_000));
    assert_eq!(
        class_counts(&train.labels()[..10_000], 10),
        [1005, 974, 1032, 1016, 999, 937, 1030, 1001, 1025, 981]
    );
    assert_eq!(class_counts(test.labels(), 10), [1000; 10]);
    assert_eq!(
        sha256_hex(&cifar_records(&train, 0..10_000)),
        "8da035fc1631e8ce5f25904206b8993b0f3ad02a504c0584d662e806fd76c12b"
    );
    assert_eq!(
        sha256_hex(&cifar_records(&train, 40_000..50_000)),
        "490f5ead4f04a3eb71d5898eb551e0d8d2c592feb778fb9b109a006b3f231495"
    );
    assert_eq!(
        sha256_hex(&cifar_records(&test, 0..10_000)),
        "cf28711b3059b27ed8a78d6529b5ba5b5c94130096ca62a1a924268a9a9ec05b"
    );
    // The JPEG loss moves the statistics a little from the published ones.
    let (mean, std) = train.mean_std();
    let published = Cifar10::normalize();
    for c in 0..3 {
        assert!((mean[c] - published.mean[c]).abs() < 0.01, "{mean:?}");
        assert!((std[c] - published.std[c]).abs() < 0.01, "{std:?}");
    }
}

#[test]
fn fashion_mnist_system_copy_has_the_published_sizes_and_checksums() {
    let Some(dir) = present(
        FASHION_MNIST_SYSTEM_DIR,
        "fashion-mnist (apt-get install dataset-fashion-mnist)",
    ) else {
        return;
    };
    let train = FashionMnist::load(&dir, Split::Train).unwrap();
    let test = FashionMnist::load(&dir, Split::Test).unwrap();
    assert_eq!((train.len(), test.len()), (60_000, 10_000));
    assert_eq!(
        (train.channels(), train.height(), train.width()),
        (1, 28, 28)
    );
    assert_eq!(class_counts(train.labels(), 10), [6000; 10]);
    assert_eq!(class_counts(test.labels(), 10), [1000; 10]);
    assert_eq!(train.class_names()[9], "Ankle boot");
    let mut idx = [2051u32, 60_000, 28, 28]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect::<Vec<u8>>();
    idx.extend_from_slice(train.images());
    assert_eq!(
        sha256_hex(&idx),
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"
    );
    let (mean, std) = train.mean_std();
    let published = FashionMnist::normalize();
    assert!((mean[0] - published.mean[0]).abs() < 5e-4, "{mean:?}");
    assert!((std[0] - published.std[0]).abs() < 5e-4, "{std:?}");
}

/// One CIFAR-100 record: coarse label, fine label, pixels all equal to `fill`.
fn cifar100_record(coarse: u8, fine: u8, fill: u8) -> Vec<u8> {
    let mut record = vec![coarse, fine];
    record.extend(std::iter::repeat_n(fill, 3072));
    record
}

#[test]
fn cifar100_reads_fine_or_coarse_labels_and_names() {
    let dir = tempfile::tempdir().unwrap();
    let bytes: Vec<u8> = [(3, 97, 10), (19, 0, 20), (0, 55, 30)]
        .iter()
        .flat_map(|&(c, f, p)| cifar100_record(c, f, p))
        .collect();
    std::fs::write(dir.path().join("test.bin"), bytes).unwrap();
    let coarse = Cifar100::load(dir.path(), Split::Test, Cifar100Labels::Coarse).unwrap();
    assert_eq!(coarse.labels(), [3, 19, 0]);
    assert_eq!(coarse.num_classes(), 20);
    let names: String = (0..100).map(|i| format!("class{i}\n")).collect();
    std::fs::write(dir.path().join("fine_label_names.txt"), names + "\n").unwrap();
    let fine = Cifar100::load(dir.path(), Split::Test, Cifar100Labels::Fine).unwrap();
    assert_eq!(fine.labels(), [97, 0, 55]);
    assert_eq!(fine.class_names()[97], "class97");
    assert_eq!(fine.get(2).unwrap().image, [30; 3072]);
    let err = Cifar100::load(dir.path(), Split::Train, Cifar100Labels::Fine).unwrap_err();
    assert!(err.to_string().contains("train.bin"), "{err}");
}

#[test]
fn a_truncated_or_mislabelled_cifar_batch_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = vec![1u8; 3073 * 2 + 5];
    bytes[3073] = 2;
    let path = dir.path().join("test_batch.bin");
    std::fs::write(&path, &bytes).unwrap();
    let err = Cifar10::load(dir.path(), Split::Test)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!(
            "{}: holds 6151 bytes: 2 whole 3073-byte records, then 5 bytes of an incomplete one (the file looks truncated)",
            path.display()
        )
    );
    bytes.truncate(3073 * 2);
    bytes[3073] = 10;
    std::fs::write(&path, &bytes).unwrap();
    let err = Cifar10::load(dir.path(), Split::Test)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("label 10 at index 1 is out of range for 10 classes"),
        "{err}"
    );
}

/// Writes a `size`×`size` RGB PNG whose every pixel is `rgb`.
fn png(path: &Path, size: u32, rgb: [u8; 3]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    image::RgbImage::from_pixel(size, size, image::Rgb(rgb))
        .save(path)
        .unwrap();
}

#[test]
fn image_folder_labels_by_sorted_class_folder() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    png(&root.join("zebra/1.png"), 4, [10, 20, 30]);
    png(&root.join("ant/b.png"), 4, [1, 2, 3]);
    png(&root.join("ant/a.PNG"), 4, [4, 5, 6]);
    image::RgbImage::from_pixel(4, 4, image::Rgb([7, 8, 9]))
        .save(root.join("zebra/2.jpg"))
        .unwrap();
    std::fs::write(root.join("ant/notes.txt"), "ignored").unwrap();
    let ds = ImageFolder::load(root, &ImageFolderConfig::default())
        .unwrap()
        .dataset;
    assert_eq!(ds.class_names(), ["ant", "zebra"]);
    assert_eq!(ds.labels(), [0, 0, 1, 1]);
    assert_eq!((ds.channels(), ds.height(), ds.width()), (3, 4, 4));
    // CHW: 16 red bytes, then green, then blue.
    let first = ds.get(0).unwrap().image;
    assert_eq!((first[0], first[15], first[16], first[32]), (4, 4, 5, 6));
    assert_eq!(ds.get(2).unwrap().image[0], 10);
    assert!(
        ds.get(3).unwrap().image[0].abs_diff(7) <= 3,
        "JPEG keeps colours close"
    );
    let gray = ImageFolderConfig {
        grayscale: true,
        size: Some([2, 3]),
        ..Default::default()
    };
    let ds = ImageFolder::load(root, &gray).unwrap().dataset;
    assert_eq!((ds.channels(), ds.height(), ds.width()), (1, 2, 3));
}

#[test]
fn a_corrupt_image_is_fatal_or_skipped_by_option_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    png(&root.join("a/good.png"), 3, [9, 9, 9]);
    let bad = root.join("a/bad.png");
    std::fs::write(&bad, b"\x89PNG but not really").unwrap();
    let err = ImageFolder::load(root, &ImageFolderConfig::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&bad.display().to_string()) && err.contains("cannot decode"),
        "{err}"
    );
    let skip = ImageFolderConfig {
        on_corrupt: OnCorrupt::Skip,
        ..Default::default()
    };
    let loaded = ImageFolder::load(root, &skip).unwrap();
    assert_eq!(loaded.dataset.len(), 1);
    assert_eq!(loaded.skipped.len(), 1);
    assert!(loaded.skipped[0].to_string().contains("bad.png"));
    png(&root.join("b/big.png"), 5, [0, 0, 0]);
    let err = ImageFolder::load(root, &skip).unwrap_err().to_string();
    assert!(
        err.contains("big.png: image is 5x5 but the first image is 3x3"),
        "{err}"
    );
    let empty = tempfile::tempdir().unwrap();
    let err = ImageFolder::load(empty.path(), &skip)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no class sub-folders"), "{err}");
}
