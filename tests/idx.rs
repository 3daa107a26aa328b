//! The IDX reader on files the tests write themselves (nothing is downloaded): images and
//! labels read back as written, plain or gzipped; every malformed file is an error that
//! names the file and the problem.

use std::io::Write;
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;
use tapegrad::idx::{load_idx, parse_images, parse_labels};

/// An IDX file: magic number for `type_byte` and `dims`, the dimensions, then `data`.
fn idx(type_byte: u8, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0, 0, type_byte, dims.len() as u8];
    dims.iter().for_each(|d| bytes.extend(d.to_be_bytes()));
    bytes.extend_from_slice(data);
    bytes
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.display().to_string()
}

/// Three 2 × 2 images with pixels 0, 1, ..., 11 scaled by 23 (0 to 253), labels 5, 0, 9.
fn images() -> Vec<u8> {
    idx(0x08, &[3, 2, 2], &(0..12).map(|p| p * 23).collect::<Vec<u8>>())
}

fn labels() -> Vec<u8> {
    idx(0x08, &[3], &[5, 0, 9])
}

fn image_error(bytes: &[u8]) -> String {
    parse_images(bytes, "i.idx").unwrap_err().to_string()
}

fn label_error(bytes: &[u8]) -> String {
    parse_labels(bytes, "l.idx").unwrap_err().to_string()
}

#[test]
fn images_and_labels_read_back_plain_and_gzipped() {
    let x = parse_images(&images(), "i.idx").unwrap();
    assert_eq!(x.shape(), (3, 4));
    assert_eq!(x.row(0), [0.0, 23.0, 46.0, 69.0]);
    assert_eq!(x.row(2), [184.0, 207.0, 230.0, 253.0]);
    assert_eq!(parse_images(&gzip(&images()), "i.idx.gz").unwrap(), x);
    assert_eq!(parse_labels(&labels(), "l.idx").unwrap(), [5, 0, 9]);
    assert_eq!(parse_labels(&gzip(&labels()), "l.idx.gz").unwrap(), [5, 0, 9]);
    // MNIST's shape: 28 × 28 images become rows of 784.
    let one = idx(0x08, &[1, 28, 28], &[255; 784]);
    assert_eq!(parse_images(&one, "i.idx").unwrap().shape(), (1, 784));
}

#[test]
fn load_idx_pairs_images_with_their_labels() {
    let dir = tempfile::tempdir().unwrap();
    let plain = write(dir.path(), "images-idx3-ubyte", &images());
    let gz = write(dir.path(), "labels-idx1-ubyte.gz", &gzip(&labels()));
    let data = load_idx(&plain, &gz).unwrap();
    assert_eq!(data.x, parse_images(&images(), "i.idx").unwrap());
    assert_eq!((data.y.shape(), data.y.data()), ((3, 1), &[5.0, 0.0, 9.0][..]));

    let two = write(dir.path(), "two-labels", &idx(0x08, &[2], &[1, 2]));
    let err = load_idx(&plain, &two).unwrap_err().to_string();
    assert_eq!(err, format!("{two}: 2 labels for the 3 images of {plain}"));
    let err = load_idx(&plain, dir.path().join("missing")).unwrap_err().to_string();
    assert!(err.contains("missing: cannot read:"), "{err}");
    // The two files the wrong way round.
    let err = load_idx(&gz, &plain).unwrap_err().to_string();
    assert_eq!(err, format!("{gz}: 1 dimension(s); images need 3 (count, rows, columns)"));
}

#[test]
fn malformed_files_are_errors_that_say_what_is_wrong() {
    let magic = "magic number 0x89504E47 is not IDX (which starts with two zero bytes, as 0x00000803)";
    assert_eq!(image_error(b"\x89PNG\r\n\x1a\n"), format!("i.idx: {magic}"));
    assert_eq!(image_error(&[0, 0, 8]), "i.idx: 3 byte(s); too short for an IDX header");
    assert_eq!(image_error(&[0, 0, 8, 3, 0, 0, 0, 1]), "i.idx: 8 byte(s); too short for an IDX header");
    assert_eq!(
        image_error(&idx(0x0D, &[1, 1, 1], &[0; 4])),
        "i.idx: data type 0x0D (32-bit floats); only unsigned bytes (0x08) are read"
    );
    assert_eq!(
        label_error(&idx(0x0C, &[1], &[0; 4])),
        "l.idx: data type 0x0C (32-bit integers); only unsigned bytes (0x08) are read"
    );
    assert_eq!(label_error(&images()), "l.idx: 3 dimension(s); labels need 1 (the count)");
    assert_eq!(image_error(&images()[..20]), "i.idx: truncated: 4 bytes of data, the header says 3 × 2 × 2 = 12");
    assert_eq!(label_error(&idx(0x08, &[3], &[1, 2, 3, 4])), "l.idx: 4 bytes of data, 1 more than the header says (3)");
    assert_eq!(image_error(&idx(0x08, &[0, 28, 28], &[])), "i.idx: dimensions 0 × 28 × 28 hold no data");
    assert_eq!(
        image_error(&idx(0x08, &[1000, 1000, 1000], &[])),
        "i.idx: dimensions 1000 × 1000 × 1000 are more than 100000000 values"
    );
    let max = u32::MAX;
    assert_eq!(
        image_error(&idx(0x08, &[max, max, max], &[])),
        format!("i.idx: dimensions {max} × {max} × {max} are more than 100000000 values"),
        "a product that overflows"
    );
    // Gzip magic bytes, then something that is not a gzip stream; a gzip stream cut short.
    let err = image_error(&[0x1F, 0x8B, 1, 2, 3]);
    assert!(err.starts_with("i.idx: gzip stream: "), "{err}");
    let gz = gzip(&images());
    let err = image_error(&gz[..gz.len() - 12]);
    assert!(err.starts_with("i.idx: gzip stream: "), "{err}");
    // The same checks apply after decompression.
    assert_eq!(
        image_error(&gzip(&images()[..20])),
        "i.idx: truncated: 4 bytes of data, the header says 3 × 2 × 2 = 12"
    );
}
