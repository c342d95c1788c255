//! EventWriter → read_events: everything written comes back, bad input is refused with a clear error.

use std::path::Path;

use convkit_train::tensorboard::{
    default_bucket_limits, read_events, Event, EventKind, EventWriter, Histogram,
    HistogramInputError, Image, TensorBoardError, Value, FILE_VERSION,
};

/// The single value of a summary event, with its tag.
fn only_value(event: &Event) -> (&str, &Value) {
    match &event.what {
        EventKind::Summary(values) if values.len() == 1 => (&values[0].tag, &values[0].value),
        other => panic!("expected a summary with one value, got {other:?}"),
    }
}

fn decode_png(png: &[u8]) -> image::DynamicImage {
    image::load_from_memory_with_format(png, image::ImageFormat::Png).unwrap()
}

#[test]
fn scalars_image_and_histogram_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("runs/a"); // created by `create`
    let mut writer = EventWriter::create(&run).unwrap();
    let name = writer
        .path()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(name.starts_with("events.out.tfevents."), "{name}");
    assert_eq!(writer.path().parent().unwrap(), run);

    let scalars = [(0u64, 2.5f64), (1, 1.25), (7, -0.0625), (1 << 40, 1e-3)];
    for (step, value) in scalars {
        writer.add_scalar("loss/train", step, value).unwrap();
    }
    let rgb: Vec<u8> = (0..4 * 5 * 3).map(|i| (i * 17 % 256) as u8).collect();
    writer.add_image("inputs", 3, &rgb, 4, 5, 3).unwrap();
    let values = [-2.0f32, -0.5, 0.0, 0.0, 0.3, 1.0, 1.0, 1.0, 1e-13, 123.0];
    writer.add_histogram("conv1.weight", 9, &values).unwrap();
    writer.flush().unwrap();

    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let events = read_events(writer.path()).unwrap();
    assert_eq!(events.len(), 1 + scalars.len() + 2);
    assert_eq!(
        events[0].what,
        EventKind::FileVersion(FILE_VERSION.to_owned())
    );
    for event in &events {
        assert!(
            event.wall_time > 1.6e9 && event.wall_time <= before,
            "wall time {}",
            event.wall_time
        );
    }
    for (event, (step, value)) in events[1..].iter().zip(scalars) {
        assert_eq!(event.step, step as i64);
        assert_eq!(
            only_value(event),
            ("loss/train", &Value::Scalar(value as f32))
        );
    }

    let image_event = &events[5];
    assert_eq!(image_event.step, 3);
    let (tag, Value::Image(image)) = only_value(image_event) else {
        panic!("not an image")
    };
    assert_eq!(tag, "inputs");
    assert_eq!((image.height, image.width, image.colorspace), (4, 5, 3));
    assert_eq!(decode_png(&image.png).into_rgb8().into_raw(), rgb);

    let histogram_event = &events[6];
    assert_eq!(histogram_event.step, 9);
    let (tag, Value::Histogram(histogram)) = only_value(histogram_event) else {
        panic!("not a histogram")
    };
    assert_eq!(tag, "conv1.weight");
    assert_eq!(*histogram, Histogram::from_values(&values).unwrap());
    assert_eq!(
        (histogram.min, histogram.max, histogram.num),
        (-2.0, 123.0, 10.0)
    );
    let sum: f64 = values.iter().map(|&v| f64::from(v)).sum();
    let sum_squares: f64 = values.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
    assert_eq!((histogram.sum, histogram.sum_squares), (sum, sum_squares));
}

#[test]
fn images_of_every_channel_count_and_ready_pngs_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = EventWriter::create(dir.path()).unwrap();
    let (height, width) = (3u32, 2u32);
    for channels in 1..=4u8 {
        let pixels: Vec<u8> = (0..height * width * u32::from(channels))
            .map(|i| (i * 29 + 5) as u8)
            .collect();
        writer
            .add_image(
                &format!("c{channels}"),
                u64::from(channels),
                &pixels,
                height,
                width,
                channels,
            )
            .unwrap();
    }
    let mut png = Vec::new();
    let plot = image::RgbaImage::from_fn(7, 5, |x, y| {
        image::Rgba([x as u8 * 30, y as u8 * 40, 200, 255])
    });
    plot.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    writer.add_png("curves", 10, &png).unwrap();
    drop(writer); // flushes

    let path = std::fs::read_dir(dir.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let events = read_events(&path).unwrap();
    for (event, channels) in events[1..5].iter().zip(1..=4u8) {
        let (_, Value::Image(image)) = only_value(event) else {
            panic!("not an image")
        };
        assert_eq!(
            (image.height, image.width, image.colorspace),
            (3, 2, i32::from(channels))
        );
        let decoded = decode_png(&image.png);
        assert_eq!(decoded.color().channel_count(), channels);
        let expected: Vec<u8> = (0..height * width * u32::from(channels))
            .map(|i| (i * 29 + 5) as u8)
            .collect();
        assert_eq!(decoded.as_bytes(), expected);
    }
    let (tag, value) = only_value(&events[5]);
    assert_eq!(tag, "curves");
    assert_eq!(
        value,
        &Value::Image(Image {
            height: 5,
            width: 7,
            colorspace: 4,
            png
        })
    );
}

#[test]
fn histogram_of_a_single_zero_by_hand() {
    // 0.0 falls in [0, 1e-12); all buckets below collapse into one ending at 0, all above into one
    // ending at f64::MAX.
    let histogram = Histogram::from_values(&[0.0]).unwrap();
    assert_eq!(histogram.bucket_limit, [0.0, 1e-12, f64::MAX]);
    assert_eq!(histogram.bucket, [0.0, 1.0, 0.0]);
    assert_eq!(
        (histogram.min, histogram.max, histogram.num, histogram.sum),
        (0.0, 0.0, 1.0, 0.0)
    );
}

#[test]
fn default_bucket_limits_follow_tensorflows_scheme() {
    let limits = default_bucket_limits();
    // 774 positive edges 1e-12 · 1.1^k below 1e20 (the same loop in Python counts 774 too),
    // their negatives, 0, and ±f64::MAX.
    assert_eq!(limits.len(), 2 * 775 + 1);
    assert_eq!(
        (limits[0], limits[775], limits[776], limits[1550]),
        (-f64::MAX, 0.0, 1e-12, f64::MAX)
    );
    assert!(limits.windows(2).all(|w| w[0] < w[1]));
    for k in 776..1549 {
        assert!((limits[k + 1] / limits[k] - 1.1).abs() < 1e-12);
        assert_eq!(limits[k], -limits[1550 - k]);
    }
    assert!(limits[1549] < 1e20 && limits[1549] * 1.1 >= 1e20);
}

#[test]
fn every_value_lands_in_its_bucket_and_empty_runs_collapse() {
    // Deterministic spread over many magnitudes and both signs.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let values: Vec<f32> = (0..2000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mantissa = (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
            mantissa * 10f32.powi((state % 13) as i32 - 6)
        })
        .collect();
    let histogram = Histogram::from_values(&values).unwrap();
    let limits = &histogram.bucket_limit;
    assert!(limits.windows(2).all(|w| w[0] < w[1]));
    assert!(limits
        .iter()
        .all(|edge| default_bucket_limits().contains(edge)));
    assert_eq!(histogram.bucket.iter().sum::<f64>(), values.len() as f64);
    assert!(
        histogram
            .bucket
            .windows(2)
            .all(|w| w[0] > 0.0 || w[1] > 0.0),
        "two empty buckets in a row"
    );
    for (i, &count) in histogram.bucket.iter().enumerate() {
        let lower = if i == 0 {
            f64::NEG_INFINITY
        } else {
            limits[i - 1]
        };
        let inside = values
            .iter()
            .filter(|&&v| lower <= f64::from(v) && f64::from(v) < limits[i])
            .count();
        assert_eq!(count, inside as f64, "bucket {i} [{lower}, {})", limits[i]);
    }
}

fn writer_in(dir: &Path) -> EventWriter {
    EventWriter::create(dir).unwrap()
}

#[test]
fn bad_input_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = writer_in(dir.path());
    let message = |result: Result<(), TensorBoardError>| result.unwrap_err().to_string();

    let m = message(writer.add_image("x", 0, &[0; 10], 2, 5, 5));
    assert!(m.contains("image 'x'") && m.contains("5 channels"), "{m}");
    let m = message(writer.add_image("x", 0, &[0; 10], 2, 2, 3));
    assert!(
        m.contains("10 bytes") && m.contains("2 × 2 × 3 = 12"),
        "{m}"
    );
    let m = message(writer.add_image("x", 0, &[], 0, 4, 1));
    assert!(m.contains("0 × 4 pixels"), "{m}");
    let m = message(writer.add_png("plot", 0, b"GIF89a not a png"));
    assert!(m.contains("image 'plot'") && m.contains("PNG"), "{m}");
    let m = message(writer.add_histogram("w", 0, &[]));
    assert!(
        m.contains("histogram 'w'") && m.contains("no values"),
        "{m}"
    );
    let err = writer.add_histogram("w", 0, &[1.0, f32::NAN]).unwrap_err();
    assert!(matches!(
        err,
        TensorBoardError::InvalidHistogram {
            source: HistogramInputError::NonFinite { index: 1, .. },
            ..
        }
    ));
    let m = message(writer.add_scalar("loss", u64::MAX, 1.0));
    assert!(
        m.contains("'loss'") && m.contains(&u64::MAX.to_string()),
        "{m}"
    );
    writer.flush().unwrap();

    // Nothing of the refused calls reached the file.
    assert_eq!(read_events(writer.path()).unwrap().len(), 1);
}

#[test]
fn writers_sharing_a_folder_get_their_own_files() {
    let dir = tempfile::tempdir().unwrap();
    let writers: Vec<EventWriter> = (0..5).map(|_| writer_in(dir.path())).collect();
    let mut paths: Vec<&Path> = writers.iter().map(EventWriter::path).collect();
    paths.sort();
    paths.dedup();
    assert_eq!(paths.len(), 5);
}

#[test]
fn io_errors_name_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-file");
    let m = read_events(&missing).unwrap_err().to_string();
    assert!(m.contains("no-such-file"), "{m}");

    let file = dir.path().join("a-file");
    std::fs::write(&file, b"").unwrap();
    let m = EventWriter::create(&file.join("run"))
        .err()
        .unwrap()
        .to_string();
    assert!(m.contains("a-file"), "{m}");
}
