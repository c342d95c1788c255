//! The on-disk format against independent references: CRC32C test vectors, the mask worked by hand,
//! and bytes written by TensorBoard's own protobuf classes and RecordWriter
//! (fixtures/make_tensorboard_golden.py).

use convkit_train::tensorboard::{
    masked_crc32c, parse_events, write_record, Event, EventKind, Histogram, Image, SummaryValue,
    Value,
};

const GOLDEN: &[u8] = include_bytes!("fixtures/tensorboard_golden.tfevents");

#[test]
fn crc32c_matches_the_castagnoli_check_values() {
    // The standard check value of CRC-32C, and the all-zero / all-one 32-byte vectors of RFC 3720 B.4.
    assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
    assert_eq!(crc32c::crc32c(&[0u8; 32]), 0x8A91_36AA);
    assert_eq!(crc32c::crc32c(&[0xffu8; 32]), 0x62A8_AB43);
    assert_eq!(crc32c::crc32c(b""), 0);
}

#[test]
fn mask_rotates_right_by_15_and_adds_the_constant() {
    // By hand for crc = 0xE3069283: crc >> 15 = 0x0001C60D; (crc << 17) keeps the low 15 bits
    // 0x1283 moved up: 0x25060000; OR = 0x2507C60D; + 0xA282EAD8 = 0xC78AB0E5 (mod 2^32).
    // TensorBoard's masked_crc32c(b"123456789") prints the same value.
    assert_eq!(masked_crc32c(b"123456789"), 0xC78A_B0E5);
    // crc32c("") = 0, so the mask leaves just the constant.
    assert_eq!(masked_crc32c(b""), 0xA282_EAD8);
}

/// The events make_tensorboard_golden.py writes, built here independently.
fn golden_events() -> Vec<Event> {
    let summary = |wall_time: f64, step: i64, values: Vec<(&str, Value)>| Event {
        wall_time,
        step,
        what: EventKind::Summary(
            values
                .into_iter()
                .map(|(tag, value)| SummaryValue {
                    tag: tag.to_owned(),
                    value,
                })
                .collect(),
        ),
    };
    let image = Image {
        height: 2,
        width: 3,
        colorspace: 3,
        png: (0..200).collect(),
    };
    let weights = Histogram {
        min: -1.5,
        max: 2.0,
        num: 3.0,
        sum: 0.5,
        sum_squares: 6.25,
        bucket_limit: vec![-1.4, 0.0, 2.1, f64::MAX],
        bucket: vec![1.0, 0.0, 2.0, 0.0],
    };
    let negative_zero_min = Histogram {
        min: -0.0,
        num: 1.0,
        bucket_limit: vec![0.0, 1e-12],
        bucket: vec![0.0, 1.0],
        ..Histogram::default()
    };
    vec![
        Event {
            wall_time: 1_700_000_000.5,
            step: 0,
            what: EventKind::FileVersion("brain.Event:2".to_owned()),
        },
        summary(
            1_700_000_001.25,
            3,
            vec![("loss/train", Value::Scalar(0.125))],
        ),
        summary(
            1_700_000_002.0,
            4,
            vec![("zero", Value::Scalar(0.0)), ("neg", Value::Scalar(-2.5))],
        ),
        summary(
            1_700_000_003.0,
            5,
            vec![("images/sample", Value::Image(image))],
        ),
        summary(
            1_700_000_004.0,
            6,
            vec![("weights", Value::Histogram(weights))],
        ),
        summary(
            1_700_000_005.0,
            (1 << 62) + 1,
            vec![("h0", Value::Histogram(negative_zero_min))],
        ),
    ]
}

#[test]
fn encoding_and_framing_match_tensorboards_own_bytes() {
    let mut ours = Vec::new();
    for event in golden_events() {
        write_record(&mut ours, &event.encode()).unwrap();
    }
    assert_eq!(ours.len(), GOLDEN.len());
    if let Some(i) = ours.iter().zip(GOLDEN).position(|(a, b)| a != b) {
        panic!(
            "first difference at byte {i}: ours {:#04x}, TensorBoard's {:#04x}",
            ours[i], GOLDEN[i]
        );
    }
}

#[test]
fn decoding_tensorboards_bytes_gives_the_events_back() {
    let decoded = parse_events(GOLDEN).unwrap();
    let expected = golden_events();
    assert_eq!(decoded, expected);
    // PartialEq on f64 cannot tell -0.0 from 0.0.
    let EventKind::Summary(values) = &decoded[5].what else {
        panic!("event 5 is not a summary")
    };
    let Value::Histogram(histogram) = &values[0].value else {
        panic!("h0 is not a histogram")
    };
    assert!(histogram.min.is_sign_negative());
}
