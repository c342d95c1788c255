//! Corrupt files: every flipped byte and every truncation is reported with the offset of the broken
//! record, never a panic; garbage inside a well-framed record is a protobuf error.

use std::path::{Path, PathBuf};

use convkit_train::tensorboard::{
    parse_events, read_events, write_record, Corruption, EventWriter, ProtoProblem,
    TensorBoardError,
};

/// A small real event file (every kind of value) and the start offsets of its records.
fn sample_file(dir: &Path) -> (PathBuf, Vec<u8>, Vec<usize>) {
    let mut writer = EventWriter::create(dir).unwrap();
    writer.add_scalar("loss", 1, 0.5).unwrap();
    writer
        .add_image("img", 2, &[10, 20, 30, 40], 2, 2, 1)
        .unwrap();
    writer.add_histogram("w", 3, &[-1.0, 0.5, 2.0]).unwrap();
    writer.flush().unwrap();
    let bytes = std::fs::read(writer.path()).unwrap();
    let mut starts = vec![0];
    while *starts.last().unwrap() < bytes.len() {
        let at = *starts.last().unwrap();
        let length = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
        starts.push(at + 12 + length + 4);
    }
    assert_eq!(starts.pop(), Some(bytes.len()));
    (writer.path().to_owned(), bytes, starts)
}

/// The start of the record holding byte `pos`.
fn record_start(starts: &[usize], pos: usize) -> usize {
    *starts.iter().rev().find(|&&start| start <= pos).unwrap()
}

#[test]
fn every_flipped_byte_names_its_record_and_the_checksum_that_caught_it() {
    let dir = tempfile::tempdir().unwrap();
    let (_, bytes, starts) = sample_file(dir.path());
    assert_eq!(parse_events(&bytes).unwrap().len(), 4);
    for pos in 0..bytes.len() {
        let mut corrupt = bytes.clone();
        corrupt[pos] ^= 0x40;
        let (offset, problem) = parse_events(&corrupt).unwrap_err();
        let start = record_start(&starts, pos);
        assert_eq!(offset, start as u64, "byte {pos}");
        if pos < start + 12 {
            assert!(
                matches!(problem, Corruption::BadLengthCrc { .. }),
                "byte {pos}: {problem}"
            );
        } else {
            assert!(
                matches!(problem, Corruption::BadDataCrc { .. }),
                "byte {pos}: {problem}"
            );
        }
    }
}

#[test]
fn every_truncation_is_an_error_naming_the_cut_record_unless_it_falls_between_records() {
    let dir = tempfile::tempdir().unwrap();
    let (path, bytes, starts) = sample_file(dir.path());
    for cut in 0..bytes.len() {
        std::fs::write(&path, &bytes[..cut]).unwrap();
        match read_events(&path) {
            Ok(events) => {
                let whole = starts
                    .iter()
                    .position(|&start| start == cut)
                    .unwrap_or_else(|| panic!("cut {cut} read"));
                assert_eq!(events.len(), whole);
            }
            Err(TensorBoardError::Corrupt {
                path: named,
                offset,
                problem,
            }) => {
                assert_eq!(named, path);
                assert_eq!(offset, record_start(&starts, cut) as u64, "cut {cut}");
                let Corruption::Truncated { needed, available } = problem else {
                    panic!("cut {cut}: {problem}")
                };
                assert_eq!(available, (cut - offset as usize) as u64);
                assert!(needed > available);
            }
            Err(other) => panic!("cut {cut}: {other}"),
        }
    }
}

#[test]
fn the_error_message_names_path_offset_and_problem() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut bytes, starts) = sample_file(dir.path());
    bytes[starts[2] + 20] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    let message = read_events(&path).unwrap_err().to_string();
    let expected = format!(
        "{}: corrupt record at byte {}: bad data CRC",
        path.display(),
        starts[2]
    );
    assert!(message.starts_with(&expected), "{message}");
}

/// Frames `data` as a valid record: only the protobuf inside can be wrong.
fn framed(data: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    write_record(&mut bytes, data).unwrap();
    bytes
}

#[test]
fn malformed_protobuf_in_a_valid_record_is_reported() {
    let cases: [(&[u8], ProtoProblem); 6] = [
        (&[0x08, 0x80], ProtoProblem::TruncatedVarint),
        (
            &[0x09, 1, 2, 3],
            ProtoProblem::Truncated {
                needed: 8,
                available: 3,
            },
        ),
        (&[0x0b], ProtoProblem::UnsupportedWireType(3)),
        (&[0x00, 0x00], ProtoProblem::BadFieldNumber(0)),
        // wall_time (field 1) sent as a varint.
        (
            &[0x08, 0x01],
            ProtoProblem::WrongWireType {
                field: 1,
                expected: "fixed64",
                found: "varint",
            },
        ),
        // file_version holding invalid UTF-8.
        (
            &[0x1a, 0x02, 0xff, 0xfe],
            ProtoProblem::NotUtf8 { field: 3 },
        ),
    ];
    for (data, expected) in cases {
        let mut bytes = framed(b"\x1a\x0dbrain.Event:2");
        let second = bytes.len() as u64;
        bytes.extend(framed(data));
        let (offset, problem) = parse_events(&bytes).unwrap_err();
        assert_eq!(offset, second);
        let Corruption::BadProtobuf(error) = problem else {
            panic!("{data:?}: {problem}")
        };
        assert_eq!(error.problem, expected, "{data:?}");
    }
    // Deep inside: summary (5) → value (1) → histogram (5) → bucket_limit (6) of 7 bytes.
    let data = [
        0x2a, 0x0d, 0x0a, 0x0b, 0x2a, 0x09, 0x32, 0x07, 0, 0, 0, 0, 0, 0, 0,
    ];
    let (_, problem) = parse_events(&framed(&data)).unwrap_err();
    let Corruption::BadProtobuf(error) = problem else {
        panic!("{problem}")
    };
    assert_eq!(
        error.problem,
        ProtoProblem::PackedLength { field: 6, len: 7 }
    );
    assert_eq!(error.offset, 6);
}

#[test]
fn random_and_mutated_bytes_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let (_, bytes, _) = sample_file(dir.path());
    let real: Vec<Vec<u8>> = parse_events(&bytes)
        .unwrap()
        .iter()
        .map(|event| event.encode())
        .collect();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..20_000 {
        // Raw garbage fails the framing; garbage framed correctly reaches the protobuf decoder.
        let len = (next() % 64) as usize;
        let garbage: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        assert!(
            garbage.is_empty() || parse_events(&garbage).is_err(),
            "round {round}"
        );
        let _ = parse_events(&framed(&garbage));
        // A real event with a few bytes changed and maybe its tail cut: deep into the decoder.
        let mut data = real[(next() % real.len() as u64) as usize].clone();
        for _ in 0..1 + next() % 3 {
            let at = (next() % data.len() as u64) as usize;
            data[at] = next() as u8;
        }
        data.truncate(data.len() - (next() % 4) as usize);
        let _ = parse_events(&framed(&data));
    }
}

#[test]
fn a_huge_length_with_a_valid_crc_is_a_truncation_not_an_allocation() {
    let length = u64::MAX.to_le_bytes();
    let mut bytes = length.to_vec();
    bytes.extend(convkit_train::tensorboard::masked_crc32c(&length).to_le_bytes());
    let (offset, problem) = parse_events(&bytes).unwrap_err();
    assert_eq!(offset, 0);
    assert_eq!(
        problem,
        Corruption::Truncated {
            needed: u64::MAX,
            available: 12
        }
    );
}
